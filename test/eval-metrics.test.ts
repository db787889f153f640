import { criteriaTable, readPath } from '../scripts/eval/criteria';
import { distinctEthnicities } from '../scripts/eval/distinct-ethnicities';
import { compareScans, seedFailures } from '../scripts/eval/seed-failures';
import { EXPRESSIONS, type Judgement } from '../scripts/eval/judge';
import {
  attributeIdentityMetrics, childrenMetrics, identityMetrics, probeMetrics, realMetrics, samePersonRate, type GenItem, type RealItem,
} from '../scripts/eval/metrics';
import { EXPRESSION_TO_MOOD, judgedMood, moodAccuracy } from '../scripts/eval/mood';
import { boxInPixels, faceSharpness, laplacianVariance, luma } from '../scripts/eval/sharpness';
import { mcnemarExact, pairedDifference, slope } from '../scripts/eval/stats';
import { pairedAgeIdentity, pairedGridAges, type FaceRecord } from '../scripts/eval/paired-grid';
import type { ResolvedParams } from '../server/params/schema';

/**
 * The identity numbers decide whether issue 3 passes, so their bookkeeping is checked on
 * hand-made descriptors whose distances are known: a point on axis k at length r.
 */
function judged(axis: number, length = 1, detected = true): Judgement {
  const descriptor = new Float32Array(128);
  descriptor[axis] = length;
  return { detected, score: detected ? 0.9 : 0, descriptor };
}

function gridItem(chain: number, age: number, gender: 'male' | 'female'): GenItem {
  return { set: 'grid', chain, params: { age, gender, ethnicity: 'european' } as ResolvedParams };
}

describe('identityMetrics', () => {
  it('counts different seeds per age, and an undetected face as a failed pair', () => {
    const items: GenItem[] = [];
    const js: Judgement[] = [];
    // Chain 0 and 1 are far apart (distance sqrt 2) at every age except 70, where chain 1 is
    // undetected; chain 2 sits on chain 0's point (distance 0) at age 20 only.
    for (const age of [20, 35, 50, 70]) {
      items.push(gridItem(0, age, 'male'), gridItem(1, age, 'male'), gridItem(2, age, 'female'));
      js.push(judged(0), judged(1, 1, age !== 70), age === 20 ? judged(0) : judged(2));
    }
    const m = identityMetrics(items, js);
    const byAge = Object.fromEntries(m.different_seeds_by_age.map((a) => [a.age, a]));
    expect(byAge[20]).toEqual({ age: 20, rate: 2 / 3, pairs: 3 });
    expect(byAge[35].rate).toBe(1);
    expect(byAge[70].rate).toBeCloseTo(1 / 3);
    expect(m.different_seeds_pairs).toBe(12);
    expect(m.different_seeds_rate).toBeCloseTo((2 + 3 + 3 + 1) / 12);
  });
});

describe('realMetrics', () => {
  it('rates real pairs as different people only when both faces are found and far apart', () => {
    const real: RealItem[] = [0, 1, 2, 3].map((i) => ({ source: 'celebahq', file: `${i}.jpg`, half: 0, gender: 'female' }));
    // 6 pairs: 0-1 far, 0-2 same point, 1-2 far, and every pair with the undetected 3 fails.
    const m = realMetrics(real, [judged(0), judged(1), judged(0), judged(3, 1, false)]);
    expect(m.celebahq.different_people_rate).toBeCloseTo(2 / 6);
    expect(Number.isNaN(m.utkface.different_people_rate)).toBe(true);
  });
});

