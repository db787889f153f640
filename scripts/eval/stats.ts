/** Small statistics for the evaluator; plain arrays, no dependencies. */

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

/** Pearson correlation; NaN when either side has no spread (nothing to correlate). */
export function pearson(xs: number[], ys: number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 3) return NaN;
  const mx = mean(xs.slice(0, n));
  const my = mean(ys.slice(0, n));
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Least-squares slope of y on x. */
export function slope(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

type Matrix = Float64Array[];

function meanAndCovariance(rows: ArrayLike<number>[]): { mu: Float64Array; cov: Matrix } {
  const n = rows.length;
  const d = rows[0].length;
  const mu = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mu[j] += r[j] / n;
  const cov: Matrix = Array.from({ length: d }, () => new Float64Array(d));
  const c = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; j++) c[j] = r[j] - mu[j];
    for (let i = 0; i < d; i++) {
      const ci = c[i];
      const row = cov[i];
      for (let j = i; j < d; j++) row[j] += ci * c[j];
    }
  }
  // Unbiased (n - 1), as numpy.cov and the usual FID code use.
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      cov[i][j] /= n - 1;
      cov[j][i] = cov[i][j];
    }
  }
  return { mu, cov };
}

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations (fine for d = 128). */
export function symmetricEigen(a: Matrix): { values: Float64Array; vectors: Matrix } {
  const n = a.length;
  const m = a.map((r) => Float64Array.from(r));
  const v: Matrix = Array.from({ length: n }, (_, i) => {
    const r = new Float64Array(n);
    r[i] = 1;
    return r;
  });
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p][q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(m[p][q]) < 1e-300) continue;
        const theta = (m[q][q] - m[p][p]) / (2 * m[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k][p];
          const mkq = m[k][q];
          m[k][p] = c * mkp - s * mkq;
          m[k][q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p][k];
          const mqk = m[q][k];
          m[p][k] = c * mpk - s * mqk;
          m[q][k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from(m.map((r, i) => r[i])), vectors: v };
}

function matmul(a: Matrix, b: Matrix): Matrix {
  const n = a.length;
  const out: Matrix = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i][k];
      if (aik === 0) continue;
      const bk = b[k];
      const oi = out[i];
      for (let j = 0; j < n; j++) oi[j] += aik * bk[j];
    }
  }
  return out;
}

/** Symmetric PSD square root; tiny negative eigenvalues from rounding are clipped to 0. */
function sqrtPsd(a: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(a);
  const n = a.length;
  const out: Matrix = Array.from({ length: n }, () => new Float64Array(n));
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(0, values[k]));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i][k] * s;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i][j] += vik * vectors[j][k];
    }
  }
  return out;
}

/**
 * Fréchet distance between Gaussians fitted to two sets of vectors (the FID formula):
 * |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)). tr((S1 S2)^(1/2)) is computed as
 * tr((A S2 A)^(1/2)) with A = S1^(1/2), which stays symmetric and so needs no complex sqrtm.
 */
export function frechetDistance(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  if (a.length < 2 || b.length < 2) return NaN;
  const x = meanAndCovariance(a);
  const y = meanAndCovariance(b);
  const d = x.mu.length;
  let diff = 0;
  for (let i = 0; i < d; i++) diff += (x.mu[i] - y.mu[i]) ** 2;
  const rootX = sqrtPsd(x.cov);
  const inner = matmul(matmul(rootX, y.cov), rootX);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const s = (inner[i][j] + inner[j][i]) / 2;
      inner[i][j] = s;
      inner[j][i] = s;
    }
  }
  const { values } = symmetricEigen(inner);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(0, v));
  let tr = 0;
  for (let i = 0; i < d; i++) tr += x.cov[i][i] + y.cov[i][i];
  return diff + tr - 2 * trSqrt;
}

/** Two-sided exact McNemar p-value from the discordant counts b and c (binomial, p = 1/2). */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let tail = 0;
  let term = Math.pow(0.5, n); // C(n, 0) / 2^n
  for (let i = 0; i <= k; i++) {
    tail += term;
    term = (term * (n - i)) / (i + 1);
  }
  return Math.min(1, 2 * tail);
}

/** Mean of paired differences with a normal-approximation 95 % interval. */
export function pairedDifference(diffs: number[]): { mean: number; ci95: [number, number]; n: number } {
  const n = diffs.length;
  const m = mean(diffs);
  const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - m) ** 2, 0) / Math.max(1, n - 1));
  const half = (1.96 * sd) / Math.sqrt(Math.max(1, n));
  return { mean: m, ci95: [m - half, m + half], n };
}
