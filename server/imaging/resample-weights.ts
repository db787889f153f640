/**
 * Resampling as matrices: an image of side `src` becomes side `dst` as R · X · Rᵀ, where row o of
 * R holds the Lanczos-3 weights of output pixel o. The resizer multiplies these dense matrices
 * with onnxruntime's GEMM, which on this hardware beats libvips' separable enlargement by ~5x
 * at 1024 px despite the zeros (BENCHMARKS.md), and the unsharp mask's blur folds into a second
 * pair of matrices (G · R) instead of a pass over the large image.
 */

function sinc(x: number): number {
  if (x === 0) return 1;
  const p = Math.PI * x;
  return Math.sin(p) / p;
}

function lanczos3(x: number): number {
  return Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0;
}

/**
 * dst x src row-major weights, pixel centres aligned ((o + 0.5) · src/dst − 0.5), edges clamped,
 * each row summing to 1. Shrinking stretches the kernel by src/dst so that it also filters out
 * what the smaller image cannot hold.
 */
export function lanczosMatrix(src: number, dst: number): Float32Array {
  const m = new Float32Array(dst * src);
  const stretch = Math.max(1, src / dst);
  const reach = 3 * stretch;
  for (let o = 0; o < dst; o++) {
    const centre = (o + 0.5) * (src / dst) - 0.5;
    const row = new Float64Array(src);
    let sum = 0;
    for (let j = Math.ceil(centre - reach); j <= Math.floor(centre + reach); j++) {
      const w = lanczos3((centre - j) / stretch);
      row[Math.min(src - 1, Math.max(0, j))] += w;
      sum += w;
    }
    for (let j = 0; j < src; j++) m[o * src + j] = row[j] / sum;
  }
  return m;
}

/**
 * G · R for a Gaussian G of `sigma` output pixels (radius 3 sigma, edges clamped, normalised):
 * the resize followed by a blur of the result, as one matrix.
 */
export function blurredMatrix(resize: Float32Array, src: number, dst: number, sigma: number): Float32Array {
  const radius = Math.ceil(3 * sigma);
  const g: number[] = [];
  for (let k = -radius; k <= radius; k++) g.push(Math.exp(-(k * k) / (2 * sigma * sigma)));
  const total = g.reduce((a, b) => a + b, 0);
  const out = new Float32Array(dst * src);
  for (let o = 0; o < dst; o++) {
    for (let k = -radius; k <= radius; k++) {
      const w = g[k + radius] / total;
      const from = Math.min(dst - 1, Math.max(0, o + k)) * src;
      for (let j = 0; j < src; j++) out[o * src + j] += w * resize[from + j];
    }
  }
  return out;
}

/** Row-major transpose of a rows x cols matrix. */
export function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

/**
 * Blur radius of the unsharp mask: grows with the upscale factor (upscaling softens edges).
 * `sourceSide` is the side the resize starts from: 64 px on the Lanczos path, 128 px after the
 * learned x2 upscaler. The mask only undoes the softening of the Lanczos interpolation that
 * follows, not missing detail, so the learned path gets the same rule on the factor that is
 * left: a narrower mask (1.5 px instead of 2.5 px at 1024), none at 128 px (no interpolation),
 * and nothing that would amplify the network's own fine texture into halos. The evaluation's
 * real-photo reference goes through the same rule, so its sharpness figures stay comparable.
 */
export function sharpenSigma(resolution: number, sourceSide: number): number {
  return 0.5 + resolution / sourceSide / 8;
}
