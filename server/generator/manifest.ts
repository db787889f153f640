import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ETHNICITIES } from '../params/schema';

const meanSd = z.object({ mean: z.number(), sd: z.number().nonnegative() });
const weights = <T extends readonly [string, ...string[]]>(keys: T) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().nonnegative()])) as { [K in T[number]]: z.ZodNumber });

const perEthnicity = <S extends z.ZodType>(schema: S) =>
  z.object(Object.fromEntries(ETHNICITIES.map((e) => [e, schema])) as Record<(typeof ETHNICITIES)[number], S>);

/**
 * Seed-drawn skin tone of one ethnicity: tones at equally spaced probabilities from `range[0]`
 * to `range[1]` of the real faces of that ethnicity (labels v2). Drawing through these keeps
 * an unrequested tone inside what real faces of the ethnicity show.
 */
const toneQuantiles = z.object({
  range: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]),
  quantiles: z.array(z.number().min(0).max(10)).min(2),
}).refine((q) => q.range[0] < q.range[1] && q.quantiles.every((v, i) => i === 0 || v >= q.quantiles[i - 1]), {
  message: 'quantiles must be non-decreasing over an increasing range',
});

/**
 * Two layouts load: v1 models have five data groups, each API ethnicity mapped onto one, with a
 * normal skin-tone prior per group; v2 models have one group per API ethnicity and skin-tone
 * quantiles per ethnicity.
 */
const priorsSchema = z.object({
  ethnicity_map: perEthnicity(z.string()),
  skintone_by_group: z.record(z.string(), meanSd).optional(),
  skintone_by_ethnicity: perEthnicity(toneQuantiles).optional(),
  hair_length_by_gender: z.object({ male: meanSd, female: meanSd }),
  facial_hair: z.object({ adult_male_rate: z.number().min(0).max(1) }),
  eyewear: weights(['none', 'eyeglasses', 'sunglasses'] as const),
  lighting: weights(['studio', 'natural', 'artistic'] as const),
  mood: weights(['neutral', 'happy', 'sad', 'angry', 'surprised'] as const),
  yaw_sd: z.number().nonnegative(),
}).refine((p) => p.skintone_by_ethnicity || p.skintone_by_group, { message: 'a skin-tone prior is required' });

/**
 * The optional learned upscaler (scripts/training/export.py --upscaler): a network that enlarges the
 * generator's raw output by `scale` before the resize to the requested size. Its version joins
 * the model's in X-Model-Version and ETags, because it changes the served bytes.
 */
export const upscalerSchema = z.object({
  file: z.string().min(1),
  version: z.string().min(1),
  scale: z.number().int().min(2),
  input: z.string(),
  output: z.string(),
  range: z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, { message: 'range must be increasing' }),
  /** The network's shape as export.py records it (channels, body convolutions, activation slopes). */
  architecture: z.record(z.string(), z.unknown()).optional(),
  training: z.record(z.string(), z.unknown()).optional(),
});

export type UpscalerSpec = z.infer<typeof upscalerSchema>;

export const manifestSchema = z.object({
  name: z.string(),
  version: z.string(),
  file: z.string(),
  resolution: z.number().int().positive(),
  latent_dim: z.number().int().positive(),
  inputs: z.object({ latent: z.string(), condition: z.string() }),
  output: z.object({ name: z.string(), range: z.tuple([z.number(), z.number()]) }),
  condition: z.array(z.object({ name: z.string(), offset: z.number().int(), size: z.number().int(), meaning: z.string(), values: z.array(z.string()).optional() })),
  condition_dim: z.number().int().positive(),
  priors: priorsSchema,
  upscaler: upscalerSchema.optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ModelPriors = Manifest['priors'];

/** Reads and checks models/<name>/manifest.json; a broken manifest stops the server at start. */
export function loadManifest(modelDir: string): Manifest {
  const file = path.join(modelDir, 'manifest.json');
  const parsed = manifestSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file} is invalid: ${parsed.error.message}`);
  const m = parsed.data;
  const covered = m.condition.reduce((n, slot) => n + slot.size, 0);
  if (covered !== m.condition_dim) throw new Error(`${file}: condition slots cover ${covered} of ${m.condition_dim} values`);
  // Every API ethnicity must reach a slot value of the model, and every group a skin-tone prior.
  const groups = m.condition.find((slot) => slot.name === 'ethnicity')?.values ?? [];
  for (const [ethnicity, group] of Object.entries(m.priors.ethnicity_map)) {
    if (!groups.includes(group)) throw new Error(`${file}: ethnicity ${ethnicity} maps to ${group}, which is not a condition value`);
    if (!m.priors.skintone_by_ethnicity && !m.priors.skintone_by_group?.[group]) {
      throw new Error(`${file}: no skin-tone prior for group ${group}`);
    }
  }
  return m;
}
