/**
 * npm run evaluate -- [--model DIR] [--count N] [--probe-seeds N] [--real N] [--utkface DIR] [--celebahq DIR] [--seed N] [--out DIR] [--baseline FILE]
 *
 * Proof of quality for a generator in models/: renders faces through FaceService (the code path
 * the API serves), has an independent judge (face-api, WASM, offline) score them, and writes
 * EVAL.md, eval.json, the samples.jpg contact sheet and (with a learned upscaler)
 * upscaler-crops.jpg next to the model.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { DEFAULT_MODEL } from '../../server/config/config';
import { FaceService } from '../../server/generator/face-service';
import { Prng } from '../../server/generator/prng';
import { ETHNICITIES, type GenerateParams } from '../../server/params/schema';
import { writeContactSheet, SWEEPS } from './contact-sheet';
import { criteriaTable } from './criteria';
import { distinctEthnicities, type EthnicityFace } from './distinct-ethnicities';
import { writeCropSheet } from './crop-sheet';
import { ethnicityClassifierStatus } from './ethnicity';
import { gridItems, judgedParams } from './grid';
import { JUDGE_RESOLUTION, Judge, SAME_PERSON_DISTANCE, forbidNetwork, type Judgement } from './judge';
import { judgeAll } from './judge-all';
import { faceRecords } from './paired-grid';
import {
  ATTRIBUTE_SWEEPS, CHILD_AGES, GRID_AGES, PROBE_AGE, PROBE_MOODS, PROBE_TONES, PROBE_YAWS,
  attributeIdentityMetrics, childrenMetrics, gridMetrics, identityMetrics, probeMetrics, realMetrics,
  type Gender, type GenItem, type RealItem, type SweptAttribute,
} from './metrics';
import { moodAccuracy } from './mood';
import { comparePipelines } from './pipelines';
import { renderReport, type EvalResult } from './report';
import { seedStream } from './seeds';
import { frechetDistance } from './stats';

const REPO = path.resolve(__dirname, '..', '..');

const USAGE = `usage: npm run evaluate -- [options]
  --model DIR        model folder with manifest.json (default models/${DEFAULT_MODEL}, the served one)
  --count N          generated faces in the gender x ethnicity x age grid, rounded up to a
                     multiple of ${2 * ETHNICITIES.length * GRID_AGES.length} (default 200 -> 210)
  --probe-seeds N    seeds per attribute probe: mood, yaw, skin tone (default 8)
  --real N           real photos per Fréchet sample; two disjoint samples are drawn (default 150)
  --utkface DIR      UTKFace folder (images/, labels.csv) (default ../shared/datasets/utkface)
  --celebahq DIR     CelebA-HQ folder (images/, labels.csv) (default ../shared/datasets/celebahq)
  --seed N           base seed for the seeds and the photo samples (default 1)
  --out DIR          where EVAL.md, eval.json and samples.jpg go (default: the model folder)
  --baseline FILE    an earlier eval.json (e.g. models/facestudio-v1/eval.json): its figures
                     become a column of the criteria table`;

function parseCli() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: path.join('models', DEFAULT_MODEL) },
      count: { type: 'string', default: '200' },
      'probe-seeds': { type: 'string', default: '8' },
      real: { type: 'string', default: '150' },
      utkface: { type: 'string', default: '../shared/datasets/utkface' },
      celebahq: { type: 'string', default: '../shared/datasets/celebahq' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
    return n;
  };
  const cell = 2 * ETHNICITIES.length * GRID_AGES.length;
  const count = int('count', values.count, 1);
  const replicates = Math.ceil(count / cell);
  const modelDir = path.resolve(REPO, values.model!);
  return {
    modelDir,
    outDir: path.resolve(REPO, values.out ?? modelDir),
    replicates,
    gridSize: replicates * cell,
    probeSeeds: int('probe-seeds', values['probe-seeds'], 2),
    realPerSample: int('real', values.real, 10),
    utkface: path.resolve(REPO, values.utkface!),
    celebahq: path.resolve(REPO, values.celebahq!),
    baseSeed: int('seed', values.seed, 0),
    baseline: values.baseline ? path.resolve(REPO, values.baseline) : undefined,
  };
}

function buildItems(opts: ReturnType<typeof parseCli>, priors: FaceService['manifest']['priors']): GenItem[] {
  const items = gridItems(opts.baseSeed, opts.replicates, priors);
  const mk = (params: GenerateParams, seed: number) => judgedParams(params, seed, priors);
  // Probes vary one attribute over a fixed person; everything else is what the seed picks.
  const probeSeed = seedStream(opts.baseSeed, 101);
  for (let i = 0; i < opts.probeSeeds; i++) {
    const seed = probeSeed();
    const base: GenerateParams = { gender: i % 2 ? 'female' : 'male', ethnicity: ETHNICITIES[i % ETHNICITIES.length], age: PROBE_AGE };
    for (const mood of PROBE_MOODS) items.push({ set: 'mood', probe: i, params: mk({ ...base, mood }, seed) });
    for (const view_profile of PROBE_YAWS) items.push({ set: 'yaw', probe: i, params: mk({ ...base, view_profile }, seed) });
    for (const skintone of PROBE_TONES) items.push({ set: 'skintone', probe: i, params: mk({ ...base, skintone }, seed) });
    for (const [attribute, values] of Object.entries(ATTRIBUTE_SWEEPS) as Array<[SweptAttribute, readonly (string | number)[]]>) {
      for (const v of values) items.push({ set: 'attribute', attribute, probe: i, params: mk({ ...base, [attribute]: v }, seed) });
    }
  }
  // Children 3-12 (issue 15): twice as many seeds as a probe, every child age on each seed.
  const childSeed = seedStream(opts.baseSeed, 105);
  for (let i = 0; i < 2 * opts.probeSeeds; i++) {
    const seed = childSeed();
    const base: GenerateParams = { gender: i % 2 ? 'female' : 'male', ethnicity: ETHNICITIES[i % ETHNICITIES.length] };
    for (const age of CHILD_AGES) items.push({ set: 'children', probe: i, params: mk({ ...base, age }, seed) });
  }
  return items;
}

/** One seed, each API ethnicity and nothing else asked, decoded: the faces of issue 25's distinctness check. */
async function ethnicityFaces(faces: FaceService, opts: ReturnType<typeof parseCli>): Promise<EthnicityFace[]> {
  const out: EthnicityFace[] = [];
  const seedOf = seedStream(opts.baseSeed, 106);
  for (let i = 0; i < opts.probeSeeds; i++) {
    const seed = seedOf();
    for (const ethnicity of ETHNICITIES) {
      const params = judgedParams({ ethnicity }, seed, faces.manifest.priors);
      out.push({ seed, ethnicity, pixels: await sharp(await faces.render(params)).removeAlpha().raw().toBuffer() });
    }
  }
  return out;
}

