import fs from 'node:fs';
import sharp from 'sharp';
import type { FaceService } from '../../server/generator/face-service';
import type { ResolvedParams } from '../../server/params/schema';
import type { Box } from './sharpness';

/** Size of the side-by-side crops (issue 16): 1:1 pixels of a 512 px image as served. */
export const CROP_RESOLUTION = 512;
/**
 * Eyes and mouth in a served standard-zoom face, as fractions of the side (eyes at ~47 % of the
 * height, mouth at ~74 %; the generator's faces are aligned like its training photos).
 */
export const CROPS: Record<'eyes' | 'mouth', Box> = {
  eyes: { x0: 0.25, y0: 0.38, x1: 0.75, y1: 0.56 },
  mouth: { x0: 0.32, y0: 0.64, x1: 0.68, y1: 0.84 },
};

const GAP = 6;
const HEADER = 28;
const LABEL = 110;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const text = (x: number, y: number, s: string, size = 14, anchor = 'middle') =>
  `<text x="${x}" y="${y}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="${size}" fill="#eee" text-anchor="${anchor}">${esc(s)}</text>`;

function pixels(b: Box) {
  const left = Math.round(b.x0 * CROP_RESOLUTION);
  const top = Math.round(b.y0 * CROP_RESOLUTION);
  return { left, top, width: Math.round(b.x1 * CROP_RESOLUTION) - left, height: Math.round(b.y1 * CROP_RESOLUTION) - top };
}

/**
 * upscaler-crops.jpg: one row per seed; eyes then mouth, Lanczos beside learned, cut at 1:1
 * from the same 512 px JPEG a caller would get (stampless), same seed and parameters.
 * Saved at quality 95 so the sheet's own JPEG adds as little as it can to what is compared.
 */
export async function writeCropSheet(lanczos: FaceService, learned: FaceService, params: ResolvedParams[], file: string): Promise<{ bytes: number; seeds: number[] }> {
  const eyes = pixels(CROPS.eyes);
  const mouth = pixels(CROPS.mouth);
  const rowH = Math.max(eyes.height, mouth.height);
  const cols = [
    { crop: eyes, service: lanczos, title: 'eyes: Lanczos' },
    { crop: eyes, service: learned, title: 'eyes: learned' },
    { crop: mouth, service: lanczos, title: 'mouth: Lanczos' },
    { crop: mouth, service: learned, title: 'mouth: learned' },
  ];
  const lefts: number[] = [];
  let x = LABEL;
  for (const c of cols) {
    lefts.push(x);
    x += c.crop.width + GAP;
  }
  const width = x;
  const height = HEADER + params.length * (rowH + GAP);
  const layers: Parameters<ReturnType<typeof sharp>['composite']>[0] = [];
  const svg: string[] = cols.map((c, i) => text(lefts[i] + c.crop.width / 2, HEADER - 9, c.title));
  for (const [r, p0] of params.entries()) {
    const p: ResolvedParams = { ...p0, resolution: CROP_RESOLUTION, image_format: 'jpeg', stampless: 'yes' };
    const top = HEADER + r * (rowH + GAP);
    const rendered = new Map<FaceService, Buffer>();
    for (const s of [lanczos, learned]) rendered.set(s, await s.render(p));
    for (const [i, c] of cols.entries()) {
      layers.push({ input: await sharp(rendered.get(c.service)!).extract(c.crop).toBuffer(), left: lefts[i], top });
    }
    svg.push(text(LABEL / 2, top + rowH / 2 - 4, `seed ${p.seed}`, 13));
    svg.push(text(LABEL / 2, top + rowH / 2 + 14, `${p.gender}, ${p.age}`, 12));
  }
  layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${svg.join('')}</svg>`), left: 0, top: 0 });
  const jpeg = await sharp({ create: { width, height, channels: 3, background: '#202124' } }).composite(layers).jpeg({ quality: 95 }).toBuffer();
  fs.writeFileSync(file, jpeg);
  return { bytes: jpeg.length, seeds: params.map((p) => p.seed) };
}