describe('samePersonRate and attributeIdentityMetrics (issue 15 pair rates)', () => {
  const probeItem = (set: GenItem['set'], probe: number, extra: Partial<GenItem> = {}): GenItem => ({ set, probe, params: {} as ResolvedParams, ...extra });

  it('a pair is the same person only when both faces are found and closer than 0.6', () => {
    const r = samePersonRate([
      [judged(0), judged(0, 1.3)], // distance 0.3: same
      [judged(0), judged(1)], // distance sqrt 2: different
      [judged(0), judged(0, 1, false)], // undetected: fails, not judged
    ]);
    expect(r).toMatchObject({ n: 3, judged: 2, same: 1 });
    expect(r.same_rate).toBeCloseTo(1 / 3);
    expect(r.mean_distance).toBeCloseTo((0.3 + Math.SQRT2) / 2);
  });

  it('pairs every value of one attribute on one seed, never across seeds or attributes, and pools the criterion attributes', () => {
    const items: GenItem[] = [];
    const js: Judgement[] = [];
    // Seed 0: eyewear none/eyeglasses/sunglasses; sunglasses turns it into another person (axis 5).
    for (const [v, j] of [['none', judged(0)], ['eyeglasses', judged(0)], ['sunglasses', judged(5)]] as const) {
      items.push(probeItem('attribute', 0, { attribute: 'eyewear', params: { eyewear: v } as ResolvedParams }));
      js.push(j);
    }
    // Seed 1: eyewear keeps the person (a different point from seed 0, so cross-seed pairs would differ).
    for (const v of ['none', 'eyeglasses', 'sunglasses']) {
      items.push(probeItem('attribute', 1, { attribute: 'eyewear', params: { eyewear: v } as ResolvedParams }));
      js.push(judged(1));
    }
    // Seed 0 under two moods (same person) and two yaws (different people).
    items.push(probeItem('mood', 0), probeItem('mood', 0), probeItem('yaw', 0), probeItem('yaw', 0));
    js.push(judged(0), judged(0), judged(0), judged(7));
    const m = attributeIdentityMetrics(items, js);
    expect(m.per_attribute.eyewear).toMatchObject({ n: 6, same: 4 });
    expect(m.per_attribute.mood).toMatchObject({ n: 1, same: 1 });
    expect(m.per_attribute.view_profile).toMatchObject({ n: 1, same: 0 });
    expect(m.per_attribute.lighting.n).toBe(0);
    // The criterion pools eyewear and mood (not view_profile): 5 of 7 pairs.
    expect(m.criterion.same_rate).toBeCloseTo(5 / 7);
  });
});

describe('childrenMetrics', () => {
  it('scores detection and age error per requested age and pairs one seed at 5 and 10', () => {
    const items: GenItem[] = [];
    const js: Judgement[] = [];
    const child = (probe: number, age: number, j: Judgement) => {
      items.push({ set: 'children', probe, params: { age } as ResolvedParams });
      js.push(j);
    };
    child(0, 5, { ...judged(0), age: 7 });
    child(0, 10, { ...judged(0), age: 9 });
    child(1, 5, { ...judged(2), age: 5 });
    child(1, 10, judged(3, 1, false));
    const m = childrenMetrics(items, js);
    expect(m.detected_rate).toBeCloseTo(3 / 4);
    expect(m.age_mae).toBeCloseTo((2 + 1 + 0) / 3);
    expect(m.by_age[10]).toMatchObject({ n: 2, detected: 1 });
    expect(m.same_seed_5_10).toMatchObject({ n: 2, same: 1 });
  });
});

describe('mood 5-way (face-api expressions onto the API moods)', () => {
  const expr = (p: Partial<Record<(typeof EXPRESSIONS)[number], number>>) =>
    Object.fromEntries(EXPRESSIONS.map((e) => [e, p[e] ?? 0])) as Record<(typeof EXPRESSIONS)[number], number>;

  it('maps each of the seven expressions onto one of the five moods', () => {
    expect(new Set(Object.keys(EXPRESSION_TO_MOOD))).toEqual(new Set(EXPRESSIONS));
    expect(EXPRESSION_TO_MOOD.fearful).toBe('surprised');
    expect(EXPRESSION_TO_MOOD.disgusted).toBe('angry');
  });

  it('sums probabilities per mood: fearful + surprised outvote a larger neutral', () => {
    expect(judgedMood(expr({ neutral: 0.4, surprised: 0.3, fearful: 0.3 }))).toBe('surprised');
    expect(judgedMood(expr({ neutral: 0.4, angry: 0.1, disgusted: 0.5 }))).toBe('angry');
    expect(judgedMood(undefined)).toBeUndefined();
  });

  it('counts an undetected face as wrong and reports accuracy per mood', () => {
    const m = moodAccuracy([
      { requested: 'happy', expressions: expr({ happy: 0.9 }) },
      { requested: 'happy' },
      { requested: 'sad', expressions: expr({ sad: 0.2, neutral: 0.8 }) },
      { requested: 'surprised', expressions: expr({ fearful: 0.7 }) },
    ]);
    expect(m.accuracy).toBeCloseTo(2 / 4);
    expect(m.per_mood.happy.accuracy).toBeCloseTo(1 / 2);
    expect(m.per_mood.sad.accuracy).toBe(0);
    expect(m.confusion.sad.neutral).toBe(1);
    expect(m.confusion.happy.undetected).toBe(1);
  });
});

