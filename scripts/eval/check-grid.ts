/**
 * npm run check-grid -- [--model DIR] [--count N] [--seed N] [--baseline FILE] [--baseline-model DIR] [--out FILE]
 *
 * The quick look at a training state (issue 25): only the evaluation's grid (gender x ethnicity
 * x ages 10-70, the faces of age MAE, gender, 20<->70 and different seeds), rendered and judged
 * exactly as `npm run evaluate` does, in a few minutes instead of its ten. With --baseline (an
 * eval.json or an earlier --out file) the age errors are compared face by face on the same seeds;
 * with --baseline-model the grid is also rendered on that model and judged, which adds the
 * same-person verdicts seed by seed (20<->50, 20<->70) that eval.json does not keep.
 * It does not replace the evaluation: shipping still needs EVAL.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL } from '../../server/config/config';
import { FaceService } from '../../server/generator/face-service';
import { canonicalQuery } from '../../server/params/resolve';
import { ETHNICITIES } from '../../server/params/schema';
import { gridItems } from './grid';
import { Judge, forbidNetwork, type Judgement } from './judge';
import { judgeAll } from './judge-all';
import { GRID_AGES, gridMetrics, identityMetrics } from './metrics';
import { faceRecords, pairedAgeIdentity, pairedGridAges, type FaceRecord } from './paired-grid';

const REPO = path.resolve(__dirname, '..', '..');

function parseCli() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: path.join('models', DEFAULT_MODEL) },
      count: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
      baseline: { type: 'string' },
      'baseline-model': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const count = Number(values.count);
  const baseSeed = Number(values.seed);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer, got ${values.count}`);
  if (!Number.isInteger(baseSeed) || baseSeed < 0) throw new Error(`--seed must be an integer >= 0, got ${values.seed}`);
  return {
    modelDir: path.resolve(REPO, values.model!),
    // Rounded up to whole chains per (gender, ethnicity), as evaluate.ts does: the same seeds.
    replicates: Math.ceil(count / (2 * ETHNICITIES.length * GRID_AGES.length)),
    baseSeed,
    baseline: values.baseline ? path.resolve(REPO, values.baseline) : undefined,
    baselineModel: values['baseline-model'] ? path.resolve(REPO, values['baseline-model']) : undefined,
    out: values.out ? path.resolve(REPO, values.out) : undefined,
  };
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;

async function main() {
  const opts = parseCli();
  forbidNetwork();
  const faces = await FaceService.load(opts.modelDir);
  const judge = await Judge.load();
  const items = gridItems(opts.baseSeed, opts.replicates, faces.manifest.priors);
  console.error(`model ${faces.modelVersion} from ${path.relative(REPO, opts.modelDir)}: judging ${items.length} grid faces`);
  const js = await judgeAll('grid', items, (it) => faces.render(it.params), judge);
  await faces.close();
  let baseline: { version: string; records: FaceRecord[]; judgements?: Judgement[] } | undefined;
  if (opts.baselineModel) {
    const other = await FaceService.load(opts.baselineModel);
    // Same seeds and requests; the priors are the served contract, so both models draw the same attributes.
    const theirs = gridItems(opts.baseSeed, opts.replicates, other.manifest.priors);
    if (items.some((it, i) => canonicalQuery(it.params) !== canonicalQuery(theirs[i].params))) {
      throw new Error('the baseline model draws other attributes for these seeds (different priors): its faces would not pair');
    }
    const judgements = await judgeAll('baseline grid', items, (it) => other.render(it.params), judge);
    baseline = { version: other.modelVersion, records: faceRecords(items, judgements), judgements };
    await other.close();
  } else if (opts.baseline) {
    const file = JSON.parse(fs.readFileSync(opts.baseline, 'utf8')) as { model?: { version?: string }; faces: FaceRecord[] };
    baseline = { version: file.model?.version ?? 'unknown', records: file.faces };
  }

  const grid = gridMetrics(items, js);
  const identity = identityMetrics(items, js);
  console.log(`${faces.modelVersion}: detected ${pct(grid.detected_rate)}, gender ${pct(grid.gender_agreement)}, age MAE ${grid.age_mae.toFixed(2)} (bias ${signed(grid.age_bias)})`);
  console.log(`  age bias by asked age: ${GRID_AGES.map((a) => `${a}: ${signed(grid.by_age[a].age_bias)}`).join(', ')}`);
  console.log(`  same seed, neighbouring ages ${pct(identity.same_seed_neighbouring_rate)}, 20-50 ${pct(identity.pairs['20-50'].same_rate)}, 20-70 ${pct(identity.pairs['20-70'].same_rate)}; different seeds ${pct(identity.different_seeds_rate)} (same gender and ethnicity ${pct(identity.different_seeds_same_gender_ethnicity_rate)})`);

  const records = faceRecords(items, js);
  if (baseline) {
    const p = pairedGridAges(baseline.records, records);
    const ci = (d: { mean: number; ci95: [number, number] }) => `${signed(d.mean)} y (95 % ${d.ci95.map((v) => v.toFixed(1)).join(' to ')})`;
    console.log(`against ${baseline.version}, ${p.both_detected} of ${p.matched} faces detected by both: age MAE ${p.age_mae_base.toFixed(2)} -> ${p.age_mae_now.toFixed(2)}, per face ${ci(p.per_face)}, per seed ${ci(p.per_seed)}`);
    console.log(`  bias by asked age, baseline -> now: ${Object.entries(p.by_age).map(([a, b]) => `${a}: ${signed(b.bias_base)} -> ${signed(b.bias_now)}`).join(', ')}`);
    if (baseline.judgements) {
      for (const [a1, a2] of [[20, 50], [20, 70]]) {
        const r = pairedAgeIdentity(items, baseline.judgements, js, a1, a2);
        console.log(`  same seed ${a1}<->${a2} one person: baseline ${r.same_base}, now ${r.same_now} of ${r.seeds} seeds; only baseline ${r.only_base}, only now ${r.only_now} (McNemar p ${r.p.toFixed(2)})`);
      }
    }
  }
  if (opts.out) {
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, JSON.stringify({ model: { dir: path.relative(REPO, opts.modelDir), version: faces.modelVersion }, grid, identity, faces: records }, null, 1) + '\n');
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
