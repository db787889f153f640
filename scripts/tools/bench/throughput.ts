/** Requests per second under 1-8 connections (autocannon), unseeded faces. */
import autocannon from 'autocannon';
import { QUICK } from './options';
import type { Proc } from './processes';
import { report } from './results';

export async function throughput(srv: Proc, key: string) {
  const duration = QUICK ? 2 : 5;
  for (const res of [256, 1024]) {
    for (const c of [1, 2, 4, 8]) {
      const r = await autocannon({
        url: `${srv.url}/v1/generate?resolution=${res}`,
        connections: c,
        duration,
        headers: { Authorization: `Token ${key}` },
        timeout: 30,
      });
      report.throughput.push({ res, c, rps: r.requests.average, p50: r.latency.p50, p975: r.latency.p97_5, non2xx: r.non2xx, errors: r.errors, total: r.requests.total });
    }
  }
}

export function renderThroughput(L: string[]) {
  L.push('## Throughput (autocannon)', '');
  L.push(`Unseeded JPEG requests (a new face every time), Professional key, ${QUICK ? 2 : 5} s per row. The server runs 2 batches at once (GENERATOR_CONCURRENCY; requests that wait go through the networks together) and queues up to 32 more; latency columns are autocannon's (whole milliseconds).`, '');
  L.push('| resolution | connections | requests/s | latency p50 | latency p97.5 | requests | non-2xx | errors |', '|---|---|---|---|---|---|---|---|');
  for (const t of report.throughput) L.push(`| ${t.res} | ${t.c} | ${t.rps.toFixed(1)} | ${t.p50} ms | ${t.p975} ms | ${t.total} | ${t.non2xx} | ${t.errors} |`);
  L.push('');
}
