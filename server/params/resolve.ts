import { ATTRIBUTE_STREAM, Prng } from '../generator/prng';
import type { ModelPriors } from '../generator/manifest';
import { AGE_WEIGHTS } from './age-distribution';
import { ETHNICITIES, type GenerateParams, type ResolvedParams } from './schema';

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

function pick<T extends string>(rng: Prng, table: Record<T, number>): T {
  const keys = Object.keys(table) as T[];
  return keys[rng.categorical(keys.map((k) => table[k]))];
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 via erf; |error| < 1.5e-7). */
function normalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * The skin tone a seed draws for an ethnicity. v2 priors: the seed's normal becomes a
 * probability and is read off the ethnicity's tone quantiles, so the tone stays inside the
 * range real faces of that ethnicity show. v1 priors: a normal per data group.
 */
export function seededSkintone(priors: ModelPriors, ethnicity: ResolvedParams['ethnicity'], noise: number): number {
  const table = priors.skintone_by_ethnicity?.[ethnicity];
  if (table) {
    const q = table.quantiles;
    const pos = normalCdf(noise) * (q.length - 1);
    const i = Math.min(q.length - 2, Math.floor(pos));
    return Math.round(clamp(q[i] + (q[i + 1] - q[i]) * (pos - i), 0, 10));
  }
  const tone = priors.skintone_by_group?.[priors.ethnicity_map[ethnicity]];
  if (!tone) throw new Error(`no skin-tone prior for ${ethnicity}`);
  return Math.round(clamp(tone.mean + tone.sd * noise, 0, 10));
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
    skintone: params.skintone ?? seededSkintone(priors, ethnicity, draw.skintoneNoise),
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
