/** Cost of HTTP + auth + validation + limits, and of cached hits, against a bare express app. */
import http from 'node:http';
import { httpGet, interleaved, type Target } from './http-client';
import { QUICK } from './options';
import type { Proc } from './processes';
import { report } from './results';
import { ms, stats, type Stats } from './stats';

export async function overheadTargets(srv: Proc, baseline: Proc, key: string): Promise<Target[]> {
  const auth = { Authorization: `Token ${key}` };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const seeded = (res: number) => `${srv.url}/v1/generate?seed=777&resolution=${res}`;
  const first = await httpGet(seeded(1024), auth, agent);
  await httpGet(seeded(256), auth, agent);
  agent.destroy();
  const etag = String(first.headers.etag);
  return [
    { name: 'baseline: bare express, JSON hello', url: `${baseline.url}/hello`, expect: 200 },
    { name: 'GET /healthz (app middleware, no auth or limits)', url: `${srv.url}/healthz`, expect: 200 },
    { name: '400, Anon (validation + limits by IP)', url: `${srv.url}/v1/generate?age=95&gender=x`, expect: 400 },
    { name: '400, Token (auth + validation + limits)', url: `${srv.url}/v1/generate?age=95&gender=x`, headers: auth, expect: 400 },
    { name: '304, Token, If-None-Match (seeded, cached)', url: seeded(1024), headers: { ...auth, 'If-None-Match': etag }, expect: 304 },
    { name: '200 from LRU cache, 256 JPEG', url: seeded(256), headers: auth, expect: 200 },
    { name: '200 from LRU cache, 1024 JPEG', url: seeded(1024), headers: auth, expect: 200 },
  ];
}

export async function overhead(srv: Proc, baseline: Proc, key: string, into: Map<string, Stats>, rounds: number, withAnon = true) {
  const targets = (await overheadTargets(srv, baseline, key)).filter((t) => withAnon || !t.name.includes('Anon'));
  const res = await interleaved(targets, rounds, QUICK ? 50 : 200);
  for (const [name, xs] of res) into.set(name, stats(xs));
}

export function renderOverhead(L: string[]) {
  const o = report.overhead;
  const base = o.get('baseline: bare express, JSON hello')!.p50;
  L.push('## Request overhead and cached hits', '');
  L.push('Sequential keep-alive requests, targets interleaved in rounds so that changes in machine load hit all of them alike. The baseline is a bare express 5 app answering a small JSON body, in another process started by the same run.', '');
  L.push('| path | p50 | p95 | n | p50 minus baseline |', '|---|---|---|---|---|');
  for (const [name, s] of o) L.push(`| ${name} | ${ms(s.p50)} ms | ${ms(s.p95)} ms | ${s.n} | ${name.startsWith('baseline') ? '—' : `${ms(s.p50 - base)} ms`} |`);
  L.push('');
  if (report.redisOverhead) {
    const rb = report.redisOverhead.get('baseline: bare express, JSON hello')!.p50;
    L.push('With `REDIS_URL` set (limits counted in the local Redis: burst and daily, one round trip each):', '');
    L.push('| path | p50 | p95 | n | p50 minus baseline |', '|---|---|---|---|---|');
    for (const [name, s] of report.redisOverhead) L.push(`| ${name} | ${ms(s.p50)} ms | ${ms(s.p95)} ms | ${s.n} | ${name.startsWith('baseline') ? '—' : `${ms(s.p50 - rb)} ms`} |`);
    L.push('');
  }
}
