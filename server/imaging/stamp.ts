import sharp from 'sharp';

const cache = new Map<number, Promise<{ png: Buffer; width: number; height: number }>>();

/**
 * The visible "AI generated" mark: a small translucent pill, bottom right, scaled with the
 * image. Rendered once per image size and reused.
 */
export function stampFor(resolution: number): Promise<{ png: Buffer; width: number; height: number }> {
  let hit = cache.get(resolution);
  if (!hit) {
    hit = renderStamp(resolution);
    cache.set(resolution, hit);
  }
  return hit;
}

async function renderStamp(resolution: number) {
  const height = Math.max(14, Math.round(resolution * 0.04));
  const font = Math.round(height * 0.62);
  const width = Math.round(font * 7.4);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<rect x="0" y="0" width="${width}" height="${height}" rx="${height / 2}" fill="#000" fill-opacity="0.45"/>
<text x="${width / 2}" y="${height * 0.7}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="${font}"
 font-weight="600" fill="#fff" fill-opacity="0.92" text-anchor="middle">AI generated</text></svg>`;
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  return { png, width, height };
}
