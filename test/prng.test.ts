import { AGE_WEIGHTS } from '../server/params/age-distribution';
import { latentFromSeed, Prng } from '../server/generator/prng';

test('a seed always gives the same latent, and neighbouring seeds differ', () => {
  expect(latentFromSeed(42, 128)).toEqual(latentFromSeed(42, 128));
  expect(latentFromSeed(42, 128)).not.toEqual(latentFromSeed(43, 128));
});

test('seed 2^32 is not seed 0 in disguise', () => {
  expect(latentFromSeed(4294967296, 16)).not.toEqual(latentFromSeed(0, 16));
});

test('the latent stream and the attribute stream of one seed are independent', () => {
  const a = new Prng(7, 0);
  const b = new Prng(7, 1);
  expect(a.nextUint32()).not.toBe(b.nextUint32());
});

test('the documented generator is pinned: seed 1 gives these first outputs and latent', () => {
  // Changing these changes every seeded face, which is only allowed with a new model version.
  const rng = new Prng(1, 0);
  expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([2049801877, 2839965546, 823784599]);
  const z = Array.from(latentFromSeed(1, 3));
  [-0.643767, -1.421119, -0.881923].forEach((want, i) => expect(z[i]).toBeCloseTo(want, 5));
});

test('normals have mean 0 and variance 1', () => {
  const rng = new Prng(123, 0);
  const n = 200000;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const x = rng.normal();
    sum += x;
    sq += x * x;
  }
  expect(Math.abs(sum / n)).toBeLessThan(0.01);
  expect(Math.abs(sq / n - 1)).toBeLessThan(0.01);
});

test('categorical draws follow their weights (the age distribution)', () => {
  const rng = new Prng(5, 1);
  const counts = new Array(81).fill(0);
  const n = 200000;
  for (let i = 0; i < n; i++) counts[rng.categorical(AGE_WEIGHTS)]++;
  const total = AGE_WEIGHTS.reduce((a, b) => a + b, 0);
  const under20 = counts.slice(0, 20).reduce((a, b) => a + b, 0) / n;
  const want = AGE_WEIGHTS.slice(0, 20).reduce((a, b) => a + b, 0) / total;
  expect(Math.abs(under20 - want)).toBeLessThan(0.01);
  expect(counts[80]).toBeGreaterThan(0);
});
