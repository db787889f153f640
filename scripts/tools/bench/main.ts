/**
 * Face Studio benchmark: `npm run bench` (options: --quick, --runtime dist|tsx, --out FILE,
 * --note TEXT, --pipelines-only, --batching-only).
 *
 * One run measures, and writes to BENCHMARKS.md (each phase is a module of this folder):
 *   - floor.ts, knobs.ts: onnxruntime + sharp in this process, no HTTP, split by stage
 *     (inference, resize + unsharp mask, stamp, encode), and the imaging knobs;
 *   - the real server (a child process, `node dist/server/main.js` as in production):
 *     latency.ts (generation latency p50/p95 per resolution x format), throughput.ts
 *     (requests/s at concurrency 1-8, autocannon), overhead.ts (cached seeded hits and the cost
 *     of HTTP + auth + validation + limits against a bare express hello-world), runtime.ts
 *     (dist vs tsx), overload.ts (a tiny queue under 16 connections);
 *   - batching.ts: the unbatched path (GENERATOR_BATCH=1) against batched generation, same run:
 *     throughput at 8 and 32 clients, p50/p99 at 1 and 8, RSS, and the batch sizes and waits tried;
 *   - memory.ts: RSS of a fresh server before and after 10,000 mixed requests;
 *   - pipelines.ts: both pipelines of a model with a learned upscaler (issue 16), learned and
 *     Lanczos (UPSCALER=off), 256 and 1024 px JPEG, in-process split and HTTP p50/p95, same seeds.
 * `--pipelines-only` and `--batching-only` run just that comparison and print it (BENCHMARKS.md
 * is left alone). The model is the server's: MODEL_DIR, default the served model (DEFAULT_MODEL).
 * Everything is sequential (one thing measured at a time) so phases do not disturb each other.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { openDb } from '../../../server/accounts/db';
import { SqliteAccountStore } from '../../../server/accounts/sqlite-store';
import { loadConfig } from '../../../server/config/config';
import { FaceService } from '../../../server/generator/face-service';
import { DEFAULT_BATCH_WAIT_MS, DEFAULT_MAX_BATCH } from '../../../server/generator/queue';
import { measureBatching, renderBatching } from './batching';
import { floorAndSplit } from './floor';
import { knobs } from './knobs';
import { generationLatency } from './latency';
import { machineFacts } from './machine';
import { rssPhase } from './memory';
import { BATCHING_ONLY, HIGH_LIMITS, log, OUT, PIPELINES_ONLY, QUICK, ROOT, RUNTIME, started } from './options';
import { overhead } from './overhead';
import { overloadPhase } from './overload';
import { pipelinesPhase, renderPipelines } from './pipelines';
import { BASELINE_JS, buildIfStale, cleanup, serverArgs, startProc } from './processes';
import { render } from './render';
import { phase, report } from './results';
import { measureRuntime } from './runtime';
import { throughput } from './throughput';

async function main() {
  machineFacts();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'facestudio-bench-'));
  const dbPath = path.join(tmp, 'bench.db');
  report.facts['Server runtime'] = RUNTIME === 'dist' ? `node dist/server/main.js (${buildIfStale()})` : 'node --import tsx server/main.ts';

  const store = new SqliteAccountStore(openDb(dbPath));
  const proUser = await store.createUser({ email: 'bench@example.test', username: 'bench', class: 'Professional', verified: true });
  const pro = (await store.createKey(proUser.id, 'bench')).key;
  const rssUser = await store.createUser({ email: 'bench-rss@example.test', username: 'benchrss', class: 'Professional', verified: true });
  const rssKey = (await store.createKey(rssUser.id, 'bench')).key;
  const overloadUser = await store.createUser({ email: 'bench-overload@example.test', username: 'benchoverload', class: 'Professional', verified: true });
  const overloadKey = (await store.createKey(overloadUser.id, 'bench')).key;
  await store.close();

  const { modelDir, upscaler } = loadConfig(process.env);
  if (BATCHING_ONLY) {
    await phase('batching: unbatched vs batched', () => measureBatching(pro, dbPath, tmp));
    const L: string[] = [];
    renderBatching(L);
    fs.rmSync(tmp, { recursive: true, force: true });
    process.stdout.write(L.join('\n'));
    return;
  }
  if (PIPELINES_ONLY) {
    await phase('pipelines: learned vs Lanczos', () => pipelinesPhase(modelDir, pro, dbPath, tmp));
    const L: string[] = [];
    renderPipelines(L);
    fs.rmSync(tmp, { recursive: true, force: true });
    process.stdout.write(L.join('\n'));
    return;
  }
  // In-process: the floor and the knobs (no server running yet).

  const faces = await FaceService.load(modelDir, { concurrency: 1, maxQueued: 1000, upscaler });
  report.facts.Model = `${faces.modelVersion} (native ${faces.manifest.resolution} px; default pipeline: ${faces.pipeline === 'learned' ? `learned x2 upscaler to ${faces.sourceSide} px, then Lanczos-3` : 'Lanczos-3'} to the requested size)`;
  await phase('in-process floor and stage split', () => floorAndSplit(faces));
  await phase('in-process knobs', () => knobs(faces, modelDir));
  await faces.close();

  const serverEnv = { DATABASE_PATH: dbPath, RATE_LIMITS: HIGH_LIMITS, LOG_LEVEL: 'info' };
  const baseline = await startProc('baseline', ['-e', BASELINE_JS], {}, path.join(tmp, 'baseline.log'), '/hello');
  const srv = await startProc('server', serverArgs(RUNTIME), serverEnv, path.join(tmp, 'server.log'), '/readyz');
  report.facts['Server config'] = `GENERATOR_CONCURRENCY=2 (default), GENERATOR_QUEUE=32 (default), GENERATOR_BATCH=${DEFAULT_MAX_BATCH} and GENERATOR_BATCH_WAIT_MS=${DEFAULT_BATCH_WAIT_MS} (defaults), CACHE_MAX_MB=64 (default), LOG_LEVEL=info to a file, in-memory limits (limits set high so that they count but never refuse)`;

  await phase('HTTP generation latency', () => generationLatency(srv, pro));
  await phase('HTTP throughput (autocannon)', () => throughput(srv, pro));
  await phase('HTTP overhead and cached hits', () => overhead(srv, baseline, pro, report.overhead, QUICK ? 2 : 5));

  // The same 400/304 paths with limits counted in Redis (two round trips per request).
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  const redisUp = await redis.connect().then(() => redis.ping()).then(() => true, () => false);
  if (redisUp) {
    await phase('HTTP overhead with Redis-backed limits', async () => {
      const rsrv = await startProc('redis server', serverArgs(RUNTIME), { ...serverEnv, REDIS_URL: redisUrl }, path.join(tmp, 'redis-server.log'), '/readyz');
      report.redisOverhead = new Map();
      await overhead(rsrv, baseline, pro, report.redisOverhead, QUICK ? 1 : 3, false);
      await rsrv.stop();
      // Only this run's counters (the bench user's); Anon rows are left out of this phase so
      // that the shared per-IP counters of other users of this Redis are never touched.
      const mine = await redis.keys(`facestudio:rl:*:user:${proUser.id}`);
      if (mine.length) await redis.del(...mine);
    });
  }
  redis.disconnect();

  await phase('runtime: dist vs tsx', () => measureRuntime(srv, pro, serverEnv, tmp));
  await srv.stop();
  await baseline.stop();

  await phase('pipelines: learned vs Lanczos', () => pipelinesPhase(modelDir, pro, dbPath, tmp));
  await phase('batching: unbatched vs batched', () => measureBatching(pro, dbPath, tmp));
  await phase('overload (tiny queue, 16 connections)', () => overloadPhase(overloadKey, dbPath, tmp));
  await phase('RSS over 10,000 requests (fresh servers)', () => rssPhase(rssKey, dbPath, tmp));

  report.facts['Load average at end (1/5/15 min)'] = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
  report.facts['Total benchmark time'] = `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const md = render() + keptSection(path.resolve(ROOT, OUT), '<!-- bench:c2pa start -->', '<!-- bench:c2pa end -->');
  fs.writeFileSync(path.resolve(ROOT, OUT), md);
  fs.rmSync(tmp, { recursive: true, force: true });
  log(`wrote ${OUT}`);
  process.stdout.write(md);
}

process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

main()
  .then(() => process.exit(0))
  .catch(async (err) => {
    console.error(err instanceof Error ? err.stack : err);
    await cleanup();
    process.exit(1);
  });

/** A section another benchmark (npm run bench:c2pa) owns between its markers: kept as it is. */
function keptSection(file: string, start: string, end: string): string {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const a = old.indexOf(start);
  const b = old.indexOf(end);
  return a >= 0 && b > a ? `\n${old.slice(a, b + end.length)}\n` : '';
}