describe('yaw slope', () => {
  it('is the least-squares slope of judged on requested yaw, over detected faces only', () => {
    const yaws = [-45, -20, 0, 20, 45];
    const items: GenItem[] = yaws.map((view_profile) => ({ set: 'yaw', probe: 0, params: { view_profile } as ResolvedParams }));
    // Judged = 0.5 x requested + 3; an undetected face carries a wild yaw that must not count.
    const js: Judgement[] = yaws.map((y) => ({ ...judged(0), yaw: 0.5 * y + 3 }));
    items.push({ set: 'yaw', probe: 1, params: { view_profile: 45 } as ResolvedParams });
    js.push({ ...judged(0, 1, false), yaw: -90 });
    expect(probeMetrics(items, js, 2).yaw.slope).toBeCloseTo(0.5, 10);
    expect(slope([0, 1, 2], [1, 1, 1])).toBe(0);
  });
});

describe('face sharpness (variance of the Laplacian over the face box)', () => {
  const SIZE = 64;
  /** Vertical stripes of period `period` px, box-blurred `blur` times horizontally. */
  function stripes(period: number, blur: number): Float32Array {
    let row = Float32Array.from({ length: SIZE }, (_, x) => (Math.floor(x / (period / 2)) % 2 ? 255 : 0));
    for (let b = 0; b < blur; b++) row = row.map((_, x) => (row[Math.max(0, x - 1)] + row[x] + row[Math.min(SIZE - 1, x + 1)]) / 3);
    const img = new Float32Array(SIZE * SIZE);
    for (let y = 0; y < SIZE; y++) img.set(row, y * SIZE);
    return img;
  }
  const box = boxInPixels(SIZE, SIZE);

  it('orders sharp > blurred > more blurred, and a flat image scores 0', () => {
    const v = [0, 1, 3].map((b) => laplacianVariance(stripes(8, b), SIZE, SIZE, box));
    expect(v[0]).toBeGreaterThan(v[1]);
    expect(v[1]).toBeGreaterThan(v[2]);
    expect(laplacianVariance(new Float32Array(SIZE * SIZE).fill(128), SIZE, SIZE, box)).toBe(0);
  });

  it('finer detail scores higher than coarser detail of the same contrast', () => {
    expect(laplacianVariance(stripes(4, 0), SIZE, SIZE, box)).toBeGreaterThan(laplacianVariance(stripes(16, 0), SIZE, SIZE, box));
  });

  it('reads only the face box: texture outside it does not count', () => {
    const rgb = new Uint8Array(SIZE * SIZE * 3).fill(100);
    const flat = faceSharpness(rgb, SIZE, SIZE, 3);
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < 8; x++) rgb.fill(((x + y) % 2) * 255, (y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3);
    expect(faceSharpness(rgb, SIZE, SIZE, 3)).toBe(flat);
    expect(luma(Uint8Array.from([255, 0, 0]), 1, 1, 3)[0]).toBeCloseTo(0.299 * 255);
  });
});

describe('pipeline comparison statistics (issue 16)', () => {
  it('exact McNemar: no discordant faces is p 1, a lopsided split is significant, a one-face split is not', () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(1, 0)).toBe(1);
    expect(mcnemarExact(4, 5)).toBe(1);
    // 10 vs 0: 2 * 0.5^10
    expect(mcnemarExact(10, 0)).toBeCloseTo(2 / 1024, 10);
    expect(mcnemarExact(0, 10)).toBeCloseTo(2 / 1024, 10);
    // 1 vs 6: 2 * (1 + 7) / 128
    expect(mcnemarExact(1, 6)).toBeCloseTo(16 / 128, 10);
  });

  it('paired difference: the mean, and an interval that excludes 0 only when the shift is consistent', () => {
    const steady = pairedDifference([1, 1.1, 0.9, 1, 1.05, 0.95]);
    expect(steady.mean).toBeCloseTo(1, 10);
    expect(steady.ci95[0]).toBeGreaterThan(0);
    const noisy = pairedDifference([3, -3, 2, -2, 1, -1.5]);
    expect(noisy.ci95[0]).toBeLessThan(0);
    expect(noisy.ci95[1]).toBeGreaterThan(0);
    expect(noisy.n).toBe(6);
  });
});

