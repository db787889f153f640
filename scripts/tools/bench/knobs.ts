/** Knobs tried in-process: onnxruntime session options, upscale variants, sharp concurrency, encoders. */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { conditionVector } from '../../../server/generator/condition';
import type { FaceService } from '../../../server/generator/face-service';
import { latentFromSeed } from '../../../server/generator/prng';
import { applyStamp, encodeRgb, JPEG_QUALITY, WEBP_EFFORT, WEBP_QUALITY } from '../../../server/imaging/encode';
import { sharpenSigma } from '../../../server/imaging/resample-weights';
import { stampFor } from '../../../server/imaging/stamp';
import { provenanceXmp } from '../../../server/imaging/xmp';
import { resolveParams } from '../../../server/params/resolve';
import { QUICK } from './options';
import { report } from './results';
import { kb, median, ms } from './stats';

export async function knobs(faces: FaceService, modelDir: string) {
  const m = faces.manifest;
  const file = path.join(modelDir, m.file);
  const feeds = (seed: number) => {
    const p = resolveParams({}, seed, m.priors);
    return {
      [m.inputs.latent]: new ort.Tensor('float32', latentFromSeed(seed, m.latent_dim), [1, m.latent_dim]),
      [m.inputs.condition]: new ort.Tensor('float32', conditionVector(p, m), [1, m.condition_dim]),
    };
  };
  // onnxruntime: intra-op threads x graph optimisation; one run at a time and two at once
  // (the server runs GENERATOR_CONCURRENCY=2 jobs in parallel).
  const n = QUICK ? 6 : 30;
  for (const threads of [1, 2]) {
    for (const opt of ['disabled', 'all'] as const) {
      const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: opt, executionMode: 'sequential' });
      for (let i = 0; i < 3; i++) await session.run(feeds(i + 1));
      const seq: number[] = [];
      for (let i = 0; i < n; i++) {
        const f = feeds(100 + i);
        const t0 = performance.now();
        await session.run(f);
        seq.push(performance.now() - t0);
      }
      const par: number[] = [];
      for (let i = 0; i < n / 2; i++) {
        const a = feeds(200 + i);
        const b = feeds(300 + i);
        const t0 = performance.now();
        await Promise.all([session.run(a), session.run(b)]);
        par.push((performance.now() - t0) / 2);
      }
      report.knobs.ort.push({ threads, opt, seq: median(seq), par: median(par) });
      await session.release();
    }
  }

  const face = await faces.rawFace(resolveParams({}, 4242, m.priors));
  const R = 1024;
  const rawIn = { raw: { width: face.size, height: face.size, channels: 3 as const } };
  const rawR = { raw: { width: R, height: R, channels: 3 as const } };
  const k = QUICK ? 3 : 9;
  const timeIt = async (fn: () => Promise<unknown>, reps = k) => {
    const xs: number[] = [];
    await fn();
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await fn();
      xs.push(performance.now() - t0);
    }
    return median(xs);
  };

  // Upscale + sharpen variants at 1024.
  const sigma = sharpenSigma(R, face.size);
  report.knobs.sharpen.push({ name: 'libvips enlargement, kernel lanczos3, no sharpening (imaging version 2 started with it)', ms: await timeIt(() => sharp(face.data, rawIn).resize(R, R, { kernel: 'lanczos3' }).raw().toBuffer()) });
  report.knobs.sharpen.push({ name: 'the same + libvips sharpen (sRGB->LAB->sRGB), imaging version 1', ms: await timeIt(() => sharp(face.data, rawIn).resize(R, R, { kernel: 'lanczos3' }).sharpen({ sigma, m1: 0.5, m2: 1.5 }).raw().toBuffer()) });
  report.knobs.sharpen.push({ name: 'Lanczos-3 matrices + luma unsharp mask in onnxruntime (server/imaging/resizer.ts), current', ms: await timeIt(() => faces.resize(face, R)) });

  // sharp / libvips thread pool per operation.
  const original = sharp.concurrency();
  for (const c of [1, 2]) {
    sharp.concurrency(c);
    report.knobs.sharpConcurrency.push({ n: c, ms: await timeIt(async () => encodeRgb(await faces.resize(face, R), R, 'jpeg', { modelName: 'x', modelVersion: 'x', seed: 1, params: '' })) });
  }
  sharp.concurrency(original);

  // Encoders on the same 1024 px RGB.
  const rgb = await faces.resize(face, R);
  await applyStamp(rgb, R);
  const xmp = provenanceXmp({ modelName: m.name, modelVersion: m.version, seed: 4242, params: 'resolution=1024' });
  const enc = async (name: string, make: () => ReturnType<typeof sharp>) => {
    const bytes = (await make().toBuffer()).length;
    report.knobs.jpeg.push({ name, ms: await timeIt(() => make().toBuffer()), bytes });
  };
  await enc(`libjpeg-turbo q${JPEG_QUALITY}, optimised Huffman (current)`, () => sharp(rgb, rawR).withXmp(xmp).jpeg({ quality: JPEG_QUALITY, optimiseCoding: true, chromaSubsampling: '4:2:0' }));
  await enc(`libjpeg-turbo q${JPEG_QUALITY} + trellis quantisation`, () => sharp(rgb, rawR).withXmp(xmp).jpeg({ quality: JPEG_QUALITY, trellisQuantisation: true, chromaSubsampling: '4:2:0' }));
  await enc(`mozjpeg q${JPEG_QUALITY} (previous)`, () => sharp(rgb, rawR).withXmp(xmp).jpeg({ quality: JPEG_QUALITY, mozjpeg: true, chromaSubsampling: '4:2:0' }));
  for (const effort of [0, 1, 2, 3, 4]) {
    const make = () => sharp(rgb, rawR).withXmp(xmp).webp({ quality: WEBP_QUALITY, effort });
    const bytes = (await make().toBuffer()).length;
    report.knobs.webp.push({ effort, ms: await timeIt(() => make().toBuffer()), bytes });
  }

  // The whole previous imaging pipeline (before this benchmark's changes), for the record.
  const stamp = await stampFor(R);
  const margin = Math.round(R * 0.02);
  const legacy = () =>
    sharp(face.data, rawIn)
      .resize(R, R, { kernel: 'lanczos3' })
      .sharpen({ sigma, m1: 0.5, m2: 1.5 })
      .composite([{ input: stamp.png, left: R - stamp.width - margin, top: R - stamp.height - margin }])
      .withXmp(xmp)
      .jpeg({ quality: JPEG_QUALITY, mozjpeg: true, chromaSubsampling: '4:2:0' })
      .toBuffer();
  const legacyBytes = (await legacy()).length;
  report.knobs.legacy = { ms: await timeIt(legacy, QUICK ? 2 : 5), bytes: legacyBytes };
}

