import http from 'node:http';
import path from 'node:path';
import autocannon from 'autocannon';
import { httpGet } from './http-client';
import { HIGH_LIMITS, QUICK, RUNTIME } from './options';
import { getStatus, serverArgs, startProc } from './processes';
import { report } from './results';

/**
 * Overload: a server with a tiny queue (GENERATOR_CONCURRENCY=1, GENERATOR_QUEUE=2) under 16
 * connections asking for 1024 px faces. Expect 200s and fast 503s with Retry-After, no
 * connection errors or timeouts, a healthy server afterwards, and limits consumed by the
 * 200s only (read back from the daily RateLimit header).
 */
export async function overloadPhase(key: string, dbPath: string, tmp: string) {
  const daily = 10_000_000;
  const srv = await startProc('overload server', serverArgs(RUNTIME), { DATABASE_PATH: dbPath, RATE_LIMITS: HIGH_LIMITS, LOG_LEVEL: 'info', GENERATOR_CONCURRENCY: '1', GENERATOR_QUEUE: '2' }, path.join(tmp, 'overload.log'), '/readyz');
  const auth = { Authorization: `Token ${key}` };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const remaining = async () => {
    const r = await httpGet(`${srv.url}/v1/generate?age=95`, auth, agent);
    return Number(/"daily"; r=(\d+)/.exec(String(r.headers.ratelimit))?.[1]);
  };
  const before = await remaining();
  let retryAfterSeen = 0;
  // A fixed number of requests (not a duration), so that every request the server counted
  // also has its response counted here: none is cut off in flight at the end.
  const r = await autocannon({
    url: `${srv.url}/v1/generate?resolution=1024`,
    connections: 16,
    amount: QUICK ? 300 : 800,
    headers: auth,
    timeout: 30,
    setupClient: (client) => {
      // autocannon hands over the parser's view: a status and a flat [name, value, ...] list.
      (client as unknown as NodeJS.EventEmitter).on('headers', (h: { statusCode: number; headers: string[] }) => {
        if (h.statusCode === 503 && h.headers.some((v, i) => i % 2 === 0 && v.toLowerCase() === 'retry-after')) retryAfterSeen++;
      });
    },
  });
  const after = await remaining();
  const codes = r.statusCodeStats ?? {};
  const count = (code: string) => (codes as Record<string, { count?: number }>)[code]?.count ?? 0;
  const healthy = (await getStatus(`${srv.url}/healthz`)) === 200 && srv.child.exitCode === null;
  report.overload = {
    ok: count('200'),
    unavailable: count('503'),
    other: r.requests.total - count('200') - count('503'),
    errors: r.errors,
    timeouts: r.timeouts,
    retryAfterSeen,
    consumed: before - 1 - after,
    healthy,
    p50: r.latency.p50,
    p975: r.latency.p97_5,
    daily,
  };
  agent.destroy();
  await srv.stop();
}

export function renderOverload(L: string[]) {
  const ov = report.overload;
  if (ov) {
    L.push('## Overload', '');
    L.push(`A server with GENERATOR_CONCURRENCY=1 and GENERATOR_QUEUE=2, 16 connections sending ${QUICK ? 300 : 800} requests for unseeded 1024 px JPEGs as fast as answered (autocannon). Limits are counted (Professional, high quota) and read back from the \`RateLimit\` header before and after.`, '');
    L.push('| 200 | 503 | other statuses | connection errors | timeouts | 503s with Retry-After | limit units consumed | server healthy after | latency p50 / p97.5 (all responses) |', '|---|---|---|---|---|---|---|---|---|');
    L.push(`| ${ov.ok} | ${ov.unavailable} | ${ov.other} | ${ov.errors} | ${ov.timeouts} | ${ov.retryAfterSeen} | ${ov.consumed} | ${ov.healthy ? 'yes' : '**no**'} | ${ov.p50} / ${ov.p975} ms |`);
    L.push('');
    L.push(ov.consumed === ov.ok ? `Limit units consumed = number of 200s: the ${ov.unavailable} 503s did not count against the caller.` : `**Limit units consumed (${ov.consumed}) differ from the number of 200s (${ov.ok}).**`, '');
  }
}
