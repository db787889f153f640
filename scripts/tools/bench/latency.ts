/** Generation latency over HTTP, one request at a time, per resolution and format, beside the in-process floor. */
import http from 'node:http';
import { httpGet } from './http-client';
import { FORMATS, QUICK, RESOLUTIONS } from './options';
import type { Proc } from './processes';
import { report } from './results';
import { kb, ms, stats } from './stats';

export async function generationLatency(srv: Proc, key: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const auth = { Authorization: `Token ${key}` };
  let seed = 1_000_000;
  // A server that has just started is still compiling its hot paths: 40 generations first.
  for (let i = 0; i < (QUICK ? 8 : 40); i++) {
    await httpGet(`${srv.url}/v1/generate?seed=${seed++}&resolution=${RESOLUTIONS[i % 4]}&image_format=${FORMATS[(i >> 2) % 2]}`, auth, agent);
  }
  for (const res of RESOLUTIONS) {
    for (const format of FORMATS) {
      const n = QUICK ? 4 : res === 1024 ? 12 : 20;
      const xs: number[] = [];
      let bytes = 0;
      for (let i = -2; i < n; i++) {
        const r = await httpGet(`${srv.url}/v1/generate?seed=${seed++}&resolution=${res}&image_format=${format}`, auth, agent);
        if (r.status !== 200) throw new Error(`generate ${res}/${format}: ${r.status}`);
        if (i < 0) continue;
        xs.push(r.ms);
        bytes += r.bytes;
      }
      report.http.set(`${res}/${format}`, { s: stats(xs), bytes: bytes / n });
    }
  }
  agent.destroy();
}

export function renderLatency(L: string[]) {
  L.push('## Generation latency and where the time goes', '');
  L.push(
    'HTTP: seeded Professional requests to the real server, distinct seeds (no cache hits), one at a time. Floor: the same work in-process without HTTP (onnxruntime + sharp through the server\'s own functions), split by stage. *HTTP + queue* = HTTP p50 − floor p50.',
    '',
  );
  L.push('| resolution | format | HTTP p50 | HTTP p95 | n | floor p50 | inference | resize + unsharp | stamp | encode | HTTP + queue | size |', '|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const res of RESOLUTIONS) {
    for (const f of FORMATS) {
      const h = report.http.get(`${res}/${f}`)!;
      const fl = report.floor.get(`${res}/${f}`)!;
      L.push(`| ${res} | ${f} | ${ms(h.s.p50)} ms | ${ms(h.s.p95)} ms | ${h.s.n} | ${ms(fl.total.p50)} ms | ${ms(fl.inference.p50)} | ${ms(fl.resize.p50)} | ${ms(fl.stamp.p50)} | ${ms(fl.encode.p50)} | ${ms(h.s.p50 - fl.total.p50)} | ${kb(h.bytes)} |`);
    }
  }
  L.push('');
  L.push('Stage columns are medians in ms (they need not add up exactly to the floor median). Inference includes the CHW float → RGB byte conversion and, when the model has one and UPSCALER is on, the learned x2 upscaler (the pipeline in the header\'s Model row); it does not depend on the output size because the networks run at their native sizes.', '');
  for (const key of ['1024/jpeg', '256/jpeg']) {
    const fl = report.floor.get(key)!;
    const h = report.http.get(key)!.s.p50;
    const parts: Array<[string, number]> = [
      ['inference', fl.inference.p50],
      ['resize + unsharp mask', fl.resize.p50],
      ['stamp', fl.stamp.p50],
      ['encode', fl.encode.p50],
      ['HTTP, queue and the rest', Math.max(0, h - fl.inference.p50 - fl.resize.p50 - fl.stamp.p50 - fl.encode.p50)],
    ];
    L.push(`Where the time goes, ${key.replace('/', ' px ').toUpperCase().replace(' PX ', ' px ')} (HTTP p50 ${ms(h)} ms): ${parts.map(([n, v]) => `${n} ${ms(v)} ms (${((v / h) * 100).toFixed(0)}%)`).join(', ')}.`, '');
  }
  L.push(
    'Changes made from these measurements (server/imaging/resizer.ts, encode.ts, stamp.ts): the libvips `sharpen` (an sRGB → LAB → sRGB round trip at the output size) became an unsharp mask on luma computed from a libvips Gaussian blur of one channel, and then (imaging version 3) the whole resize moved into onnxruntime: Lanczos-3 as dense matrices (Rv · X · Rhᵀ, GEMMs that beat libvips\' enlargement, which is also not Lanczos but a bicubic interpolator shifted by a quarter source pixel), the unsharp mask\'s blur folded into a second matrix pair on luma, the shaping as a few elementwise operators, and one byte transpose back to packed RGB, all off the event loop; the stamp is blended into the RGB buffer in JS instead of a libvips `composite` (which converted the whole image to float); JPEG uses libjpeg-turbo with optimised Huffman tables instead of mozjpeg; WebP effort 3 → 2. Output stays byte-identical for a given seed and build (test/generate.test.ts). onnxruntime runs 2 intra-op threads with full graph optimisation (the fastest row of its table, alone and two at once; with the first, smaller generator 1 thread was as fast, with the 5.9 M-parameter GAN 2 threads halve inference). sharp stays at its default of 1 libvips thread per operation: the server already runs 2 generations at once on 2 cores, so a second thread per operation can only help a lone request, and the single-request timings of 1 vs 2 threads below swing either way from run to run on this shared machine.',
    '',
  );
}
