import sharp from 'sharp';
import type { RawFace } from '../generator/onnx-generator';
import { stampFor } from './stamp';
import { provenanceXmp, type Provenance } from './xmp';

export interface EncodeOptions {
  resolution: number;
  format: 'jpeg' | 'webp';
  stamp: boolean;
  provenance: Provenance;
}

export const JPEG_QUALITY = 90;
export const WEBP_QUALITY = 85;
export const WEBP_EFFORT = 3;

// Deterministic output needs a fixed libvips thread pool and no operation cache surprises.
sharp.cache(false);

/**
 * Native face -> final image: Lanczos-3 upscale with mild unsharp masking (upscaling softens
 * edges), the stamp, the provenance XMP, then mozjpeg or WebP.
 */
export async function encodeFace(face: RawFace, opts: EncodeOptions): Promise<Buffer> {
  const margin = Math.round(opts.resolution * 0.02);
  let img = sharp(face.data, { raw: { width: face.size, height: face.size, channels: 3 } });
  if (opts.resolution !== face.size) {
    img = img.resize(opts.resolution, opts.resolution, { kernel: 'lanczos3' });
    if (opts.resolution > face.size) img = img.sharpen({ sigma: 0.5 + opts.resolution / face.size / 8, m1: 0.5, m2: 1.5 });
  }
  if (opts.stamp) {
    const s = await stampFor(opts.resolution);
    // sharp composites after the resize and sharpen of the same pipeline.
    img = img.composite([{ input: s.png, left: opts.resolution - s.width - margin, top: opts.resolution - s.height - margin }]);
  }
  img = img.withXmp(provenanceXmp(opts.provenance));
  return opts.format === 'jpeg'
    ? img.jpeg({ quality: JPEG_QUALITY, mozjpeg: true, chromaSubsampling: '4:2:0' }).toBuffer()
    : img.webp({ quality: WEBP_QUALITY, effort: WEBP_EFFORT }).toBuffer();
}
