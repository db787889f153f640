/**
 * A no-reference sharpness statistic of the face region (issue 16): the variance of the
 * 4-neighbour Laplacian of luma over a central box. Blur removes high frequencies and lowers it;
 * real detail raises it. It cannot tell detail from artefacts (noise, checkerboards raise it
 * too), which is why the evaluation reads it beside real faces enlarged the same way, and
 * beside the crop sheet.
 */

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Where the face is in a served image (standard zoom): eyes at ~47 % of the height, mouth at
 * ~74 %, cheeks from ~25 % to ~75 % of the width, as generated and aligned real faces show.
 * Fractions of the side, so one box serves every resolution.
 */
export const FACE_BOX = { x0: 0.25, y0: 0.3, x1: 0.75, y1: 0.85 } as const;

/** A fractional box in pixels of a `width` x `height` image (half-open, at least 3 x 3). */
export function boxInPixels(width: number, height: number, f: Box = FACE_BOX): Box {
  const x0 = Math.max(0, Math.floor(f.x0 * width));
  const y0 = Math.max(0, Math.floor(f.y0 * height));
  return { x0, y0, x1: Math.min(width, Math.max(x0 + 3, Math.round(f.x1 * width))), y1: Math.min(height, Math.max(y0 + 3, Math.round(f.y1 * height))) };
}

/** BT.601 luma (floats 0-255) of packed RGB, or of one-channel data as is. */
export function luma(data: Uint8Array, width: number, height: number, channels: number): Float32Array {
  const n = width * height;
  const y = new Float32Array(n);
  if (channels === 1) {
    for (let i = 0; i < n; i++) y[i] = data[i];
    return y;
  }
  for (let i = 0, j = 0; i < n; i++, j += channels) y[i] = 0.299 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2];
  return y;
}

/** Variance of the Laplacian of `gray` over the box's interior pixels (each has 4 neighbours in the image). */
export function laplacianVariance(gray: Float32Array, width: number, height: number, box: Box): number {
  const x0 = Math.max(1, box.x0);
  const y0 = Math.max(1, box.y0);
  const x1 = Math.min(width - 1, box.x1);
  const y1 = Math.min(height - 1, box.y1);
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * width + x;
      const l = gray[i - 1] + gray[i + 1] + gray[i - width] + gray[i + width] - 4 * gray[i];
      n++;
      sum += l;
      sum2 += l * l;
    }
  }
  if (n === 0) return NaN;
  const m = sum / n;
  return sum2 / n - m * m;
}

/** The statistic of one packed image over the face box. */
export function faceSharpness(data: Uint8Array, width: number, height: number, channels: number): number {
  return laplacianVariance(luma(data, width, height, channels), width, height, boxInPixels(width, height));
}
