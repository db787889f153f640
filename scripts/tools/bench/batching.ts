/**
 * Issue 26: generation one request at a time (GENERATOR_BATCH=1, the path before batching) against
 * batched generation (the defaults), on the same build in the same run. Measures what the
 * defaults were chosen from (network cost per face by batch size in-process; server settings at
 * 32 clients), then the two servers head to head, taking turns round by round so that changes
 * in machine load hit both alike: 256 px throughput at 8 and 32 clients, p50/p99 at 1 and 8,
 * and RSS.
 */
import http from 'node:http';
import path from 'node:path';
import autocannon from 'autocannon';
import { loadConfig } from '../../../server/config/config';
import { FaceService } from '../../../server/generator/face-service';
import { DEFAULT_BATCH_WAIT_MS, DEFAULT_MAX_BATCH } from '../../../server/generator/queue';
import { resolveParams } from '../../../server/params/resolve';
import type { BatchingResult, GenerationPath } from './batching-model';
import { httpGet, readMetrics } from './http-client';
import { rssRun } from './memory';
import { HIGH_LIMITS, log, QUICK, RUNTIME, sleep } from './options';
import { PRODUCTION_NODE_FLAGS, serverArgs, startProc, type Proc } from './processes';
import { report } from './results';
import { mb, median, ms, quantile } from './stats';

const PATHS: GenerationPath[] = ['unbatched', 'batched'];
const RESOLUTION = 256;
const NETWORK_BATCHES = [1, 2, 4, 8, 16];
/** Settings tried besides the defaults: batch size at the default wait, and the wait at the default batch size. */
const SWEEP = [
  ...[2, 4, 16].map((batch) => ({ batch, waitMs: DEFAULT_BATCH_WAIT_MS })),
  ...[0, 2].filter((w) => w !== DEFAULT_BATCH_WAIT_MS).map((waitMs) => ({ batch: DEFAULT_MAX_BATCH, waitMs })),
  { batch: DEFAULT_MAX_BATCH, waitMs: DEFAULT_BATCH_WAIT_MS },
];

const envFor = (batch: number, waitMs: number) => ({ GENERATOR_BATCH: String(batch), GENERATOR_BATCH_WAIT_MS: String(waitMs) });

/** Mean batch size of the generations a server made, from its /metrics histogram. */
async function meanBatch(srv: Proc): Promise<number> {
  const metric = await readMetrics(srv.url);
  return metric('facestudio_generation_batch_size_sum') / metric('facestudio_generation_batch_size_count');
}

/**
 * autocannon against one server. Besides requests/s and latency: the server's CPU time per
 * image, which another job on the machine hardly changes (wall-clock numbers it does), so the
 * two paths' work per image compares even on a busy machine.
 */
async function load(srv: Proc, key: string, connections: number, seconds: number) {
  const cpu0 = srv.cpuMs();
  const r = await autocannon({
    url: `${srv.url}/v1/generate?resolution=${RESOLUTION}`,
    connections,
    duration: seconds,
    headers: { Authorization: `Token ${key}` },
    timeout: 30,
  });
  if (r.errors || r.non2xx > r.requests.total / 100) throw new Error(`${connections} connections: ${r.non2xx} non-2xx, ${r.errors} errors of ${r.requests.total}`);
  // autocannon stops with requests in flight; they finish before the next run starts.
  await sleep(1000);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, cpuMsPerImage: (srv.cpuMs() - cpu0) / r.requests.total };
}

/** `concurrency` clients, each sending seeded requests one after another; per-request latencies. */
async function latencies(srv: Proc, key: string, concurrency: number, perClient: number, seed: { next: number }): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const out: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < perClient; i++) {
        const r = await httpGet(`${srv.url}/v1/generate?seed=${seed.next++}&resolution=${RESOLUTION}`, { Authorization: `Token ${key}` }, agent);
        if (r.status !== 200) throw new Error(`latency at ${concurrency}: ${r.status}`);
        out.push(r.ms);
      }
    }),
  );
  agent.destroy();
  return out;
}