function readCsv(file: string): Record<string, string>[] {
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const cols = head.split(',');
  return lines.map((l) => {
    const v = l.split(',');
    return Object.fromEntries(cols.map((c, i) => [c, v[i]]));
  });
}

function shuffled<T>(xs: T[], rng: Prng): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Two disjoint samples of real photos, each half UTKFace (ages 0-80, the API's range) and half CelebA-HQ. */
function sampleReal(opts: ReturnType<typeof parseCli>): RealItem[] {
  const rng = new Prng(opts.baseSeed, 102);
  const nUtk = Math.ceil(opts.realPerSample / 2);
  const nCeleb = opts.realPerSample - nUtk;
  const utk = shuffled(readCsv(path.join(opts.utkface, 'labels.csv')).filter((r) => Number(r.age) <= 80), rng);
  const celeb = shuffled(readCsv(path.join(opts.celebahq, 'labels.csv')), rng);
  if (utk.length < 2 * nUtk || celeb.length < 2 * nCeleb) throw new Error('not enough real photos for two disjoint samples; lower --real');
  const out: RealItem[] = [];
  for (const half of [0, 1] as const) {
    for (const r of utk.slice(half * nUtk, (half + 1) * nUtk)) {
      out.push({ source: 'utkface', file: path.join(opts.utkface, 'images', r.file), half, gender: r.gender as Gender, age: Number(r.age) });
    }
    for (const r of celeb.slice(half * nCeleb, (half + 1) * nCeleb)) {
      out.push({ source: 'celebahq', file: path.join(opts.celebahq, 'images', r.file), half, gender: r.Male === '1' ? 'male' : 'female' });
    }
  }
  return out;
}

async function main() {
  const t0 = performance.now();
  const argv = process.argv.slice(2);
  const opts = parseCli();
  forbidNetwork();

  // The default pipeline is what the API serves (learned when the model has an upscaler); the
  // Lanczos service is the other side of issue 16's comparison.
  const faces = await FaceService.load(opts.modelDir);
  const lanczos = faces.pipeline === 'lanczos' ? faces : await FaceService.load(opts.modelDir, { upscaler: false });
  const services = faces === lanczos ? [faces] : [lanczos, faces];
  const judge = await Judge.load();
  const m = faces.manifest;
  console.error(`model ${faces.modelVersion} (${m.resolution} px native, ${faces.pipeline} pipeline) from ${path.relative(REPO, opts.modelDir)}; judge backend ${judge.backend}`);

  const items = buildItems(opts, m.priors);
  const real = sampleReal(opts);
  console.error(`judging ${items.length} generated faces (${opts.gridSize} in the grid) and ${real.length} real photos`);

  const genJ = await judgeAll('generated', items, (it) => faces.render(it.params), judge);
  const realJ = await judgeAll('real', real, (r) => fs.promises.readFile(r.file), judge);

  const gridIdx = items.map((_, i) => i).filter((i) => items[i].set === 'grid');
  const realA = real.map((_, i) => i).filter((i) => real[i].half === 0);
  const realB = real.map((_, i) => i).filter((i) => real[i].half === 1);
  const desc = (xs: Judgement[], idx: number[]) => idx.map((i) => xs[i].descriptor);
  // The estimate's small-sample bias depends on the set sizes, so the generated side gets as
  // many faces as a real sample: then the real-vs-real floor is a like-for-like comparison.
  const genSample = shuffled(gridIdx, new Prng(opts.baseSeed, 104)).slice(0, realA.length);
  const frechet = {
    generated_vs_real: frechetDistance(desc(genJ, genSample), desc(realJ, realA)),
    real_vs_real: frechetDistance(desc(realJ, realB), desc(realJ, realA)),
    n_generated: genSample.length,
    n_real_per_sample: realA.length,
  };

  const grid = gridMetrics(items, genJ);
  const identity = identityMetrics(items, genJ);
  const probes = probeMetrics(items, genJ, opts.probeSeeds);
  const attributeIdentity = attributeIdentityMetrics(items, genJ);
  const children = childrenMetrics(items, genJ);
  const mood = moodAccuracy(items.map((it, i) => ({ it, j: genJ[i] })).filter((x) => x.it.set === 'mood').map((x) => ({ requested: x.it.params.mood as (typeof PROBE_MOODS)[number], expressions: x.j.expressions })));
  const realRef = realMetrics(real, realJ);

  // Issue 16: both pipelines at 256 and 512 px on the grid's faces (the 256 px default-pipeline
  // judgements are the grid's own). Grid items come first in `items`, so genSample indexes both.
  const gridItems = gridIdx.map((i) => items[i]);
  if (gridIdx.some((i, k) => i !== k)) throw new Error('grid items must come first');
  const pipelines = await comparePipelines({
    services,
    grid: gridItems,
    genSample,
    realA: realA.map((i) => real[i]),
    realDescriptors: desc(realJ, realA),
    judge,
    reuse: { resolution: JUDGE_RESOLUTION, pipeline: faces.pipeline, judgements: gridIdx.map((i) => genJ[i]) },
  });

  fs.mkdirSync(opts.outDir, { recursive: true });
  const sheetSeed = seedStream(opts.baseSeed, 103);
  const agingSeeds = ETHNICITIES.map(() => sheetSeed());
  const sweepSeeds = SWEEPS.map(() => sheetSeed());
  const sheet = await writeContactSheet(faces, { aging: (e) => agingSeeds[e], sweep: (s) => sweepSeeds[s] }, path.join(opts.outDir, 'samples.jpg'));
  // Crop sheet: the first six grid people at age 35, both pipelines, same seeds.
  const crops = faces === lanczos
    ? undefined
    : await writeCropSheet(lanczos, faces, gridItems.filter((it) => it.params.age === 35).slice(0, 6).map((it) => it.params), path.join(opts.outDir, 'upscaler-crops.jpg'));
  const ethnicitiesDistinct = distinctEthnicities(await ethnicityFaces(faces, opts));
  await Promise.all(services.map((f) => f.close()));

  const result: EvalResult = {
    model: { dir: path.relative(REPO, opts.modelDir), name: m.name, version: faces.modelVersion, native_resolution: m.resolution, pipeline: faces.pipeline, upscaler: m.upscaler ? { version: m.upscaler.version, scale: m.upscaler.scale, training: m.upscaler.training } : null },
    judge: { package: `@vladmandic/face-api ${faceApiVersion()}`, backend: judge.backend, min_confidence: judge.minConfidence, pad_fraction: judge.padFraction, same_person_distance: SAME_PERSON_DISTANCE },
    command: `npm run evaluate${argv.length ? ' -- ' + argv.join(' ') : ''}`,
    date: new Date().toISOString(),
    runtime_s: (performance.now() - t0) / 1000,
    options: { grid_size: opts.gridSize, grid_ages: GRID_AGES, probe_seeds: opts.probeSeeds, probe_age: PROBE_AGE, real_per_sample: opts.realPerSample, judge_resolution: JUDGE_RESOLUTION, probe_faces: items.filter((it) => it.set !== 'grid' && it.set !== 'children').length, base_seed: opts.baseSeed, utkface: opts.utkface, celebahq: opts.celebahq },
    criteria: [],
    grid,
    identity,
    attribute_identity: attributeIdentity,
    children,
    mood,
    ethnicities_distinct: ethnicitiesDistinct,
    ...probes,
    frechet,
    pipelines: { resolutions: [...new Set(pipelines.rows.map((r) => r.resolution))], rows: pipelines.rows, real128_sharpness: pipelines.real128_sharpness },
    ethnicity_classifier: ethnicityClassifierStatus(path.join(REPO, 'models', 'eval')),
    real_reference: realRef,
    contact_sheet: { file: 'samples.jpg', bytes: sheet.bytes, faces: sheet.faces },
    crop_sheet: crops ? { file: 'upscaler-crops.jpg', bytes: crops.bytes, seeds: crops.seeds } : null,
  };
  const baseline = opts.baseline ? { file: path.relative(REPO, opts.baseline), data: JSON.parse(fs.readFileSync(opts.baseline, 'utf8')) as { model?: { version?: string } } } : undefined;
  // Criteria are read from the result as eval.json will hold it, exactly as from the baseline file.
  result.criteria = criteriaTable(JSON.parse(JSON.stringify(result)), baseline?.data);
  if (baseline) result.baseline = { file: baseline.file, version: baseline.data.model?.version ?? 'unknown' };

  fs.writeFileSync(path.join(opts.outDir, 'eval.json'), JSON.stringify({ ...result, faces: faceRecords(items, genJ) }, roundNumbers, 1) + '\n');
  fs.writeFileSync(path.join(opts.outDir, 'EVAL.md'), renderReport(result));

  for (const r of result.criteria) console.log(`${r.pass ? 'PASS' : 'FAIL'}  ${r.metric}: ${fmt(r.value, r.percent)} (needs ${r.higherIsBetter ? '>=' : '<='} ${fmt(r.threshold, r.percent)})`);
  console.log(`Fréchet descriptor distance: generated ${result.frechet.generated_vs_real.toFixed(3)}, real-vs-real floor ${result.frechet.real_vs_real.toFixed(3)}`);
  for (const r of pipelines.rows) console.log(`${r.pipeline} ${r.resolution} px: detected ${fmt(r.detected_rate, true)}, gender ${fmt(r.gender_agreement, true)}, age MAE ${fmt(r.age_mae, false)} (paired ${fmt(r.age_mae_paired, false)} over ${r.n_paired}), Fréchet ${r.frechet.toFixed(3)}, sharpness ${r.sharpness.toFixed(1)} (real via this pipeline ${r.real_sharpness.toFixed(1)})`);
  console.log(`wrote ${['EVAL.md', 'eval.json', 'samples.jpg', ...(crops ? ['upscaler-crops.jpg'] : [])].map((f) => path.relative(REPO, path.join(opts.outDir, f))).join(', ')} in ${result.runtime_s.toFixed(0)} s`);
}

function fmt(v: number, percent: boolean): string {
  if (!Number.isFinite(v)) return 'n/a';
  return percent ? `${(v * 100).toFixed(1)}%` : v.toFixed(2);
}

function faceApiVersion(): string {
  return (JSON.parse(fs.readFileSync(require.resolve('@vladmandic/face-api/package.json'), 'utf8')) as { version: string }).version;
}

/** Three decimals are plenty for the raw numbers and keep eval.json diff-friendly. */
function roundNumbers(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
