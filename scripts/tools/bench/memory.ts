/** RSS of fresh servers over 10,000 mixed requests, with the production memory settings and without. */
import http from 'node:http';
import path from 'node:path';
import { httpGet, readMetrics } from './http-client';
import type { MemPoint, RssRun } from './memory-model';
import { HIGH_LIMITS, RUNTIME, sleep } from './options';
import { PRODUCTION_NODE_FLAGS, serverArgs, startProc, type Proc } from './processes';
import { report } from './results';
import { mb } from './stats';

/** RSS from /proc, V8 heap and external (Buffers: the LRU cache) from the server's /metrics. */
export async function memPoint(srv: Proc, label: string, requests: number): Promise<MemPoint> {
  const metric = await readMetrics(srv.url);
  return { label, requests, rss: srv.rss(), heapTotal: metric('nodejs_heap_size_total_bytes'), heapUsed: metric('nodejs_heap_size_used_bytes'), external: metric('nodejs_external_memory_bytes') };
}

export async function rssRun(name: string, nodeFlags: string[], extraEnv: Record<string, string>, rounds: number, key: string, dbPath: string, tmp: string): Promise<RssRun> {
  const run: RssRun = { name, points: [], samples: [], statuses: {}, seconds: 0 };
  const srv = await startProc(`rss server (${name})`, serverArgs(RUNTIME, nodeFlags), { DATABASE_PATH: dbPath, RATE_LIMITS: HIGH_LIMITS, LOG_LEVEL: 'info', ...extraEnv }, path.join(tmp, 'rss-server.log'), '/readyz');
  const auth = { Authorization: `Token ${key}` };
  await sleep(300);
  run.points.push(await memPoint(srv, 'after start, idle', 0));
  const warmAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const first = await httpGet(`${srv.url}/v1/generate?seed=31337&resolution=256`, auth, warmAgent);
  warmAgent.destroy();
  const etag = String(first.headers.etag);
  let genSeed = 5_000_000;
  const request = (i: number): [string, Record<string, string>] => {
    const slot = i % 100;
    if (slot < 2) {
      const res = [128, 256, 512][i % 3];
      const fmt = (i >> 1) % 2 ? 'webp' : 'jpeg';
      return [`/v1/generate?seed=${genSeed++}&resolution=${res}&image_format=${fmt}`, auth];
    }
    if (slot < 40) return [`/v1/generate?age=95&seed=${i}&x${i % 50}=1`, auth];
    if (slot < 60) return ['/v1/generate?seed=31337&resolution=256', { ...auth, 'If-None-Match': etag }];
    if (slot < 70) return ['/v1/generate?seed=31337&resolution=256', auth];
    if (slot < 80) return ['/v1/generate', { Authorization: `Token sk-faces-bogus${i}` }];
    if (slot < 90) return ['/healthz', {}];
    return [`/v1/generate?gender=${'z'.repeat(i % 300)}&a[]=${i}&__proto__=${i}`, {}];
  };
  let total = 0;
  const fire = async (count: number, sample: boolean) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const [p, h] = request(i);
        const r = await httpGet(srv.url + p, h, agent);
        if (sample) run.statuses[r.status] = (run.statuses[r.status] ?? 0) + 1;
        total++;
        if (sample && total % 1000 === 0) run.samples.push([total, srv.rss()]);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    agent.destroy();
  };
  // Warm-up: JIT, stamp renders per size, libvips and onnxruntime pools, first cache entries.
  await fire(300, false);
  total = 0;
  await sleep(300);
  run.points.push(await memPoint(srv, 'after 300 warm-up requests (start of the count)', 0));
  const t0 = performance.now();
  for (let r = 1; r <= rounds; r++) {
    await fire(10_000, true);
    await sleep(300);
    run.points.push(await memPoint(srv, `after ${r * 10},000`, r * 10_000));
  }
  run.seconds = (performance.now() - t0) / 1000;
  await srv.stop();
  return run;
}

export async function rssPhase(key: string, dbPath: string, tmp: string) {
  // The target row is the server as `npm start` and the Docker image run it; the other two show
  // what each of its two memory settings is worth.
  report.rss.push(await rssRun('production', PRODUCTION_NODE_FLAGS, { MALLOC_ARENA_MAX: '2' }, 2, key, dbPath, tmp));
  report.rss.push(await rssRun('plain node (no flags, glibc malloc defaults)', [], { MALLOC_ARENA_MAX: '' }, 1, key, dbPath, tmp));
  report.rss.push(await rssRun('MALLOC_ARENA_MAX=2 only (no heap cap)', [], { MALLOC_ARENA_MAX: '2' }, 1, key, dbPath, tmp));
}

export function renderMemory(L: string[]) {
  L.push('## Memory: RSS over 10,000 requests', '');
  L.push(
    'A fresh server; 300 warm-up requests, then rounds of 10,000 requests over 8 connections: 2% generations (distinct seeds, 128/256/512 px, JPEG and WebP, so the LRU cache fills), 38% Token 400s, 20% 304s, 10% LRU hits, 10% 401s, 10% /healthz, 10% Anon 400s with junk parameters. RSS is read from /proc; V8 heap and external memory (Buffers, which is where the LRU cache of encoded images lives) from the server\'s /metrics.',
    '',
  );
  for (const run of report.rss) {
    const st = Object.entries(run.statuses).map(([k, v]) => `${k}: ${v}`).join(', ');
    L.push(`**${run.name === 'production' ? `Production settings, as \`npm start\` and the Dockerfile run the server: MALLOC_ARENA_MAX=2, node ${PRODUCTION_NODE_FLAGS.join(' ')} (the target row)` : run.name}** — ${run.seconds.toFixed(1)} s for the counted requests; statuses: ${st}.`, '');
    L.push('| point | RSS | V8 heap total | V8 heap used | external |', '|---|---|---|---|---|');
    for (const p of run.points) L.push(`| ${p.label} | ${mb(p.rss)} | ${mb(p.heapTotal)} | ${mb(p.heapUsed)} | ${mb(p.external)} |`);
    const [, warm, ...rest] = run.points;
    for (const p of rest) {
      const prev = run.points[run.points.indexOf(p) - 1];
      L.push(`| growth ${prev === warm ? 'over the first 10,000' : `from ${prev.requests / 1000}k to ${p.requests / 1000}k`} | ${mb(p.rss - prev.rss)} | ${mb(p.heapTotal - prev.heapTotal)} | ${mb(p.heapUsed - prev.heapUsed)} | ${mb(p.external - prev.external)} |`);
    }
    L.push('');
    L.push(`RSS every 1,000 requests: ${run.samples.map(([n, r]) => `${n / 1000}k ${(r / 2 ** 20).toFixed(0)}`).join(' · ')} (MB).`, '');
  }
}
