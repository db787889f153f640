import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ETHNICITIES } from '../params/schema';

const meanSd = z.object({ mean: z.number(), sd: z.number().nonnegative() });
const weights = <T extends readonly [string, ...string[]]>(keys: T) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().nonnegative()])) as { [K in T[number]]: z.ZodNumber });

const priorsSchema = z.object({
  ethnicity_map: z.object(Object.fromEntries(ETHNICITIES.map((e) => [e, z.string()])) as Record<(typeof ETHNICITIES)[number], z.ZodString>),
  skintone_by_group: z.record(z.string(), meanSd),
  hair_length_by_gender: z.object({ male: meanSd, female: meanSd }),
  facial_hair: z.object({ adult_male_rate: z.number().min(0).max(1) }),
  eyewear: weights(['none', 'eyeglasses', 'sunglasses'] as const),
  lighting: weights(['studio', 'natural', 'artistic'] as const),
  mood: weights(['neutral', 'happy', 'sad', 'angry', 'surprised'] as const),
  yaw_sd: z.number().nonnegative(),
});

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
  return m;
}