describe('issue-15 criteria table', () => {
  it('reads each row by path, passes on the right side of the threshold, and reads a baseline that lacks newer rows as n/a', () => {
    const result = { grid: { detected_rate: 0.97, age_mae: 7.5 }, identity: { pairs: { '20-50': { same_rate: 0.75 } } } };
    const baseline = { grid: { detected_rate: 0.967 } };
    const rows = Object.fromEntries(criteriaTable(result, baseline).map((r) => [r.path, r]));
    expect(rows['grid.detected_rate']).toMatchObject({ value: 0.97, pass: true, baseline: 0.967 });
    expect(rows['grid.age_mae'].pass).toBe(false); // 7.5 > 7
    expect(rows['identity.pairs.20-50.same_rate'].pass).toBe(true); // exactly the threshold
    expect(rows['mood.accuracy'].pass).toBe(false); // absent: never a pass
    expect(Number.isNaN(rows['grid.age_mae'].baseline)).toBe(true);
    expect(readPath({ a: { 'b-c': 2 } }, 'a.b-c')).toBe(2);
  });
});

describe('seven ethnicities distinct for one seed (issue 25)', () => {
  const face = (seed: number, ethnicity: string, value: number) => ({ seed, ethnicity, pixels: new Uint8Array(12).fill(value) });

  it('a seed whose faces all differ counts as distinct; two identical faces of one seed fail it and are named', () => {
    const r = distinctEthnicities([
      face(1, 'european', 10), face(1, 'african', 11), face(1, 'east_asian', 12),
      // v1's five groups: east and southeast asian are one condition, so one seed gives one face.
      face(2, 'european', 10), face(2, 'east_asian', 40), face(2, 'southeast_asian', 40),
    ]);
    expect(r.seeds).toBe(2);
    expect(r.distinct_rate).toBe(0.5);
    expect(r.identical_pairs).toEqual([{ seed: 2, a: 'east_asian', b: 'southeast_asian' }]);
    expect(r.min_mean_abs_diff).toBe(0);
  });

  it('one differing byte is enough, and the smallest mean difference says how close they came', () => {
    const a = new Uint8Array(4).fill(100);
    const b = Uint8Array.from([100, 100, 100, 104]);
    const r = distinctEthnicities([{ seed: 7, ethnicity: 'european', pixels: a }, { seed: 7, ethnicity: 'african', pixels: b }]);
    expect(r.distinct_rate).toBe(1);
    expect(r.min_mean_abs_diff).toBe(1);
  });

  it('faces of one seed at different sizes are an error, not a pass', () => {
    expect(() => distinctEthnicities([{ seed: 1, ethnicity: 'a', pixels: new Uint8Array(3) }, { seed: 1, ethnicity: 'b', pixels: new Uint8Array(6) }])).toThrow(/differ in size/);
  });
});

