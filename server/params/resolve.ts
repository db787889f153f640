import { ATTRIBUTE_STREAM, Prng } from '../generator/prng';
import type { ModelPriors } from '../generator/manifest';
import { AGE_WEIGHTS } from './age-distribution';
import { ETHNICITIES, type GenerateParams, type ResolvedParams } from './schema';

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

function pick<T extends string>(rng: Prng, table: Record<T, number>): T {
  const keys = Object.keys(table) as T[];
  return keys[rng.categorical(keys.map((k) => table[k]))];
}

/**
 * Fills every attribute the caller left open, from the seed's attribute stream.
 * Every draw happens, in this fixed order, whether or not the caller named the attribute:
 * naming `age` must not change which skin tone or eyewear the seed picks.
 */
export function resolveParams(params: GenerateParams, seed: number, priors: ModelPriors): ResolvedParams {
  const rng = new Prng(seed, ATTRIBUTE_STREAM);
  const draw = {
    gender: rng.uniform() < 0.5 ? 'male' : 'female',
    ethnicity: ETHNICITIES[Math.floor(rng.uniform() * ETHNICITIES.length)],
    age: rng.categorical(AGE_WEIGHTS),
    skintoneNoise: rng.normal(),
    eyewear: pick(rng, priors.eyewear),
    hairNoise: rng.normal(),
    beardPresent: rng.uniform(),
    beardAmount: rng.uniform(),
    lighting: pick(rng, priors.lighting),
    mood: pick(rng, priors.mood),
    yawNoise: rng.normal(),
  } as const;

  const gender = params.gender ?? (draw.gender as ResolvedParams['gender']);
  const ethnicity = params.ethnicity ?? draw.ethnicity;
  const age = params.age ?? draw.age;
  const group = priors.ethnicity_map[ethnicity];
  const tone = priors.skintone_by_group[group];
  const hair = priors.hair_length_by_gender[gender];
  const adultMale = gender === 'male' && age >= 16;
  const facialHair = adultMale && draw.beardPresent < priors.facial_hair.adult_male_rate
    ? Math.round(2 + draw.beardAmount * 8)
    : 0;

  return {
    gender,
    ethnicity,
    age,
    resolution: params.resolution ?? 1024,
    image_format: params.image_format ?? 'jpeg',
    seed,
    skintone: params.skintone ?? Math.round(clamp(tone.mean + tone.sd * draw.skintoneNoise, 0, 10)),
    eyewear: params.eyewear && params.eyewear !== 'auto' ? params.eyewear : draw.eyewear,
    hair_length: params.hair_length ?? Math.round(clamp(hair.mean + hair.sd * draw.hairNoise, 0, 10)),
    facial_hair: params.facial_hair ?? facialHair,
    lighting: params.lighting && params.lighting !== 'auto' ? params.lighting : draw.lighting,
    zoom_level: params.zoom_level ?? 'standard',
    mood: params.mood && params.mood !== 'auto' ? params.mood : draw.mood,
    view_profile: params.view_profile ?? Math.round(clamp(priors.yaw_sd * draw.yawNoise, -60, 60)),
    stampless: params.stampless ?? 'no',
  };
}

/** Resolved parameters as a canonical query string (fixed key order): the replayable form. */
export function canonicalQuery(p: ResolvedParams): string {
  const order: (keyof ResolvedParams)[] = [
    'seed', 'gender', 'ethnicity', 'age', 'resolution', 'image_format', 'skintone', 'eyewear',
    'hair_length', 'facial_hair', 'lighting', 'zoom_level', 'mood', 'view_profile', 'stampless',
  ];
  return order.map((k) => `${k}=${encodeURIComponent(String(p[k]))}`).join('&');
}
