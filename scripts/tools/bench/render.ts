/** BENCHMARKS.md from one run's results: the headline tables, then each phase's section. */
import os from 'node:os';
import { renderBatching } from './batching';
import { renderKnobs } from './knobs';
import { renderLatency } from './latency';
import { renderMemory } from './memory';
import { renderOverhead } from './overhead';
import { renderOverload } from './overload';
import { renderPipelines } from './pipelines';
import { renderRuntime } from './runtime';
import { renderThroughput } from './throughput';
import { NOTE, QUICK } from './options';
import { report } from './results';
import { mb, ms, verdict } from './stats';

export function render(): string {
  const L: string[] = [];
  const o = report.overhead;
  const base = o.get('baseline: bare express, JSON hello')!.p50;
  const get = (name: string) => o.get(name)!;
  const overhead400 = get('400, Token (auth + validation + limits)').p50 - base;
  const overhead304 = get('304, Token, If-None-Match (seeded, cached)').p50 - base;
  const j1024 = report.http.get('1024/jpeg')!.s.p50;
  const j256 = report.http.get('256/jpeg')!.s.p50;
  const hit304 = get('304, Token, If-None-Match (seeded, cached)').p50;
  const hitLru = get('200 from LRU cache, 256 JPEG').p50;
  const rssGrowth = report.rss[0].points[2].rss - report.rss[0].points[1].rss;

  L.push('# Face Studio benchmarks', '');
  L.push(`Made by \`${os.getPriority() > 0 ? `nice -n ${os.getPriority()} ` : ''}npm run bench\`${QUICK ? ' --quick' : ''} (scripts/tools/bench/) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Medians unless a column says otherwise; every latency is measured by a client on the same machine, from sending the request to the last byte of the body.`, '');
  L.push('## Machine', '');
  L.push('| | |', '|---|---|');
  for (const [k, v] of Object.entries(report.facts)) L.push(`| ${k} | ${v} |`);
  L.push('');
  L.push(
    '> This machine has 2 cores and is shared with other jobs (training, test runs); the load average above says how busy it was. Absolute numbers are therefore pessimistic and noisy; the comparisons within one run (floor vs HTTP, app vs bare express, learned vs Lanczos, unbatched vs batched, knob vs knob) are the meaningful part.',
    '',
  );
  if (NOTE) L.push(`> ${NOTE}`, '');

  L.push('## Targets', '');
  L.push('| target | measured (median) | verdict |', '|---|---|---|');
  L.push(`| 1024 px JPEG generation ≤ 100 ms (HTTP, end to end) | ${ms(j1024)} ms | ${verdict(j1024, 100, 'ms')} |`);
  L.push(`| 256 px JPEG generation ≤ 15 ms (HTTP, end to end) | ${ms(j256)} ms | ${verdict(j256, 15, 'ms')} |`);
  L.push(`| HTTP + auth + validation + limits overhead ≤ 1 ms (400 path, Token, minus bare express) | ${ms(overhead400)} ms | ${verdict(overhead400, 1, 'ms')} |`);
  L.push(`| same, on the 304 path (adds seeded resolve + ETag) | ${ms(overhead304)} ms | ${verdict(overhead304, 1, 'ms')} |`);
  L.push(`| cached seeded hit ≤ 2 ms: 304 with If-None-Match | ${ms(hit304)} ms | ${verdict(hit304, 2, 'ms')} |`);
  L.push(`| cached seeded hit ≤ 2 ms: 200 from the LRU cache, 256 JPEG | ${ms(hitLru)} ms | ${verdict(hitLru, 2, 'ms')} |`);
  L.push(`| RSS growth < 50 MB over 10,000 requests | ${mb(rssGrowth)} | ${rssGrowth < 50 * 2 ** 20 ? `**met** — ${mb(50 * 2 ** 20 - rssGrowth)} under` : `**missed** — by ${mb(rssGrowth - 50 * 2 ** 20)}`} |`);
  L.push('');

  renderBatching(L);
  renderPipelines(L);

  renderLatency(L);
  renderThroughput(L);
  renderOverhead(L);
  renderOverload(L);
  renderMemory(L);
  renderKnobs(L);
  renderRuntime(L);
  L.push('## Phases', '');
  L.push('| phase | seconds |', '|---|---|');
  for (const [name, s] of report.phases) L.push(`| ${name} | ${s.toFixed(0)} |`);
  L.push('');
  return L.join('\n');
}
