import type { FaceService } from '../../server/generator/face-service';
import { resolveParams } from '../../server/params/resolve';
import { ETHNICITIES, type GenerateParams, type ResolvedParams } from '../../server/params/schema';
import { JUDGE_RESOLUTION } from './judge';
import { GRID_AGES, type GenItem } from './metrics';
import { seedStream } from './seeds';

type Priors = FaceService['manifest']['priors'];

/** A request as the evaluation renders it: at the judge's size, JPEG, no stamp; the rest from the seed. */
export function judgedParams(params: GenerateParams, seed: number, priors: Priors): ResolvedParams {
  return resolveParams({ ...params, resolution: JUDGE_RESOLUTION, image_format: 'jpeg', stampless: 'yes' }, seed, priors);
}

/**
 * The evaluation grid: gender x ethnicity x `replicates` seeds, each seed (a chain, one person)
 * at every GRID_AGES age. Seeds come from stream 100 of baseSeed, so evaluate.ts and
 * check-grid.ts render the same faces and their judgements pair up.
 */
export function gridItems(baseSeed: number, replicates: number, priors: Priors): GenItem[] {
  const items: GenItem[] = [];
  const gridSeed = seedStream(baseSeed, 100);
  let chain = 0;
  for (const gender of ['male', 'female'] as const) {
    for (const ethnicity of ETHNICITIES) {
      for (let r = 0; r < replicates; r++, chain++) {
        const seed = gridSeed();
        for (const age of GRID_AGES) items.push({ set: 'grid', chain, params: judgedParams({ gender, ethnicity, age }, seed, priors) });
      }
    }
  }
  return items;
}
