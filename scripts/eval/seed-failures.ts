import { mcnemarExact } from './stats';

/**
 * Issue 25, "count broken seeds": v2's misses cluster by seed (one seed an orange non-face at
 * every age and ethnicity), so a detection rate over faces hides how many people a user can
 * never get. The scan renders each seed once per ethnicity, everything else as the seed draws
 * it, and counts per seed how many of its faces the judge's detector misses.
 */
export interface ScannedFace {
  seed: number;
  ethnicity: string;
  detected: boolean;
  score: number;
  /** What else the seed drew for this face, to see which draws the misses follow. */
  drawn: { gender: string; age: number; eyewear: string; mood: string; lighting: string; view_profile: number };
}

/** Groups of a drawn attribute that the detection rate is broken down by. */
const BREAKDOWN: Record<string, (d: ScannedFace['drawn']) => string> = {
  age: (d) => (d.age < 13 ? '0-12' : d.age < 30 ? '13-29' : d.age < 50 ? '30-49' : d.age < 65 ? '50-64' : '65+'),
  gender: (d) => d.gender,
  eyewear: (d) => d.eyewear,
  mood: (d) => d.mood,
  lighting: (d) => d.lighting,
  yaw: (d) => (Math.abs(d.view_profile) < 15 ? '|yaw| < 15' : Math.abs(d.view_profile) < 35 ? '|yaw| 15-34' : '|yaw| >= 35'),
};

export interface SeedFailures {
  seeds: number;
  faces: number;
  detected_rate: number;
  by_ethnicity: Array<{ ethnicity: string; faces: number; detected_rate: number }>;
  /** Detection rate by each drawn attribute's groups (BREAKDOWN), every group the seeds drew. */
  by_drawn: Record<string, Array<{ group: string; faces: number; detected_rate: number }>>;
  /** misses_per_seed[k]: seeds whose faces the detector missed k times (k = 0 .. faces per seed). */
  misses_per_seed: number[];
  /** A seed missed on at least this many of its faces is broken: the person, not the group, fails. */
  broken_at: number;
  broken_rate: number;
  /** Broken seeds, most misses first. */
  broken: Array<{ seed: number; missed: string[] }>;
}

/** Every seed with the faces the detector missed, most misses first. */
export function missesBySeed(faces: ScannedFace[]): Array<{ seed: number; missed: string[] }> {
  return [...group(faces, (f) => f.seed)]
    .map(([seed, g]) => ({ seed, missed: g.filter((f) => !f.detected).map((f) => f.ethnicity) }))
    .sort((a, b) => b.missed.length - a.missed.length || a.seed - b.seed);
}

export function seedFailures(faces: ScannedFace[], brokenAt: number): SeedFailures {
  const bySeed = group(faces, (f) => f.seed);
  const byEthnicity = group(faces, (f) => f.ethnicity);
  const perSeed = Math.max(0, ...[...bySeed.values()].map((g) => g.length));
  const missesPerSeed = new Array<number>(perSeed + 1).fill(0);
  const seeds = missesBySeed(faces);
  for (const s of seeds) missesPerSeed[s.missed.length]++;
  const broken = seeds.filter((s) => s.missed.length >= brokenAt);
  return {
    seeds: bySeed.size,
    faces: faces.length,
    detected_rate: rate(faces),
    by_ethnicity: [...byEthnicity].map(([ethnicity, g]) => ({ ethnicity, faces: g.length, detected_rate: rate(g) })),
    by_drawn: Object.fromEntries(Object.entries(BREAKDOWN).map(([name, groupOf]) => [
      name,
      [...group(faces, (f) => groupOf(f.drawn))].map(([g, fs]) => ({ group: g, faces: fs.length, detected_rate: rate(fs) })).sort((a, b) => a.group.localeCompare(b.group)),
    ])),
    misses_per_seed: missesPerSeed,
    broken_at: brokenAt,
    broken_rate: bySeed.size ? broken.length / bySeed.size : NaN,
    broken,
  };
}

/**
 * Two models on the same seeds and ethnicities: the detection difference with McNemar's exact
 * p over the faces only one of them lost (the pairs both found or both lost say nothing).
 */
export function compareScans(a: ScannedFace[], b: ScannedFace[]): { pairs: number; only_a_detected: number; only_b_detected: number; p: number } {
  const key = (f: ScannedFace) => `${f.seed}/${f.ethnicity}`;
  const other = new Map(b.map((f) => [key(f), f]));
  let onlyA = 0;
  let onlyB = 0;
  let pairs = 0;
  for (const f of a) {
    const g = other.get(key(f));
    if (!g) continue;
    pairs++;
    if (f.detected && !g.detected) onlyA++;
    if (!f.detected && g.detected) onlyB++;
  }
  return { pairs, only_a_detected: onlyA, only_b_detected: onlyB, p: mcnemarExact(onlyA, onlyB) };
}

function group<K>(faces: ScannedFace[], key: (f: ScannedFace) => K): Map<K, ScannedFace[]> {
  const out = new Map<K, ScannedFace[]>();
  for (const f of faces) out.set(key(f), [...(out.get(key(f)) ?? []), f]);
  return out;
}

function rate(faces: ScannedFace[]): number {
  return faces.length ? faces.filter((f) => f.detected).length / faces.length : NaN;
}
