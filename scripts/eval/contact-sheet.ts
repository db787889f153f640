import fs from 'node:fs';
import sharp from 'sharp';
import type { FaceService } from '../../server/generator/face-service';
import { resolveParams } from '../../server/params/resolve';
import { ETHNICITIES, type GenerateParams } from '../../server/params/schema';

const CELL = 128;
const HEADER = 26;
const LABEL = 150;
/** Issue 15: one seed per ethnicity aging across these ages. */
export const AGING_AGES = [5, 10, 20, 35, 50, 70];
/** One row per attribute: one seed, only that attribute changes along the row. */
export const SWEEPS: Array<{ name: string; values: GenerateParams[] }> = [
  { name: 'eyewear', values: (['none', 'eyeglasses', 'sunglasses'] as const).map((eyewear) => ({ eyewear })) },
  { name: 'mood', values: (['neutral', 'happy', 'sad', 'angry', 'surprised'] as const).map((mood) => ({ mood })) },
  { name: 'lighting', values: (['studio', 'natural', 'artistic'] as const).map((lighting) => ({ lighting })) },
  { name: 'zoom_level', values: (['standard', 'closeup'] as const).map((zoom_level) => ({ zoom_level })) },
  { name: 'hair_length', values: [0, 3, 6, 10].map((hair_length) => ({ hair_length })) },
  { name: 'facial_hair', values: [0, 3, 6, 10].map((facial_hair) => ({ facial_hair, gender: 'male' as const })) },
  { name: 'view_profile', values: [-60, -30, 0, 30, 60].map((view_profile) => ({ view_profile })) },
  { name: 'skintone', values: [0, 3, 6, 10].map((skintone) => ({ skintone })) },
];

export interface ContactSheetSeeds {
  /** One seed per ethnicity row of the aging strips. */
  aging: (ethnicityIndex: number) => number;
  /** One seed per attribute sweep row. */
  sweep: (sweepIndex: number) => number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function text(x: number, y: number, s: string, size: number, anchor = 'middle', fill = '#eee'): string {
  return `<text x="${x}" y="${y}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="${size}" fill="${fill}" text-anchor="${anchor}">${esc(s)}</text>`;
}

/** A small dark tag in a cell's bottom-left corner (the value that changes along the row). */
function tag(x: number, y: number, s: string): string {
  const w = 8 + s.length * 7.5;
  return `<rect x="${x + 2}" y="${y + CELL - 20}" width="${w}" height="18" rx="3" fill="#000" fill-opacity="0.6"/>` + text(x + 2 + w / 2, y + CELL - 6, s, 12);
}

/**
 * models/<name>/samples.jpg (issue 15): an aging strip per ethnicity (one seed, ages 5-70;
 * genders alternate by row), then one attribute sweep per row (one seed, one attribute changes).
 * Cells go through FaceService.render at 128 px, the API's code path.
 */
export async function writeContactSheet(faces: FaceService, seeds: ContactSheetSeeds, file: string): Promise<{ bytes: number; faces: number }> {
  const cols = Math.max(AGING_AGES.length, ...SWEEPS.map((s) => s.values.length));
  const width = LABEL + cols * CELL;
  const sweepTop = HEADER + ETHNICITIES.length * CELL + HEADER;
  const height = sweepTop + SWEEPS.length * CELL;
  const layers: Parameters<ReturnType<typeof sharp>['composite']>[0] = [];
  const svg: string[] = [];
  let count = 0;

  const cell = async (params: GenerateParams, seed: number, left: number, top: number) => {
    const p = resolveParams({ ...params, resolution: CELL, image_format: 'jpeg', stampless: 'yes' }, seed, faces.manifest.priors);
    layers.push({ input: await faces.render(p), left, top });
    count++;
    return p;
  };

  svg.push(text(8, HEADER - 8, `aging: one seed per row, ages ${AGING_AGES.join(', ')}`, 15, 'start'));
  for (const [ei, ethnicity] of ETHNICITIES.entries()) {
    const top = HEADER + ei * CELL;
    const gender = ei % 2 ? 'female' : 'male';
    const seed = seeds.aging(ei);
    svg.push(text(LABEL / 2, top + CELL / 2 - 8, ethnicity.replace('_', ' '), 15));
    svg.push(text(LABEL / 2, top + CELL / 2 + 12, `${gender}, seed ${seed}`, 11));
    for (const [ai, age] of AGING_AGES.entries()) {
      await cell({ gender, ethnicity, age }, seed, LABEL + ai * CELL, top);
      svg.push(tag(LABEL + ai * CELL, top, String(age)));
    }
  }

  svg.push(text(8, sweepTop - 8, 'attribute sweeps: one seed per row, only that attribute changes (others as the seed draws them)', 15, 'start'));
  for (const [si, sweep] of SWEEPS.entries()) {
    const top = sweepTop + si * CELL;
    const seed = seeds.sweep(si);
    let who = '';
    for (const [vi, v] of sweep.values.entries()) {
      const p = await cell({ age: 30, ...v }, seed, LABEL + vi * CELL, top);
      who = `${p.gender}, ${p.ethnicity.replace('_', ' ')}`;
      svg.push(tag(LABEL + vi * CELL, top, String(Object.entries(v).find(([k]) => k === sweep.name)?.[1])));
    }
    svg.push(text(LABEL / 2, top + CELL / 2 - 8, sweep.name, 15));
    svg.push(text(LABEL / 2, top + CELL / 2 + 12, `seed ${seed}`, 11));
    svg.push(text(LABEL / 2, top + CELL / 2 + 28, who, 11));
  }

  layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${svg.join('')}</svg>`), left: 0, top: 0 });
  const jpeg = await sharp({ create: { width, height, channels: 3, background: '#202124' } })
    .composite(layers)
    .jpeg({ quality: 82, mozjpeg: true })
    .toBuffer();
  fs.writeFileSync(file, jpeg);
  return { bytes: jpeg.length, faces: count };
}