/** Generator + upscaler per face by batch size, in this process, batch sizes interleaved round by round. */
async function networkCost(): Promise<BatchingResult['networks']> {
  const { modelDir, upscaler } = loadConfig(process.env);
  const faces = await FaceService.load(modelDir, { upscaler });
  const times = new Map(NETWORK_BATCHES.map((b) => [b, [] as number[]]));
  const cpu = new Map(NETWORK_BATCHES.map((b) => [b, [] as number[]]));
  let seed = 8_000_000;
  const rounds = QUICK ? 2 : 8;
  for (let r = -1; r < rounds; r++) {
    for (const b of NETWORK_BATCHES) {
      const ps = Array.from({ length: b }, () => resolveParams({ resolution: RESOLUTION }, seed++, faces.manifest.priors));
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await faces.sourceFaces(ps);
      const c = process.cpuUsage(c0);
      if (r < 0) continue;
      times.get(b)!.push((performance.now() - t0) / b);
      cpu.get(b)!.push((c.user + c.system) / 1000 / b);
    }
  }
  await faces.close();
  return NETWORK_BATCHES.map((batch) => ({ batch, perFaceMs: median(times.get(batch)!), cpuMsPerFace: median(cpu.get(batch)!) }));
}

export async function measureBatching(key: string, dbPath: string, tmp: string): Promise<void> {
  const result: BatchingResult = { defaults: { batch: DEFAULT_MAX_BATCH, waitMs: DEFAULT_BATCH_WAIT_MS }, networks: [], sweep: [], throughput: [], latency: [], serverRss: [], mixedRss: [] };
  report.batching = result;
  // A queue long enough that requests still in flight from the previous run (autocannon stops
  // mid-flight) never turn into 503s for the next one.
  const base = { DATABASE_PATH: dbPath, RATE_LIMITS: HIGH_LIMITS, LOG_LEVEL: 'info', GENERATOR_QUEUE: '128' };
  const seconds = QUICK ? 2 : 5;

  log('batching: network cost by batch size (in-process)');
  result.networks = await networkCost();

  log('batching: server settings at 32 connections');
  for (const s of SWEEP) {
    const srv = await startProc(`batch ${s.batch} wait ${s.waitMs}`, serverArgs(RUNTIME), { ...base, ...envFor(s.batch, s.waitMs) }, path.join(tmp, 'batching-sweep.log'), '/readyz');
    await load(srv, key, 32, 1); // warm-up
    const r = await load(srv, key, 32, seconds);
    result.sweep.push({ ...s, rps: r.rps, p50: r.p50, p99: r.p99, meanBatch: await meanBatch(srv), cpuMsPerImage: r.cpuMsPerImage });
    await srv.stop();
  }

  log('batching: unbatched vs batched, head to head');
  const servers = new Map<GenerationPath, Proc>();
  const requests = new Map<GenerationPath, number>();
  for (const p of PATHS) {
    const env = p === 'unbatched' ? envFor(1, 0) : {};
    servers.set(p, await startProc(`${p} server`, serverArgs(RUNTIME), { ...base, ...env }, path.join(tmp, `batching-${p}.log`), '/readyz'));
    const srv = servers.get(p)!;
    const warm = await load(srv, key, 8, QUICK ? 1 : 2);
    requests.set(p, warm.total);
    result.serverRss.push({ path: p, warm: srv.rss(), end: 0, requests: 0 });
  }
  for (const p of PATHS) for (const c of [8, 32]) result.throughput.push({ path: p, connections: c, rps: [], p50: [], p99: [], meanBatch: NaN, cpuMsPerImage: [] });
  for (const p of PATHS) for (const c of [1, 8]) result.latency.push({ path: p, concurrency: c, samples: [] });
  const seed = { next: 20_000_000 };
  const rounds = QUICK ? 1 : 3;
  for (let round = 0; round < rounds; round++) {
    for (const c of [8, 32]) {
      for (const p of round % 2 ? [...PATHS].reverse() : PATHS) {
        const r = await load(servers.get(p)!, key, c, seconds);
        const row = result.throughput.find((t) => t.path === p && t.connections === c)!;
        row.rps.push(r.rps);
        row.p50.push(r.p50);
        row.p99.push(r.p99);
        row.cpuMsPerImage.push(r.cpuMsPerImage);
        requests.set(p, requests.get(p)! + r.total);
      }
    }
    for (const c of [1, 8]) {
      for (const p of round % 2 ? [...PATHS].reverse() : PATHS) {
        const xs = await latencies(servers.get(p)!, key, c, c === 1 ? (QUICK ? 10 : 30) : QUICK ? 4 : 10, seed);
        result.latency.find((l) => l.path === p && l.concurrency === c)!.samples.push(...xs);
        requests.set(p, requests.get(p)! + xs.length);
      }
    }
  }
  for (const p of PATHS) {
    const srv = servers.get(p)!;
    for (const row of result.throughput.filter((t) => t.path === p)) row.meanBatch = await meanBatch(srv);
    Object.assign(result.serverRss.find((r) => r.path === p)!, { end: srv.rss(), requests: requests.get(p)! });
    await srv.stop();
  }

  log('batching: RSS over 10,000 mixed requests, fresh servers');
  for (const p of PATHS) {
    const env = p === 'unbatched' ? envFor(1, 0) : {};
    result.mixedRss.push({ path: p, run: await rssRun(p, PRODUCTION_NODE_FLAGS, { MALLOC_ARENA_MAX: '2', ...env }, 1, key, dbPath, tmp) });
  }
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

export function renderBatching(L: string[]) {
  const b = report.batching;
  if (!b) return;
  const { batch, waitMs } = b.defaults;
  L.push('## Batching: one request at a time vs batched (issue 26)', '');
  L.push(
    `*unbatched*: \`GENERATOR_BATCH=1\`, every request through the networks on its own, the path before batching. *batched*: the defaults, up to ${batch} waiting requests through the generator and upscaler as one onnxruntime run, a request that finds another batch running waiting up to ${waitMs} ms for company (a request that finds the server idle starts at once). Both: GENERATOR_CONCURRENCY=2, GENERATOR_QUEUE=128 (so that requests left in flight by one autocannon run are not refused in the next), ${RESOLUTION} px JPEG, the same build, production node flags. Faces are byte-identical either way (test/batching.test.ts). The two servers take turns round by round (${b.throughput[0].rps.length} rounds), so load drift hits both alike; throughput and autocannon latencies are medians over rounds.`,
    '',
  );
  L.push('| clients | unbatched img/s | batched img/s | batched / unbatched | unbatched p50 / p99 | batched p50 / p99 | mean batch (batched) | server CPU per image, unbatched / batched | img/s 2 idle cores allow, unbatched / batched | target (measured img/s) |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const c of [8, 32]) {
    const u = b.throughput.find((t) => t.path === 'unbatched' && t.connections === c)!;
    const n = b.throughput.find((t) => t.path === 'batched' && t.connections === c)!;
    const [ur, nr] = [median(u.rps), median(n.rps)];
    const [uc, nc] = [median(u.cpuMsPerImage), median(n.cpuMsPerImage)];
    L.push(`| ${c} | ${ur.toFixed(1)} | ${nr.toFixed(1)} | ${ratio(nr, ur)} | ${median(u.p50)} / ${median(u.p99)} ms | ${median(n.p50)} / ${median(n.p99)} ms | ${n.meanBatch.toFixed(1)} | ${ms(uc)} / ${ms(nc)} ms (${ratio(nc, uc)}) | ${(2000 / uc).toFixed(0)} / ${(2000 / nc).toFixed(0)} | ≥ 100 img/s: ${nr >= 100 ? '**met**' : `**missed** (${((nr / 100) * 100).toFixed(0)}%)`} |`);
  }
  L.push('');
  L.push('*Server CPU per image* is the server process\'s CPU time (user + system, /proc) over the run divided by the images it served: the work an image costs, which other jobs on the machine hardly change, unlike the wall-clock columns. *img/s 2 idle cores allow* is 2,000 ms / that: the ceiling on this machine\'s two cores with nothing else running and no idle gaps (the client\'s own CPU not counted).', '');
  L.push('End-to-end latency of seeded 256 px JPEG requests measured by this client (each client sends its next request when the last one is answered):', '');
  L.push('| concurrency | unbatched p50 | unbatched p99 | batched p50 | batched p99 | p50 batched / unbatched | n per path |', '|---|---|---|---|---|---|---|');
  for (const c of [1, 8]) {
    const u = b.latency.find((l) => l.path === 'unbatched' && l.concurrency === c)!.samples;
    const n = b.latency.find((l) => l.path === 'batched' && l.concurrency === c)!.samples;
    L.push(`| ${c} | ${ms(quantile(u, 0.5))} ms | ${ms(quantile(u, 0.99))} ms | ${ms(quantile(n, 0.5))} ms | ${ms(quantile(n, 0.99))} ms | ${ratio(quantile(n, 0.5), quantile(u, 0.5))} | ${u.length} |`);
  }
  L.push('');
  L.push('RSS: the servers above after start and warm-up, and after every request of the rounds; then fresh servers over 10,000 mixed requests (the workload of the memory section: 2% generations):', '');
  L.push('| path | RSS warm | RSS after the rounds | requests served | growth | fresh: after warm-up | fresh: after 10,000 mixed | fresh: growth |', '|---|---|---|---|---|---|---|---|');
  for (const p of PATHS) {
    const s = b.serverRss.find((r) => r.path === p)!;
    const m = b.mixedRss.find((r) => r.path === p)!.run.points;
    L.push(`| ${p} | ${mb(s.warm)} | ${mb(s.end)} | ${s.requests} | ${mb(s.end - s.warm)} | ${mb(m[1].rss)} | ${mb(m[2].rss)} | ${mb(m[2].rss - m[1].rss)} |`);
  }
  L.push('');
  L.push('How the defaults were chosen. In-process, generator + upscaler per face by batch size (one onnxruntime run per batch, 2 intra-op threads; median over interleaved rounds):', '');
  L.push('| batch | wall ms per face | relative to 1 | CPU ms per face | relative to 1 |', '|---|---|---|---|---|');
  const one = b.networks[0];
  for (const n of b.networks) L.push(`| ${n.batch} | ${ms(n.perFaceMs)} | ${(n.perFaceMs / one.perFaceMs).toFixed(2)} | ${ms(n.cpuMsPerFace)} | ${(n.cpuMsPerFace / one.cpuMsPerFace).toFixed(2)} |`);
  L.push('');
  L.push(`Server settings at 32 clients (${RESOLUTION} px, one ${QUICK ? 2 : 5} s run each after a 1 s warm-up; a fresh server per row):`, '');
  L.push('| GENERATOR_BATCH | GENERATOR_BATCH_WAIT_MS | img/s | p50 | p99 | mean batch | server CPU per image |', '|---|---|---|---|---|---|---|');
  for (const s of b.sweep) L.push(`| ${s.batch}${s.batch === batch && s.waitMs === waitMs ? ' (default)' : ''} | ${s.waitMs} | ${s.rps.toFixed(1)} | ${s.p50} ms | ${s.p99} ms | ${s.meanBatch.toFixed(1)} | ${ms(s.cpuMsPerImage)} ms |`);
  L.push('');
}
