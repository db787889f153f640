import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { conditionVector } from '../server/generator/condition';
import { loadManifest, type Manifest } from '../server/generator/manifest';
import { resolveParams } from '../server/params/resolve';
import { ETHNICITIES, MOODS, type ResolvedParams } from '../server/params/schema';

/**
 * The server reads two condition layouts: v1 (five data groups that the seven API ethnicities
 * map onto, happy/neutral moods only in the data) and v2 (labels v2: one value per API ethnicity,
 * five moods, skin-tone quantiles per ethnicity). manifest-v1 is the shipped v1 manifest;
 * manifest-v2 has the layout scripts/training/export.py writes for labels v2 with hand-written,
 * illustrative priors (its "note" says so): these tests check how the server reads and draws
 * from such a manifest, not what the data measures (label.py reports that).
 */
const FIXTURES = path.join(__dirname, 'fixtures');
const v1 = loadManifest(path.join(FIXTURES, 'manifest-v1'));
const v2 = loadManifest(path.join(FIXTURES, 'manifest-v2'));

const base: ResolvedParams = {
  gender: 'female', ethnicity: 'european', age: 30, resolution: 256, image_format: 'jpeg', seed: 1,
  skintone: 4, eyewear: 'none', hair_length: 5, facial_hair: 0, lighting: 'studio', zoom_level: 'standard',
  mood: 'neutral', view_profile: 0, stampless: 'no',
};

function slotValues(m: Manifest, name: string, c: Float32Array): number[] {
  const slot = m.condition.find((s) => s.name === name);
  if (!slot) throw new Error(`no slot ${name}`);
  return Array.from(c.slice(slot.offset, slot.offset + slot.size));
}

describe('condition layouts', () => {
  test('a v1 manifest (five data groups) and a v2 manifest (seven ethnicities) both load', () => {
    expect(v1.condition.find((s) => s.name === 'ethnicity')?.size).toBe(5);
    expect(v2.condition.find((s) => s.name === 'ethnicity')?.values).toEqual([...ETHNICITIES]);
    expect(v2.condition_dim).toBe(v2.condition.reduce((n, s) => n + s.size, 0));
  });

  test('v2: each API ethnicity sets its own condition value', () => {
    const hot = ETHNICITIES.map((ethnicity) => slotValues(v2, 'ethnicity', conditionVector({ ...base, ethnicity }, v2)));
    hot.forEach((values, i) => {
      expect(values.filter((v) => v === 1)).toHaveLength(1);
      expect(values.indexOf(1)).toBe(i);
    });
  });

  test('v1: east and southeast asian share one data group (the layout v2 replaces)', () => {
    const east = conditionVector({ ...base, ethnicity: 'east_asian' }, v1);
    const southeast = conditionVector({ ...base, ethnicity: 'southeast_asian' }, v1);
    expect(Array.from(east)).toEqual(Array.from(southeast));
  });

  test('v2: each of the five moods sets its own condition value', () => {
    const moods = MOODS.filter((m) => m !== 'auto');
    const hot = moods.map((mood) => slotValues(v2, 'mood', conditionVector({ ...base, mood }, v2)).indexOf(1));
    expect(new Set(hot).size).toBe(moods.length);
  });

  test('v2: log age spreads childhood (ages 2 and 8 differ more than 42 and 48)', () => {
    const logAge = (age: number) => slotValues(v2, 'age_log', conditionVector({ ...base, age }, v2))[0];
    expect(logAge(8) - logAge(2)).toBeGreaterThan(4 * (logAge(48) - logAge(42)));
    expect(logAge(80)).toBeCloseTo(1, 6);
  });

  test('v2 priors: moods other than happy and neutral are drawn for mood=auto', () => {
    for (const mood of ['sad', 'angry', 'surprised'] as const) expect(v2.priors.mood[mood]).toBeGreaterThan(0);
  });

  test('a manifest that maps an ethnicity to a value the model lacks is refused at load', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-'));
    try {
      const raw = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'manifest-v2', 'manifest.json'), 'utf8'));
      raw.priors.ethnicity_map.latin_american = 'hispanic';
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(raw));
      expect(() => loadManifest(dir)).toThrow(/latin_american maps to hispanic/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('seed-drawn skin tone (v2 priors)', () => {
  const SEEDS = 20000;
  const drawn = (ethnicity: ResolvedParams['ethnicity']) =>
    Array.from({ length: SEEDS }, (_, i) => resolveParams({ ethnicity }, i + 1, v2.priors).skintone);

  test('quantile tables bound the draw: over 20,000 seeds, at most 2 % of african faces draw tone <= 3 and of european faces tone >= 7', () => {
    const african = drawn('african');
    const european = drawn('european');
    expect(african.filter((t) => t <= 3).length / SEEDS).toBeLessThanOrEqual(0.02);
    expect(european.filter((t) => t >= 7).length / SEEDS).toBeLessThanOrEqual(0.02);
  });

  test('every ethnicity draws tones inside the central range of its table', () => {
    for (const ethnicity of ETHNICITIES) {
      const table = v2.priors.skintone_by_ethnicity?.[ethnicity];
      if (!table) throw new Error(`no quantiles for ${ethnicity}`);
      const lo = Math.round(table.quantiles[0]);
      const hi = Math.round(table.quantiles[table.quantiles.length - 1]);
      for (const t of drawn(ethnicity).slice(0, 2000)) {
        expect(t).toBeGreaterThanOrEqual(lo);
        expect(t).toBeLessThanOrEqual(hi);
      }
    }
  });

  test('darker ethnicities draw darker tones on average (african above european)', () => {
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(drawn('african'))).toBeGreaterThan(mean(drawn('european')) + 2);
  });

  test("a caller's explicit skintone is honoured for every ethnicity", () => {
    for (const ethnicity of ETHNICITIES) {
      for (const skintone of [0, 3, 7, 10]) {
        expect(resolveParams({ ethnicity, skintone }, 42, v2.priors).skintone).toBe(skintone);
      }
    }
  });

  test('naming the skin tone does not change what the seed draws for the other attributes', () => {
    const free = resolveParams({ ethnicity: 'african' }, 7, v2.priors);
    const named = resolveParams({ ethnicity: 'african', skintone: 2 }, 7, v2.priors);
    expect({ ...named, skintone: free.skintone }).toEqual(free);
  });
});
