import type { RawFace } from './onnx-generator';

/**
 * Conversions between the networks' planar float images (1 x 3 x H x W, values in `range`)
 * and the packed 8-bit RGB the imaging code works on. Both are fixed-order integer-rounded
 * arithmetic, so a given float image always gives the same bytes.
 */

/** Planar CHW floats in `range` -> packed RGB bytes (rounded, clamped). */
export function planarToRgb(chw: Float32Array, size: number, range: readonly [number, number]): RawFace {
  const [lo, hi] = range;
  const scale = 255 / (hi - lo);
  const plane = size * size;
  if (chw.length !== 3 * plane) throw new Error(`expected 3 x ${size} x ${size} values, got ${chw.length}`);
  const data = Buffer.allocUnsafe(plane * 3);
  // One plane at a time, with truncation of x + 0.5 (x >= 0 here) in place of Math.round:
  // 0.15 ms per 128 px face against 0.7 ms for an interleaved loop with Math.round.
  for (let ch = 0; ch < 3; ch++) {
    const base = ch * plane;
    for (let i = 0, o = ch; i < plane; i++, o += 3) {
      const v = (chw[base + i] - lo) * scale + 0.5;
      data[o] = v < 0 ? 0 : v >= 255 ? 255 : v | 0;
    }
  }
  return { data, size };
}

/** Packed RGB bytes -> planar CHW floats in `range` (for real photos fed to the upscaler). */
export function rgbToPlanar(face: RawFace, range: readonly [number, number]): Float32Array {
  const [lo, hi] = range;
  const scale = (hi - lo) / 255;
  const plane = face.size * face.size;
  const chw = new Float32Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let ch = 0; ch < 3; ch++) chw[ch * plane + i] = lo + face.data[i * 3 + ch] * scale;
  }
  return chw;
}

/** Maps planar floats from one value range to another (generator output -> upscaler input). */
export function rescaleRange(chw: Float32Array, from: readonly [number, number], to: readonly [number, number]): Float32Array {
  if (from[0] === to[0] && from[1] === to[1]) return chw;
  const k = (to[1] - to[0]) / (from[1] - from[0]);
  return chw.map((v) => to[0] + (v - from[0]) * k);
}
