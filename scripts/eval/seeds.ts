import { Prng } from '../../server/generator/prng';
import { SEED_MAX } from '../../server/params/schema';

/**
 * Seeds spread over the API's whole seed range, reproducible from a base seed. Each use draws
 * from its own stream, so no two sets of faces share a person: evaluate.ts uses 100-106, the
 * seed scan 107.
 */
export function seedStream(base: number, stream: number): () => number {
  const rng = new Prng(base, stream);
  return () => 1 + (rng.nextUint32() % (SEED_MAX - 1));
}