export function renderKnobs(L: string[]) {
  L.push('## Knobs tried (in-process, this run)', '');
  L.push('onnxruntime session options (per image, ms; "2 at once" = two runs in parallel on one session, per image, which is how the server runs with GENERATOR_CONCURRENCY=2):', '');
  L.push('| intraOpNumThreads | graph optimisation | one at a time | 2 at once |', '|---|---|---|---|');
  for (const k of report.knobs.ort) L.push(`| ${k.threads} | ${k.opt} | ${ms(k.seq)} | ${ms(k.par)} |`);
  L.push('');
  L.push('Upscale 64 → 1024 px (ms):', '');
  L.push('| variant | ms |', '|---|---|');
  for (const k of report.knobs.sharpen) L.push(`| ${k.name} | ${ms(k.ms)} |`);
  L.push('');
  L.push('sharp concurrency (libvips threads per operation; upscale + JPEG at 1024 px):', '');
  L.push('| sharp.concurrency | ms |', '|---|---|');
  for (const k of report.knobs.sharpConcurrency) L.push(`| ${k.n} | ${ms(k.ms)} |`);
  L.push('');
  L.push('JPEG encoders on the same 1024 px image:', '');
  L.push('| encoder | ms | size |', '|---|---|---|');
  for (const k of report.knobs.jpeg) L.push(`| ${k.name} | ${ms(k.ms)} | ${kb(k.bytes)} |`);
  L.push('');
  L.push(`WebP effort on the same 1024 px image (quality ${WEBP_QUALITY}; the server uses effort ${WEBP_EFFORT}):`, '');
  L.push('| effort | ms | size |', '|---|---|---|');
  for (const k of report.knobs.webp) L.push(`| ${k.effort} | ${ms(k.ms)} | ${kb(k.bytes)} |`);
  L.push('');
  if (report.knobs.legacy) {
    const cur = report.floor.get('1024/jpeg')!;
    L.push(
      `The previous imaging pipeline (Lanczos-3, libvips sharpen in LAB, composite, mozjpeg) takes ${ms(report.knobs.legacy.ms)} ms for a 1024 px JPEG (${kb(report.knobs.legacy.bytes)}) in this run; the current one takes ${ms(cur.resize.p50 + cur.stamp.p50 + cur.encode.p50)} ms (${kb(cur.bytes)}) for the same work.`,
      '',
    );
  }
  L.push('LRU cache: seeded responses are cached encoded, keyed by model version + canonical query (see the 200-from-cache rows above against the generation rows).', '');
}
