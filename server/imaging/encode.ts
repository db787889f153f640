import sharp from 'sharp';
import type { RawFace } from '../generator/onnx-generator';
import { stampFor, type Stamp } from './stamp';
import { provenanceXmp, type Provenance } from './xmp';

export interface EncodeOptions {
  resolution: number;
  format: 'jpeg' | 'webp';
  stamp: boolean;
  provenance: Provenance;
}

/**
 * Version of everything between the model's output and the bytes. Part of every ETag and
 * cache key: change it whenever resize, sharpening, stamp or encoder settings change, so
 * clients holding an old ETag get the new bytes.
 */
export const IMAGING_VERSION = 2;

export const JPEG_QUALITY = 90;
export const WEBP_QUALITY = 85;
/**
 * libwebp effort 0-6. Measured at 1024 px (BENCHMARKS.md, "knobs"): effort 3 takes ~2.5x the
 * time of effort 2 for ~3% smaller files; effort 2 is the better trade for a live API.
 */
export const WEBP_EFFORT = 2;

/**
 * Unsharp mask after upscaling, in 8-bit luma units. Same shape as libvips' sharpen
 * (gentle slope m1 up to x1, steeper m2 beyond, brightening capped at y2, darkening at y3;
 * libvips' defaults x1=2, y2=10, y3=20 on its 0-100 L scale are x2.55 here), but applied
 * to luma in RGB rather than after an sRGB -> LAB -> sRGB round trip, which cost ~5x more
 * than the whole rest of the pipeline at 1024 px.
 */
const USM = { m1: 0.5, m2: 1.5, x1: 5, y2: 26, y3: 51 };

// Deterministic output needs a fixed libvips thread pool and no operation cache surprises.
sharp.cache(false);

/**
 * Blur radius of the unsharp mask: grows with the upscale factor (upscaling softens edges).
 * `nativeSize` is the side the resize starts from: 64 px on the Lanczos path, 128 px after the
 * learned x2 upscaler. The mask only undoes the softening of the Lanczos interpolation that
 * follows, not missing detail, so the learned path gets the same rule on the factor that is
 * left: a narrower mask (1.5 px instead of 2.5 px at 1024), none at 128 px (no interpolation),
 * and nothing that would amplify the network's own fine texture into halos. The evaluation's
 * real-photo reference goes through the same rule, so its sharpness figures stay comparable.
 */
export function sharpenSigma(resolution: number, nativeSize: number): number {
  return 0.5 + resolution / nativeSize / 8;
}

/** BT.601 luma of packed RGB, 8 bits. */
function lumaOf(rgb: Buffer, pixels: number): Buffer {
  const y = Buffer.allocUnsafe(pixels);
  for (let p = 0, i = 0; p < pixels; p++, i += 3) y[p] = (77 * rgb[i] + 150 * rgb[i + 1] + 29 * rgb[i + 2] + 128) >> 8;
  return y;
}

/** In place: adds the shaped luma detail (luma - blurred luma) to all three channels. */
function unsharpLuma(rgb: Buffer, luma: Buffer, blurred: Buffer): void {
  const { m1, m2, x1, y2, y3 } = USM;
  // Integer detail d in -255..255 -> integer delta; a table keeps the loop branch-light.
  const table = new Int16Array(511);
  for (let d = -255; d <= 255; d++) {
    const a = Math.abs(d);
    const shaped = a < x1 ? a * m1 : x1 * m1 + (a - x1) * m2;
    table[d + 255] = d >= 0 ? Math.round(Math.min(shaped, y2)) : -Math.round(Math.min(shaped, y3));
  }
  for (let p = 0, i = 0, n = luma.length; p < n; p++, i += 3) {
    const delta = table[luma[p] - blurred[p] + 255];
    if (delta === 0) continue;
    const r = rgb[i] + delta;
    const g = rgb[i + 1] + delta;
    const b = rgb[i + 2] + delta;
    rgb[i] = r < 0 ? 0 : r > 255 ? 255 : r;
    rgb[i + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
    rgb[i + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
  }
}

/** In place: source-over of the stamp's straight-alpha RGBA onto packed RGB at (left, top). */
function blendStamp(rgb: Buffer, size: number, s: Stamp, left: number, top: number): void {
  for (let y = 0; y < s.height; y++) {
    let si = y * s.width * 4;
    let di = ((top + y) * size + left) * 3;
    for (let x = 0; x < s.width; x++, si += 4, di += 3) {
      const a = s.rgba[si + 3];
      if (a === 0) continue;
      const na = 255 - a;
      rgb[di] = (s.rgba[si] * a + rgb[di] * na + 127) / 255;
      rgb[di + 1] = (s.rgba[si + 1] * a + rgb[di + 1] * na + 127) / 255;
      rgb[di + 2] = (s.rgba[si + 2] * a + rgb[di + 2] * na + 127) / 255;
    }
  }
}

/** Native face -> RGB at the requested size: Lanczos-3, then the unsharp mask when upscaling. */
export async function resizeFace(face: RawFace, resolution: number): Promise<Buffer> {
  if (resolution === face.size) return Buffer.from(face.data);
  const rgb = await sharp(face.data, { raw: { width: face.size, height: face.size, channels: 3 } })
    .resize(resolution, resolution, { kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  if (resolution < face.size) return rgb;
  const pixels = resolution * resolution;
  const luma = lumaOf(rgb, pixels);
  const blurred = await sharp(luma, { raw: { width: resolution, height: resolution, channels: 1 } })
    .blur(sharpenSigma(resolution, face.size))
    .toColourspace('b-w') // one channel out, as in (sharp would otherwise expand to sRGB)
    .raw()
    .toBuffer();
  unsharpLuma(rgb, luma, blurred);
  return rgb;
}

/**
 * Native face -> final image: Lanczos-3 upscale with mild unsharp masking, the stamp, the
 * provenance XMP, then JPEG (sharp's bundled mozjpeg library in its fast libjpeg-turbo mode,
 * optimised Huffman tables) or WebP.
 * Every step is integer or fixed-order float arithmetic, so bytes are a function of the input.
 */
export async function encodeFace(face: RawFace, opts: EncodeOptions): Promise<Buffer> {
  const size = opts.resolution;
  const rgb = await resizeFace(face, size);
  if (opts.stamp) await applyStamp(rgb, size);
  return encodeRgb(rgb, size, opts.format, opts.provenance);
}

/** In place: the "AI generated" stamp, bottom right, 2% in from the edges. */
export async function applyStamp(rgb: Buffer, size: number): Promise<void> {
  const s = await stampFor(size);
  const margin = Math.round(size * 0.02);
  blendStamp(rgb, size, s, size - s.width - margin, size - s.height - margin);
}

/** Packed RGB -> JPEG/WebP with the provenance XMP. */
export function encodeRgb(rgb: Buffer, size: number, format: 'jpeg' | 'webp', provenance: Provenance): Promise<Buffer> {
  const img = sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).withXmp(provenanceXmp(provenance));
  // mozjpeg (trellis + progressive scan search) was ~10x slower at 1024 px for ~13% fewer bytes.
  return format === 'jpeg'
    ? img.jpeg({ quality: JPEG_QUALITY, optimiseCoding: true, chromaSubsampling: '4:2:0' }).toBuffer()
    : img.webp({ quality: WEBP_QUALITY, effort: WEBP_EFFORT }).toBuffer();
}
