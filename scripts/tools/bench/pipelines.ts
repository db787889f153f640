import http from 'node:http';
import path from 'node:path';
import { FaceService, type Pipeline } from '../../../server/generator/face-service';
import { stampFor } from '../../../server/imaging/stamp';
import { resolveParams } from '../../../server/params/resolve';
import { httpGet } from './http-client';
import { HIGH_LIMITS, IDLE_MS, PIPELINE_RUN, PIPELINE_TARGETS, QUICK, RUNTIME } from './options';
import { serverArgs, startProc, type Proc } from './processes';
import { report } from './results';
import { kb, ms, stats, verdict } from './stats';

/**
 * Issue 16: the learned pipeline (generator + x2 upscaler + resize) against Lanczos (generator +
 * resize) on the same model, seeds and machine, in the same run. In-process: networks vs
 * imaging (resize, stamp, encode). HTTP: two servers, UPSCALER=on and UPSCALER=off, requests
 * alternating between them so that load drift hits both alike.
 */
export async function pipelinesPhase(modelDir: string, key: string, dbPath: string, tmp: string) {
  const probe = await FaceService.load(modelDir, { concurrency: 1, maxQueued: 1000 });
  const hasUpscaler = Boolean(probe.manifest.upscaler);
  await probe.close();
  if (!hasUpscaler) {
    report.pipelines = { note: `${modelDir} has no upscaler entry in its manifest: only the Lanczos pipeline exists (the tables above).`, rows: [] };
    return;
  }
  const pipelines: Array<{ pipeline: Pipeline; env: string }> = [{ pipeline: 'learned', env: 'on' }, { pipeline: 'lanczos', env: 'off' }];
  const rows: NonNullable<typeof report.pipelines>['rows'] = [];
  const services = await Promise.all(pipelines.map((p) => FaceService.load(modelDir, { concurrency: 1, maxQueued: 1000, upscaler: p.env === 'on' })));
  const servers: Proc[] = [];
  for (const p of pipelines) {
    servers.push(await startProc(`server (UPSCALER=${p.env})`, serverArgs(RUNTIME), { DATABASE_PATH: dbPath, RATE_LIMITS: HIGH_LIMITS, LOG_LEVEL: 'info', UPSCALER: p.env }, path.join(tmp, `pipeline-${p.env}.log`), '/readyz'));
  }
  const agents = servers.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const auth = { Authorization: `Token ${key}` };
  const fetchFace = async (k: number, seed: number, res: number) => {
    const r = await httpGet(`${servers[k].url}/v1/generate?seed=${seed}&resolution=${res}&image_format=jpeg`, auth, agents[k]);
    if (r.status !== 200) throw new Error(`pipeline ${pipelines[k].pipeline} ${res}: ${r.status}`);
    return r;
  };
  for (const { res } of PIPELINE_TARGETS) {
    await stampFor(res);
    const n = QUICK ? 6 : res === 1024 ? 20 : 40;
    const t = pipelines.map(() => ({ networks: [] as number[], imaging: [] as number[], floor: [] as number[], http: [] as number[], idle: [] as number[], bytes: 0 }));
    // In-process floor: the two services alternate seed by seed.
    for (let i = -3; i < n; i++) {
      for (const [k, faces] of services.entries()) {
        const p = resolveParams({ resolution: res, image_format: 'jpeg' }, 7_000_000 + res * 1000 + i, faces.manifest.priors);
        const t0 = performance.now();
        const face = await faces.sourceFace(p);
        const t1 = performance.now();
        await faces.encode(face, p);
        const t2 = performance.now();
        if (i < 0) continue; // warm-up
        t[k].networks.push(t1 - t0);
        t[k].imaging.push(t2 - t1);
        t[k].floor.push(t2 - t0);
      }
    }
    // HTTP, a stream: each server takes PIPELINE_RUN requests back to back, then the other does,
    // so a server is measured as under steady use while drift in machine load hits both alike.
    for (let done = 0; done < n; done += PIPELINE_RUN) {
      for (const k of servers.keys()) {
        for (let i = done - (done === 0 ? 3 : 0); i < Math.min(n, done + PIPELINE_RUN); i++) {
          const r = await fetchFace(k, 7_000_000 + res * 1000 + i, res);
          if (i < done) continue; // warm-up
          t[k].http.push(r.ms);
          t[k].bytes += r.bytes;
        }
      }
    }
    // HTTP after idle: each request follows IDLE_MS with nothing running, as a lone request to
    // a quiet server does.
    for (let i = 0; i < Math.ceil(n / 2); i++) {
      for (const k of servers.keys()) {
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        t[k].idle.push((await fetchFace(k, 7_500_000 + res * 1000 + i, res)).ms);
      }
    }
    for (const [k, p] of pipelines.entries()) {
      rows.push({ pipeline: p.pipeline, version: services[k].modelVersion, res, networks: stats(t[k].networks), imaging: stats(t[k].imaging), floor: stats(t[k].floor), http: stats(t[k].http), idle: stats(t[k].idle), bytes: t[k].bytes / n });
    }
  }
  agents.forEach((a) => a.destroy());
  for (const srv of servers) await srv.stop();
  await Promise.all(services.map((f) => f.close()));
  report.pipelines = { rows };
}

export function renderPipelines(L: string[]) {
  const pl = report.pipelines;
  if (!pl) return;
  L.push('## Pipelines: learned upscaler vs Lanczos (issue 16)', '');
  if (pl.note) {
    L.push(pl.note, '');
    return;
  }
  L.push(
    `Same model, same seeds, same run. *learned*: generator → x2 upscaler → Lanczos-3 resize (+ the narrower unsharp mask) → stamp → JPEG; *lanczos*: generator → Lanczos-3 + unsharp mask → stamp → JPEG (UPSCALER=off). In-process columns split the floor into networks (generator, and upscaler on the learned path) and imaging. HTTP columns are a server per pipeline, the two taking turns in runs of ${PIPELINE_RUN} back-to-back requests (the target column); *after idle* is a separate set of requests, each sent ${IDLE_MS} ms after the previous answer with nothing else running.`,
    '',
  );
  L.push(`| pipeline | version | resolution | networks p50 | imaging p50 | floor p50 | HTTP p50 | HTTP p95 | n | HTTP p50 after idle | size | target (HTTP p50) |`, '|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of pl.rows) {
    const target = PIPELINE_TARGETS.find((x) => x.res === r.res)!.ms;
    L.push(`| ${r.pipeline} | \`${r.version}\` | ${r.res} JPEG | ${ms(r.networks.p50)} ms | ${ms(r.imaging.p50)} ms | ${ms(r.floor.p50)} ms | ${ms(r.http.p50)} ms | ${ms(r.http.p95)} ms | ${r.http.n} | ${ms(r.idle.p50)} ms (n ${r.idle.n}) | ${kb(r.bytes)} | ≤ ${target} ms: ${verdict(r.http.p50, target, 'ms')} |`);
  }
  const idle = pl.rows.find((r) => r.pipeline === 'learned' && r.res === 256);
  if (idle) {
    L.push(
      '',
      `After idle, requests take longer on this machine: its idle cores sleep (cpuidle, Machine table), and onnxruntime's second thread has to be woken for every parallel operator. On the host these pipelines were tuned on, a 50 ms pause made 2 onnxruntime threads no faster than 1. Learned 256 px here: ${ms(idle.http.p50)} ms in a stream, ${ms(idle.idle.p50)} ms after ${IDLE_MS} ms idle.`,
    );
  }
  L.push('');
}
