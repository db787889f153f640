import { z } from 'zod';

/**
 * Every parameter of GET /v1/generate. These zod schemas are the single source of truth:
 * the query parser validates against them and the OpenAPI document is generated from them.
 */
export const ETHNICITIES = [
  'european',
  'african',
  'west_asian',
  'south_asian',
  'east_asian',
  'southeast_asian',
  'latin_american',
] as const;
export const EYEWEAR = ['auto', 'none', 'eyeglasses', 'sunglasses'] as const;
export const LIGHTING = ['auto', 'studio', 'natural', 'artistic'] as const;
export const MOODS = ['auto', 'neutral', 'happy', 'sad', 'angry', 'surprised'] as const;
export const ZOOM_LEVELS = ['standard', 'closeup'] as const;

export const SEED_MAX = 4294967296;

export type Tier = 'basic' | 'advanced';

interface ParamDef<S extends z.ZodType> {
  schema: S;
  tier: Tier;
  description: string;
  default: string;
}

function param<S extends z.ZodType>(tier: Tier, schema: S, description: string, dflt: string): ParamDef<S> {
  return { schema: schema.meta({ description }), tier, description, default: dflt };
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const PARAMS = {
  gender: param('basic', z.enum(['male', 'female']), 'Gender of the face.', 'random (50/50)'),
  ethnicity: param('basic', z.enum(ETHNICITIES), 'Ethnicity of the face.', 'random, uniform'),
  age: param('basic', int(0, 80), 'Age in years.', 'random, from the world population age distribution'),
  resolution: param('basic', int(128, 1024), 'Side of the square image in pixels.', '1024'),
  image_format: param('basic', z.enum(['jpeg', 'webp']), 'Image encoding.', 'jpeg'),
  seed: param('advanced', int(1, SEED_MAX), 'Seed: the same seed is the same person; fully deterministic output.', 'random'),
  skintone: param('advanced', int(0, 10), 'Skin tone, higher is darker.', 'random, consistent with ethnicity'),
  eyewear: param('advanced', z.enum(EYEWEAR), 'Eyewear.', 'auto'),
  hair_length: param('advanced', int(0, 10), 'Hair length, higher is more hair.', 'random'),
  facial_hair: param('advanced', int(0, 10), 'Facial hair, higher is more.', 'random, consistent with gender and age'),
  lighting: param('advanced', z.enum(LIGHTING), 'Lighting: studio (soft, even), natural (directional daylight), artistic (high contrast).', 'auto'),
  zoom_level: param('advanced', z.enum(ZOOM_LEVELS), 'standard: head-and-shoulders portrait; closeup: the face fills the frame.', 'standard'),
  mood: param('advanced', z.enum(MOODS), 'Facial expression.', 'auto'),
  view_profile: param('advanced', int(-60, 60), 'Head yaw in degrees; 0 is frontal, positive turns the nose toward the image left (the subject right).', 'random, mostly near frontal'),
  stampless: param('advanced', z.enum(['yes', 'no']), 'yes: no visible "generated" mark (the XMP provenance and the signed C2PA manifest stay).', 'no'),
} as const;

export type ParamName = keyof typeof PARAMS;
export const PARAM_NAMES = Object.keys(PARAMS) as ParamName[];

export type GenerateParams = { [K in ParamName]?: z.infer<(typeof PARAMS)[K]['schema']> };

/** The full, resolved parameter set of one image: nothing left to chance. */
export interface ResolvedParams {
  gender: 'male' | 'female';
  ethnicity: (typeof ETHNICITIES)[number];
  age: number;
  resolution: number;
  image_format: 'jpeg' | 'webp';
  seed: number;
  skintone: number;
  eyewear: Exclude<(typeof EYEWEAR)[number], 'auto'>;
  hair_length: number;
  facial_hair: number;
  lighting: Exclude<(typeof LIGHTING)[number], 'auto'>;
  zoom_level: (typeof ZOOM_LEVELS)[number];
  mood: Exclude<(typeof MOODS)[number], 'auto'>;
  view_profile: number;
  stampless: 'yes' | 'no';
}

export function isIntegerParam(name: ParamName): boolean {
  return PARAMS[name].schema instanceof z.ZodNumber;
}
