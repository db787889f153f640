import type { ResolvedParams } from '../params/schema';
import type { Manifest } from './manifest';

/**
 * Resolved parameters -> the model's condition vector, slot by slot as the manifest lays
 * it out (the same encoding as scripts/training/train.py's encode_condition).
 */
export function conditionVector(p: ResolvedParams, manifest: Manifest): Float32Array {
  const c = new Float32Array(manifest.condition_dim);
  const group = manifest.priors.ethnicity_map[p.ethnicity];
  const scalar: Record<string, number> = {
    gender: p.gender === 'male' ? 1 : 0,
    age: Math.min(p.age, 80) / 80,
    // v2: log age spreads childhood, where faces change fastest, over more of the input.
    age_log: Math.log1p(Math.min(p.age, 80)) / Math.log1p(80),
    skintone: p.skintone / 10,
    facial_hair: p.facial_hair / 10,
    hair_length: p.hair_length / 10,
    zoom: p.zoom_level === 'closeup' ? 1 : 0,
    yaw: p.view_profile / 60,
  };
  const oneHot: Record<string, string> = {
    ethnicity: group,
    eyewear: p.eyewear,
    lighting: p.lighting,
    mood: p.mood,
  };
  for (const slot of manifest.condition) {
    if (slot.name in scalar) {
      c[slot.offset] = scalar[slot.name];
    } else if (slot.name in oneHot) {
      const i = (slot.values ?? []).indexOf(oneHot[slot.name]);
      if (i < 0) throw new Error(`model has no value "${oneHot[slot.name]}" for ${slot.name}`);
      c[slot.offset + i] = 1;
    } else {
      throw new Error(`unknown condition slot ${slot.name}`);
    }
  }
  return c;
}
