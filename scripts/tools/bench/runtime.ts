/** Which runtime is realistic: dist (production) against tsx (npm run dev), start-up and the cheap path. */
import path from 'node:path';
import { interleaved } from './http-client';
import { QUICK, RUNTIME } from './options';
import { serverArgs, startProc, type Proc } from './processes';
import { report } from './results';
import { median, ms } from './stats';

/** Start-up and the 400 path of each runtime; `srv` is the running server of the run's own runtime. */
export async function measureRuntime(srv: Proc, key: string, serverEnv: Record<string, string>, tmp: string) {
  for (const runtime of ['dist', 'tsx'] as const) {
    const p = runtime === RUNTIME ? srv : await startProc(`${runtime} server`, serverArgs(runtime), serverEnv, path.join(tmp, `${runtime}.log`), '/readyz');
    const r = await interleaved([{ name: runtime, url: `${p.url}/v1/generate?age=95`, headers: { Authorization: `Token ${key}` }, expect: 400 }], QUICK ? 1 : 3, QUICK ? 50 : 200);
    report.runtime.push({ runtime, readyMs: p.readyMs, p50: median(r.get(runtime)!) });
    if (p !== srv) await p.stop();
  }
}

export function renderRuntime(L: string[]) {
  L.push('## Runtime: dist vs tsx', '');
  L.push('| runtime | start to /readyz 200 | 400 path p50 |', '|---|---|---|');
  for (const r of report.runtime) L.push(`| ${r.runtime === 'dist' ? 'node dist/server/main.js (production)' : 'node --import tsx server/main.ts (npm run dev)'} | ${(r.readyMs / 1000).toFixed(1)} s | ${ms(r.p50)} ms |`);
  L.push('');
  L.push('Once loaded, both run the same JavaScript (tsx transpiles on load); start-up differs. The benchmark uses dist, as production does.', '');
}
