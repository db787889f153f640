/**
 * npm run scan-seeds -- [--model DIR] [--baseline-model DIR | --baseline-scan FILE] [--seeds N] [--seed N] [--broken-at K] [--out DIR]
 *
 * How many seeds a generator cannot draw as a face (issue 25): N seeds, each rendered once per
 * API ethnicity with everything else as the seed draws it, through FaceService at the judge's
 * size; face-api's detector (judge() minus the other nets) counts the misses per seed. Writes
 * seed-scan.json and seed-scan.jpg (the faces of the seeds missed most) to --out (default: the model folder).
 * With --baseline-model the same faces are scanned on that model too and compared pair by pair;
 * --baseline-scan compares with an earlier seed-scan.json instead (same seeds, no re-rendering).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { DEFAULT_MODEL } from '../../server/config/config';
import { FaceService } from '../../server/generator/face-service';
import { resolveParams } from '../../server/params/resolve';
import { ETHNICITIES } from '../../server/params/schema';
import { text } from './contact-sheet';
import { JUDGE_RESOLUTION, Judge, forbidNetwork } from './judge';
import { compareScans, missesBySeed, seedFailures, type ScannedFace, type SeedFailures } from './seed-failures';
import { seedStream } from './seeds';

const REPO = path.resolve(__dirname, '..', '..');
const SEED_STREAM = 107;
const CELL = 96;
const LABEL = 110;
const HEAD = 40;
const SHEET_ROWS = 12;

function parseCli() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: path.join('models', DEFAULT_MODEL) },
      'baseline-model': { type: 'string' },
      'baseline-scan': { type: 'string' },
      seeds: { type: 'string', default: '100' },
      seed: { type: 'string', default: '1' },
      'broken-at': { type: 'string', default: String(Math.ceil(ETHNICITIES.length / 2)) },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(`usage: npm run scan-seeds -- [--model DIR (default models/${DEFAULT_MODEL})] [--baseline-model DIR | --baseline-scan seed-scan.json] [--seeds N (100)] [--seed N (1)] [--broken-at K (${Math.ceil(ETHNICITIES.length / 2)} of ${ETHNICITIES.length} faces missed)] [--out DIR]`);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, min: number, max = Infinity) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got ${v}`);
    return n;
  };
  const modelDir = path.resolve(REPO, values.model!);
  if (values['baseline-model'] && values['baseline-scan']) throw new Error('give --baseline-model or --baseline-scan, not both');
  return {
    modelDir,
    baselineDir: values['baseline-model'] ? path.resolve(REPO, values['baseline-model']) : undefined,
    baselineScan: values['baseline-scan'] ? path.resolve(REPO, values['baseline-scan']) : undefined,
    seeds: int('seeds', values.seeds, 1),
    baseSeed: int('seed', values.seed, 0),
    brokenAt: int('broken-at', values['broken-at'], 1, ETHNICITIES.length),
    outDir: path.resolve(REPO, values.out ?? modelDir),
  };
}

async function scan(modelDir: string, seeds: number[], judge: Judge): Promise<{ version: string; faces: ScannedFace[] }> {
  const faces = await FaceService.load(modelDir);
  const out: ScannedFace[] = [];
  const t0 = performance.now();
  for (const [i, seed] of seeds.entries()) {
    for (const ethnicity of ETHNICITIES) {
      const params = resolveParams({ ethnicity, resolution: JUDGE_RESOLUTION, image_format: 'jpeg', stampless: 'yes' }, seed, faces.manifest.priors);
      const { gender, age, eyewear, mood, lighting, view_profile } = params;
      out.push({ seed, ethnicity, drawn: { gender, age, eyewear, mood, lighting, view_profile }, ...(await judge.detect(await faces.render(params))) });
    }
    if ((i + 1) % 10 === 0 || i + 1 === seeds.length) {
      process.stderr.write(`  ${faces.modelVersion}: ${i + 1}/${seeds.length} seeds, ${(out.length / ((performance.now() - t0) / 1000)).toFixed(1)} faces/s\n`);
    }
  }
  const version = faces.modelVersion;
  await faces.close();
  return { version, faces: out };
}

/** The seeds with the most misses, one row each, every ethnicity, the missed faces framed in red. */
async function writeSheet(modelDir: string, faces: ScannedFace[], file: string): Promise<number> {
  const rows = missesBySeed(faces).filter((s) => s.missed.length > 0).slice(0, SHEET_ROWS);
  const width = LABEL + ETHNICITIES.length * CELL;
  const height = HEAD + Math.max(1, rows.length) * CELL;
  const svg = [text(6, 17, rows.length ? `the ${rows.length} seeds with the most faces missed (framed in red), most first` : 'no face missed', 13, 'start')];
  ETHNICITIES.forEach((ethnicity, e) => svg.push(text(LABEL + e * CELL + CELL / 2, HEAD - 5, ethnicity.replace('_', ' '), 11)));
  const layers: Parameters<ReturnType<typeof sharp>['composite']>[0] = [];
  const service = await FaceService.load(modelDir);
  for (const [r, row] of rows.entries()) {
    const top = HEAD + r * CELL;
    svg.push(text(LABEL / 2, top + CELL / 2 - 4, `seed ${row.seed}`, 12));
    svg.push(text(LABEL / 2, top + CELL / 2 + 14, `${row.missed.length} of ${ETHNICITIES.length} missed`, 11));
    for (const [e, ethnicity] of ETHNICITIES.entries()) {
      const params = resolveParams({ ethnicity, resolution: CELL, image_format: 'jpeg', stampless: 'yes' }, row.seed, service.manifest.priors);
      layers.push({ input: await service.render(params), left: LABEL + e * CELL, top });
      if (row.missed.includes(ethnicity)) svg.push(`<rect x="${LABEL + e * CELL + 1}" y="${top + 1}" width="${CELL - 2}" height="${CELL - 2}" fill="none" stroke="#e33" stroke-width="2"/>`);
    }
  }
  await service.close();
  layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${svg.join('')}</svg>`), left: 0, top: 0 });
  const jpeg = await sharp({ create: { width, height, channels: 3, background: '#202124' } }).composite(layers).jpeg({ quality: 82, mozjpeg: true }).toBuffer();
  fs.writeFileSync(file, jpeg);
  return jpeg.length;
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

function describe(version: string, s: SeedFailures): string {
  return [
    `${version}: ${pct(s.detected_rate)} of ${s.faces} faces detected; broken seeds ${s.broken.length}/${s.seeds} (${pct(s.broken_rate)})`,
    `  seeds by faces missed (0..${s.misses_per_seed.length - 1}): ${s.misses_per_seed.join(' ')}`,
    `  by ethnicity: ${s.by_ethnicity.map((e) => `${e.ethnicity} ${pct(e.detected_rate)}`).join(', ')}`,
    ...Object.entries(s.by_drawn).map(([name, gs]) => `  by ${name}: ${gs.map((g) => `${g.group} ${pct(g.detected_rate)} of ${g.faces}`).join(', ')}`),
    ...(s.broken.length ? [`  broken: ${s.broken.map((b) => `${b.seed} (${b.missed.length})`).join(', ')}`] : []),
  ].join('\n');
}

/** An earlier scan's faces, if it drew the same seeds: a baseline without re-rendering its model. */
function readScan(file: string, baseSeed: number, seeds: number[]): { dir: string; version: string; faces: ScannedFace[] } {
  const old = JSON.parse(fs.readFileSync(file, 'utf8')) as { seed_stream?: { base: number; stream: number }; model: { dir: string; version: string; seeds: number }; faces?: ScannedFace[] };
  if (!old.faces) throw new Error(`${file} has no per-face results (written before scan-seeds kept them)`);
  if (old.seed_stream?.base !== baseSeed || old.seed_stream.stream !== SEED_STREAM || old.model.seeds < seeds.length) {
    throw new Error(`${file} scanned other seeds (stream ${JSON.stringify(old.seed_stream)}, ${old.model.seeds} seeds); rerun it or use --baseline-model`);
  }
  const wanted = new Set(seeds);
  return { dir: old.model.dir, version: old.model.version, faces: old.faces.filter((f) => wanted.has(f.seed)) };
}

async function main() {
  const t0 = performance.now();
  const opts = parseCli();
  forbidNetwork();
  const judge = await Judge.load();
  const next = seedStream(opts.baseSeed, SEED_STREAM);
  const seeds = Array.from({ length: opts.seeds }, next);

  const model = await scan(opts.modelDir, seeds, judge);
  const summary = seedFailures(model.faces, opts.brokenAt);
  const baseline = opts.baselineDir ? { dir: path.relative(REPO, opts.baselineDir), ...(await scan(opts.baselineDir, seeds, judge)) }
    : opts.baselineScan ? readScan(opts.baselineScan, opts.baseSeed, seeds) : undefined;
  const baselineSummary = baseline ? seedFailures(baseline.faces, opts.brokenAt) : undefined;

  fs.mkdirSync(opts.outDir, { recursive: true });
  const sheetBytes = await writeSheet(opts.modelDir, model.faces, path.join(opts.outDir, 'seed-scan.jpg'));
  const result = {
    command: `npm run scan-seeds -- ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    runtime_s: Math.round((performance.now() - t0) / 1000),
    judge: { detector: 'face-api ssdMobilenetv1', min_confidence: judge.minConfidence, pad_fraction: judge.padFraction, resolution: JUDGE_RESOLUTION },
    seed_stream: { base: opts.baseSeed, stream: SEED_STREAM },
    model: { dir: path.relative(REPO, opts.modelDir), version: model.version, ...summary },
    ...(baseline && baselineSummary
      ? { baseline: { dir: baseline.dir, version: baseline.version, ...baselineSummary }, paired: compareScans(model.faces, baseline.faces) }
      : {}),
    sheet: { file: 'seed-scan.jpg', bytes: sheetBytes },
    faces: model.faces,
  };
  fs.writeFileSync(path.join(opts.outDir, 'seed-scan.json'), JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v), 1) + '\n');

  console.log(describe(model.version, summary));
  if (baseline && baselineSummary) {
    console.log(describe(baseline.version, baselineSummary));
    const p = result.paired!;
    console.log(`paired over ${p.pairs} faces: only ${model.version} found ${p.only_a_detected}, only ${baseline.version} found ${p.only_b_detected} (McNemar exact p = ${p.p.toFixed(3)})`);
  }
  console.log(`wrote ${path.relative(REPO, path.join(opts.outDir, 'seed-scan.json'))} and seed-scan.jpg in ${result.runtime_s} s`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
