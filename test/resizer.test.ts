import { Resizer, USM } from '../server/imaging/resizer';
import { lanczosMatrix, blurredMatrix } from '../server/imaging/resample-weights';

/** Packed RGB of side n from a per-pixel function. */
function image(n: number, f: (x: number, y: number, c: number) => number): Buffer {
  const b = Buffer.alloc(n * n * 3);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let c = 0; c < 3; c++) b[(y * n + x) * 3 + c] = f(x, y, c);
  return b;
}

/** Plain separable resize with the same matrix, in doubles: what the graph must compute without sharpening. */
function reference(src: Buffer, n: number, dst: number): Uint8Array {
  const r = lanczosMatrix(n, dst);
  const out = new Uint8Array(dst * dst * 3);
  for (let y = 0; y < dst; y++) {
    for (let x = 0; x < dst; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let j = 0; j < n; j++) {
          const wy = r[y * n + j];
          if (wy === 0) continue;
          for (let i = 0; i < n; i++) v += wy * r[x * n + i] * src[(j * n + i) * 3 + c];
        }
        out[(y * dst + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return out;
}

describe('resample matrices', () => {
  it('give rows that sum to one, enlarging and shrinking', () => {
    for (const [src, dst] of [[64, 256], [128, 200], [128, 64], [256, 129]]) {
      const m = lanczosMatrix(src, dst);
      for (let o = 0; o < dst; o++) {
        let s = 0;
        for (let j = 0; j < src; j++) s += m[o * src + j];
        expect(s).toBeCloseTo(1, 5);
      }
    }
  });

  it('are the identity at the same size', () => {
    const m = lanczosMatrix(16, 16);
    for (let o = 0; o < 16; o++) for (let j = 0; j < 16; j++) expect(m[o * 16 + j]).toBeCloseTo(o === j ? 1 : 0, 6);
  });

  it('blur a resize without moving it: a blurred row still sums to one and peaks where the plain one does', () => {
    const r = lanczosMatrix(64, 256);
    const b = blurredMatrix(r, 64, 256, 1);
    const row = 130;
    let s = 0;
    let peak = 0;
    for (let j = 0; j < 64; j++) {
      s += b[row * 64 + j];
      if (b[row * 64 + j] > b[row * 64 + peak]) peak = j;
    }
    expect(s).toBeCloseTo(1, 5);
    let plainPeak = 0;
    for (let j = 0; j < 64; j++) if (r[row * 64 + j] > r[row * 64 + plainPeak]) plainPeak = j;
    expect(peak).toBe(plainPeak);
  });
});

describe('Resizer (onnxruntime graph)', () => {
  let resizer: Resizer;
  beforeAll(async () => {
    resizer = await Resizer.create(2);
  });
  afterAll(() => resizer.close());

  it('shrinks exactly as the separable Lanczos-3 reference does, rows and columns the right way round', async () => {
    // Different patterns along x and y and per channel catch a swapped or transposed pass.
    const src = image(48, (x, y, c) => (c === 0 ? x * 5 : c === 1 ? y * 5 : (x * 7 + y * 3) % 256));
    const out = await resizer.resize({ data: src, size: 48 }, 20);
    const ref = reference(src, 48, 20);
    expect(out.length).toBe(20 * 20 * 3);
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - ref[i]));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('keeps a flat image flat when enlarging (the unsharp mask adds nothing without detail)', async () => {
    const out = await resizer.resize({ data: image(64, (_x, _y, c) => [200, 120, 40][c]), size: 64 }, 300);
    expect(out.length).toBe(300 * 300 * 3);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBe([200, 120, 40][i % 3]);
  });

  it('sharpens an enlarged edge beyond plain Lanczos, within the unsharp caps', async () => {
    const edge = image(64, (x) => (x < 32 ? 60 : 180));
    const n = 256;
    const out = await resizer.resize({ data: edge, size: 64 }, n);
    const plain = reference(edge, 64, n);
    const row = 100 * n * 3;
    let outMax = 0;
    let outMin = 255;
    let plainMax = 0;
    let plainMin = 255;
    for (let x = 0; x < n; x++) {
      outMax = Math.max(outMax, out[row + x * 3]);
      outMin = Math.min(outMin, out[row + x * 3]);
      plainMax = Math.max(plainMax, plain[row + x * 3]);
      plainMin = Math.min(plainMin, plain[row + x * 3]);
    }
    expect(outMax).toBeGreaterThan(plainMax);
    expect(outMin).toBeLessThan(plainMin);
    expect(outMax).toBeLessThanOrEqual(plainMax + USM.y2 + 1);
    expect(outMin).toBeGreaterThanOrEqual(plainMin - USM.y3 - 1);
    // Far from the edge nothing changes.
    expect(out[row]).toBe(60);
    expect(out[row + (n - 1) * 3]).toBe(180);
  });

  it('returns the same bytes every time, and a copy at the native size', async () => {
    const src = image(64, (x, y, c) => (x * 31 + y * 17 + c * 101) % 256);
    const a = await resizer.resize({ data: src, size: 64 }, 512);
    const b = await resizer.resize({ data: src, size: 64 }, 512);
    expect(Buffer.compare(a, b)).toBe(0);
    const same = await resizer.resize({ data: src, size: 64 }, 64);
    expect(Buffer.compare(same, src)).toBe(0);
    expect(same).not.toBe(src);
  });
});
