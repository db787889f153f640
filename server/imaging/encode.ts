import sharp from 'sharp';
import type { RawFace } from '../generator/onnx-generator';
import type { ContentCredentials } from './content-credentials';
import type { Resizer } from './resizer';
import { stampFor, type Stamp } from './stamp';
import { provenanceXmp, type Provenance } from './xmp';

export interface EncodeOptions {
  resolution: number;
  format: 'jpeg' | 'webp';
  stamp: boolean;
  provenance: Provenance;
  /** Signs the encoded image with a C2PA manifest; the server always has one (tools may not). */
  credentials?: ContentCredentials;
}

/**
 * Version of everything between the model's output and the bytes. Part of every ETag and
 * cache key: change it whenever resize, sharpening, stamp or encoder settings change, so
 * clients holding an old ETag get the new bytes.
 */
export const IMAGING_VERSION = 4;

export const JPEG_QUALITY = 90;
export const WEBP_QUALITY = 85;
/**
 * libwebp effort 0-6. Measured at 1024 px (BENCHMARKS.md, "knobs"): effort 3 takes ~2.5x the
 * time of effort 2 for ~3% smaller files; effort 2 is the better trade for a live API.
 */
export const WEBP_EFFORT = 2;

// Deterministic output needs a fixed libvips thread pool and no operation cache surprises.
sharp.cache(false);

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

/**
 * Native face -> final image: the resize (Lanczos-3 with a luma unsharp mask when enlarging, in
 * onnxruntime: resizer.ts), the stamp, the provenance XMP, then JPEG (sharp's bundled mozjpeg
 * library in its fast libjpeg-turbo mode, optimised Huffman tables) or WebP, then the signed C2PA
 * manifest when there are credentials.
 * Every step up to the encoder is integer or fixed-order float arithmetic, so pixels and XMP are a
 * function of the input. The manifest is not: c2pa-rs salts each assertion's hash with random
 * bytes and ECDSA draws a fresh nonce, so two signings of one face differ in those bytes.
 */
export async function encodeFace(face: RawFace, opts: EncodeOptions, resizer: Resizer): Promise<Buffer> {
  const size = opts.resolution;
  const rgb = await resizer.resize(face, size);
  if (opts.stamp) await applyStamp(rgb, size);
  const encoded = await encodeRgb(rgb, size, opts.format, opts.provenance);
  return opts.credentials ? opts.credentials.sign(encoded, opts.format, opts.provenance) : encoded;
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
