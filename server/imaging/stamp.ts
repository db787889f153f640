import sharp from 'sharp';

/** The stamp as PNG (for reference) and as straight-alpha RGBA pixels (what encode blends). */
export interface Stamp {
  png: Buffer;
  rgba: Buffer;
  width: number;
  height: number;
}

const cache = new Map<number, Promise<Stamp>>();

/**
 * The visible "AI generated" mark: a small translucent pill, bottom right, scaled with the
 * image. Rendered once per image size and reused.
 */
export function stampFor(resolution: number): Promise<Stamp> {
  let hit = cache.get(resolution);
  if (!hit) {
    hit = renderStamp(resolution);
    cache.set(resolution, hit);
    // A failed render is not cached forever.
    hit.catch(() => cache.delete(resolution));
  }
  return hit;
}

async function renderStamp(resolution: number): Promise<Stamp> {
  const height = Math.max(14, Math.round(resolution * 0.04));
  const font = Math.round(height * 0.62);
  const width = Math.round(font * 7.4);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<rect x="0" y="0" width="${width}" height="${height}" rx="${height / 2}" fill="#000" fill-opacity="0.45"/>
<text x="${width / 2}" y="${height * 0.7}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="${font}"
 font-weight="600" fill="#fff" fill-opacity="0.92" text-anchor="middle">AI generated</text></svg>`;
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 4) throw new Error('stamp render has an unexpected shape');
  return { png, rgba: data, width, height };
}
