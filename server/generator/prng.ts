/**
 * The documented deterministic PRNG behind every seed.
 *
 * xoshiro128** (Blackman & Vigna) with its 128-bit state filled by splitmix32 from
 * (seed low 32 bits, seed high bits, stream id). Stream 0 draws the latent z, stream 1
 * draws the attributes the caller left open; separate streams mean that naming one
 * attribute never shifts the latent or the other draws, so the person stays the same.
 * Normals use Box–Muller on two 32-bit uniforms in (0, 1).
 */
export const LATENT_STREAM = 0;
export const ATTRIBUTE_STREAM = 1;

function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

export class Prng {
  private s: Uint32Array;

  constructor(seed: number, stream: number) {
    let st = (seed >>> 0) ^ Math.imul(stream + 1, 0x632be5ab);
    // The high part matters only for seed 2^32 itself, which must differ from seed 0.
    st = (st + Math.floor(seed / 4294967296) * 0x27d4eb2f) | 0;
    this.s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(st);
      st = next;
      this.s[i] = out;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in the open interval (0, 1). */
  uniform(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  normal(): number {
    const u1 = this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Index drawn with the given (not necessarily normalised) weights. */
  categorical(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let u = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The latent vector of a seed: `dim` standard normals from the latent stream. */
export function latentFromSeed(seed: number, dim: number): Float32Array {
  const rng = new Prng(seed, LATENT_STREAM);
  const z = new Float32Array(dim);
  for (let i = 0; i < dim; i++) z[i] = rng.normal();
  return z;
}
