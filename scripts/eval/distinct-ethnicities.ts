/**
 * Issue 25: "seven ethnicities distinct (no two pixel-identical for one seed)". A model with
 * fewer ethnicity groups than the API has values (v1: five) answers two API values with one
 * condition, so one seed gives the very same face for both. Measured on decoded pixels of the
 * served images, with everything but the ethnicity as the seed draws it (as a user sees it).
 */
export interface EthnicityFace {
  seed: number;
  ethnicity: string;
  /** Decoded RGB pixels of the served image; every face of a seed has the same size. */
  pixels: Uint8Array;
}

export interface DistinctEthnicities {
  seeds: number;
  /** Share of seeds whose faces are pairwise different in at least one pixel value. */
  distinct_rate: number;
  /** Every pixel-identical pair, by seed. */
  identical_pairs: Array<{ seed: number; a: string; b: string }>;
  /** Smallest mean absolute pixel difference (0-255) between two ethnicities of one seed. */
  min_mean_abs_diff: number;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`faces of one seed differ in size (${a.length} vs ${b.length} bytes)`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

export function distinctEthnicities(faces: EthnicityFace[]): DistinctEthnicities {
  const bySeed = new Map<number, EthnicityFace[]>();
  for (const f of faces) bySeed.set(f.seed, [...(bySeed.get(f.seed) ?? []), f]);
  const identical: DistinctEthnicities['identical_pairs'] = [];
  let distinctSeeds = 0;
  let minDiff = Infinity;
  for (const [seed, group] of bySeed) {
    let allDistinct = true;
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const d = meanAbsDiff(group[i].pixels, group[j].pixels);
        minDiff = Math.min(minDiff, d);
        if (d === 0) {
          allDistinct = false;
          identical.push({ seed, a: group[i].ethnicity, b: group[j].ethnicity });
        }
      }
    }
    if (allDistinct) distinctSeeds++;
  }
  return { seeds: bySeed.size, distinct_rate: bySeed.size ? distinctSeeds / bySeed.size : NaN, identical_pairs: identical, min_mean_abs_diff: Number.isFinite(minDiff) ? minDiff : NaN };
}
