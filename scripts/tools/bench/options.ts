/** Command-line options of `npm run bench` and the constants every phase shares. */
import path from 'node:path';

const argv = process.argv.slice(2);
export const QUICK = argv.includes('--quick');
const optionValue = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
export const RUNTIME: 'dist' | 'tsx' = optionValue('--runtime') === 'tsx' ? 'tsx' : 'dist';
export const OUT = optionValue('--out') ?? 'BENCHMARKS.md';
/** A remark on the conditions of this run for BENCHMARKS.md (`--note TEXT`), e.g. what else ran. */
export const NOTE = optionValue('--note');
export const PIPELINES_ONLY = argv.includes('--pipelines-only');
/** Only the old-path-vs-batched comparison, printed (BENCHMARKS.md is left alone). */
export const BATCHING_ONLY = argv.includes('--batching-only');
/** Sizes and targets of issue 16's pipeline comparison (JPEG, HTTP p50). */
export const PIPELINE_TARGETS = [{ res: 256, ms: 20 }, { res: 1024, ms: 100 }] as const;
/** Requests a pipeline's server gets back to back before the other takes its turn. */
export const PIPELINE_RUN = 10;
/** Idle time before each request of the pipelines' "after idle" column. */
export const IDLE_MS = 50;
export const ROOT = path.resolve(__dirname, '..', '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []));
export const RESOLUTIONS = [128, 256, 512, 1024] as const;
export const FORMATS = ['jpeg', 'webp'] as const;
export type Format = (typeof FORMATS)[number];
export const HIGH_LIMITS = JSON.stringify(Object.fromEntries(['Anon', 'Basic', 'Professional', 'Enterprise'].map((c) => [c, { burst: 10_000_000, daily: 10_000_000 }])));

export const started = performance.now();
export const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)}s] ${msg}\n`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