describe('broken seeds: misses counted per seed, not per face (issue 25)', () => {
  const ETH = ['european', 'african', 'east_asian', 'south_asian'];
  const drawn = (age: number) => ({ gender: 'female', age, eyewear: 'none', mood: 'neutral', lighting: 'studio', view_profile: 0 });
  const scanned = (seed: number, missed: string[], age = 30) => ETH.map((ethnicity) => ({ seed, ethnicity, drawn: drawn(age), detected: !missed.includes(ethnicity), score: missed.includes(ethnicity) ? 0 : 0.9 }));

  it('a seed missed on at least broken_at faces is broken; scattered misses of other seeds are not', () => {
    const faces = [...scanned(1, []), ...scanned(2, ['african']), ...scanned(3, ['european', 'african', 'south_asian']), ...scanned(4, ETH, 70)];
    const r = seedFailures(faces, 3);
    expect(r.seeds).toBe(4);
    expect(r.faces).toBe(16);
    expect(r.detected_rate).toBe(8 / 16);
    expect(r.misses_per_seed).toEqual([1, 1, 0, 1, 1]);
    expect(r.broken.map((b) => b.seed)).toEqual([4, 3]);
    expect(r.broken[1].missed).toEqual(['european', 'african', 'south_asian']);
    expect(r.broken_rate).toBe(0.5);
    expect(r.by_ethnicity.find((e) => e.ethnicity === 'african')).toEqual({ ethnicity: 'african', faces: 4, detected_rate: 0.25 });
    expect(r.by_ethnicity.find((e) => e.ethnicity === 'east_asian')?.detected_rate).toBe(0.75);
    expect(r.by_drawn.age).toEqual([{ group: '30-49', faces: 12, detected_rate: 8 / 12 }, { group: '65+', faces: 4, detected_rate: 0 }]);
  });

  it('compares two models on the faces only one of them lost', () => {
    const a = [...scanned(1, []), ...scanned(2, ['african'])];
    const b = [...scanned(1, ETH), ...scanned(2, [])];
    const c = compareScans(a, b);
    expect(c).toMatchObject({ pairs: 8, only_a_detected: 4, only_b_detected: 1 });
    expect(c.p).toBeCloseTo(mcnemarExact(4, 1));
  });
});

describe('paired grid ages: two states judged on the same faces (issue 25)', () => {
  const face = (chain: number, age: number, judged: number | undefined, set = 'grid'): FaceRecord =>
    ({ set, chain, query: `seed=${chain}&age=${age}`, judgement: judged === undefined ? { detected: false } : { detected: true, age: judged } });

  it('pairs faces by query, skips faces either side missed and non-grid faces, and reports bias per asked age', () => {
    const base = [face(1, 10, 20), face(1, 70, 60), face(2, 10, 14), face(2, 70, 66), face(3, 10, 10), face(9, 30, 30, 'mood')];
    const now = [face(1, 10, 25), face(1, 70, 60), face(2, 10, 12), face(2, 70, undefined), face(4, 10, 10), face(9, 30, 60, 'mood')];
    const p = pairedGridAges(base, now);
    expect(p.matched).toBe(4);
    expect(p.both_detected).toBe(3);
    // |25-10| - |20-10| = 5, 0, |12-10| - |14-10| = -2
    expect(p.per_face.mean).toBeCloseTo(1);
    expect(p.per_face.n).toBe(3);
    // seed 1: mean(5, 0) = 2.5; seed 2: -2
    expect(p.per_seed.n).toBe(2);
    expect(p.per_seed.mean).toBeCloseTo(0.25);
    expect(p.age_mae_base).toBeCloseTo((10 + 10 + 4) / 3);
    expect(p.age_mae_now).toBeCloseTo((15 + 10 + 2) / 3);
    expect(p.by_age[10]).toEqual({ n: 2, bias_base: 7, bias_now: 8.5 });
    expect(p.by_age[70]).toEqual({ n: 1, bias_base: -10, bias_now: -10 });
  });
});

describe('paired same-person verdicts across ages, seed by seed (issue 25)', () => {
  const judged = (d: number[]): Judgement => ({ detected: true, score: 0.9, descriptor: new Float32Array(d) });
  const missed: Judgement = { detected: false, score: 0, descriptor: new Float32Array(0) };
  const item = (chain: number, age: number) => ({ set: 'grid' as const, chain, params: { age } as ResolvedParams });
  const items = [0, 1, 2].flatMap((c) => [item(c, 20), item(c, 70)]);

  it('counts the seeds each model keeps as one person, an undetected face as a failed pair, and tests only the discordant seeds', () => {
    // seed 0: both keep it; seed 1: only the baseline (now far apart); seed 2: only now (baseline misses a face)
    const base = [judged([0, 0]), judged([0.1, 0]), judged([0, 0]), judged([0.2, 0]), judged([0, 0]), missed];
    const now = [judged([0, 0]), judged([0.3, 0]), judged([0, 0]), judged([1, 0]), judged([0, 0]), judged([0.1, 0])];
    const r = pairedAgeIdentity(items, base, now, 20, 70);
    expect(r).toMatchObject({ seeds: 3, same_base: 2, same_now: 2, only_base: 1, only_now: 1 });
    expect(r.p).toBeCloseTo(mcnemarExact(1, 1));
  });
});
