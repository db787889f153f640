/** What one benchmark run measured: filled in by the phases, rendered into BENCHMARKS.md by render.ts. */
import type { Pipeline } from '../../../server/generator/face-service';
import type { BatchingResult } from './batching-model';
import type { RssRun } from './memory-model';
import { log } from './options';
import type { Stats } from './stats';

export const report = {
  facts: {} as Record<string, string>,
  floor: new Map<string, { inference: Stats; resize: Stats; stamp: Stats; encode: Stats; total: Stats; bytes: number }>(),
  http: new Map<string, { s: Stats; bytes: number }>(),
  throughput: [] as Array<{ res: number; c: number; rps: number; p50: number; p975: number; non2xx: number; errors: number; total: number }>,
  overhead: new Map<string, Stats>(),
  redisOverhead: undefined as Map<string, Stats> | undefined,
  runtime: [] as Array<{ runtime: string; readyMs: number; p50: number }>,
  overload: undefined as
    | undefined
    | { ok: number; unavailable: number; other: number; errors: number; timeouts: number; retryAfterSeen: number; consumed: number; healthy: boolean; p50: number; p975: number; daily: number },
  rss: [] as RssRun[],
  batching: undefined as BatchingResult | undefined,
  knobs: {
    ort: [] as Array<{ threads: number; opt: string; seq: number; par: number }>,
    sharpConcurrency: [] as Array<{ n: number; ms: number }>,
    sharpen: [] as Array<{ name: string; ms: number }>,
    jpeg: [] as Array<{ name: string; ms: number; bytes: number }>,
    webp: [] as Array<{ effort: number; ms: number; bytes: number }>,
    legacy: undefined as undefined | { ms: number; bytes: number },
  },
  pipelines: undefined as
    | undefined
    | { note?: string; rows: Array<{ pipeline: Pipeline; version: string; res: number; networks: Stats; imaging: Stats; floor: Stats; http: Stats; idle: Stats; bytes: number }> },
  phases: [] as Array<[string, number]>,
};

/** Runs one phase, logging it and recording its duration. */
export async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  log(`${name}...`);
  const r = await fn();
  report.phases.push([name, (performance.now() - t0) / 1000]);
  return r;
}
