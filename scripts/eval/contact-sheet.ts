import fs from 'node:fs';
import sharp from 'sharp';
import type { FaceService } from '../../server/generator/face-service';
import { resolveParams } from '../../server/params/resolve';
import { ETHNICITIES, type GenerateParams } from '../../server/params/schema';

const CELL = 128;
const HEADER = 26;
const SHEET_AGES = [8, 25, 45, 70];
const LIFETIME_AGES = [5, 15, 25, 35, 45, 55, 65, 80];

export interface ContactSheetSeeds {
  /** One seed per (gender, ethnicity) column, so each column of a gender block is one person aging. */
  column: (genderIndex: number, ethnicityIndex: number) => number;
  lifetime: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function text(x: number, y: number, s: string, size: number, anchor = 'middle', fill = '#eee'): string {
  return `<text x="${x}" y="${y}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="${size}" fill="${fill}" text-anchor="${anchor}">${esc(s)}</text>`;
}

/**
 * models/<name>/samples.jpg: rows are gender x age, columns the seven ethnicities (same seed down
 * a column within a gender block), then one seed from age 5 to 80. Cells go through
 * FaceService.render at 128 px, the same path (and upsampler) as the API.
 */
export async function writeContactSheet(faces: FaceService, seeds: ContactSheetSeeds, file: string): Promise<{ bytes: number; faces: number }> {
  const cols = ETHNICITIES.length + 1;
  const width = cols * CELL;
  const gridRows = 2 * SHEET_AGES.length;
  const lifeTop = HEADER + gridRows * CELL + HEADER;
  const height = lifeTop + CELL;
  const layers: Parameters<ReturnType<typeof sharp>['composite']>[0] = [];
  const svg: string[] = [];

  const cell = async (params: GenerateParams, seed: number, left: number, top: number) => {
    const p = resolveParams({ ...params, resolution: CELL, image_format: 'jpeg', stampless: 'yes' }, seed, faces.manifest.priors);
    layers.push({ input: await faces.render(p), left, top });
    return p;
  };

  ETHNICITIES.forEach((e, ei) => svg.push(text((ei + 1.5) * CELL, HEADER - 8, e.replace('_', ' '), 14)));
  const genders = ['male', 'female'] as const;
  for (const [gi, gender] of genders.entries()) {
    for (const [ai, age] of SHEET_AGES.entries()) {
      const row = gi * SHEET_AGES.length + ai;
      const top = HEADER + row * CELL;
      svg.push(text(CELL / 2, top + CELL / 2 - 4, gender, 16));
      svg.push(text(CELL / 2, top + CELL / 2 + 16, `age ${age}`, 16));
      for (const [ei, ethnicity] of ETHNICITIES.entries()) {
        await cell({ gender, ethnicity, age }, seeds.column(gi, ei), (ei + 1) * CELL, top);
      }
    }
  }

  let who = '';
  for (const [i, age] of LIFETIME_AGES.entries()) {
    // Gender and ethnicity come from the seed itself: this is simply "seed N" growing old.
    const p = await cell({ age }, seeds.lifetime, i * CELL, lifeTop);
    who = `${p.gender}, ${p.ethnicity.replace('_', ' ')}`;
    svg.push(`<rect x="${i * CELL + 2}" y="${lifeTop + CELL - 20}" width="30" height="18" rx="3" fill="#000" fill-opacity="0.55"/>`);
    svg.push(text(i * CELL + 17, lifeTop + CELL - 6, String(age), 13));
  }
  svg.push(text(8, lifeTop - 8, `one seed (${seeds.lifetime}, ${who}) from age 5 to 80`, 15, 'start'));

  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${svg.join('')}</svg>`;
  layers.push({ input: Buffer.from(overlay), left: 0, top: 0 });
  const jpeg = await sharp({ create: { width, height, channels: 3, background: '#202124' } })
    .composite(layers)
    .jpeg({ quality: 82, mozjpeg: true })
    .toBuffer();
  fs.writeFileSync(file, jpeg);
  return { bytes: jpeg.length, faces: gridRows * ETHNICITIES.length + LIFETIME_AGES.length };
}
