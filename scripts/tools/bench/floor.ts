/** In-process floor: the server's own functions without HTTP, split into inference, resize, stamp and encode. */
import type { FaceService } from '../../../server/generator/face-service';
import { applyStamp, encodeRgb } from '../../../server/imaging/encode';
import { stampFor } from '../../../server/imaging/stamp';
import { canonicalQuery, resolveParams } from '../../../server/params/resolve';
import type { ResolvedParams } from '../../../server/params/schema';
import { FORMATS, QUICK, RESOLUTIONS, type Format } from './options';
import { report } from './results';
import { stats } from './stats';

function paramsFor(res: number, format: Format, seed: number, faces: FaceService): ResolvedParams {
  return resolveParams({ resolution: res, image_format: format }, seed, faces.manifest.priors);
}

export async function floorAndSplit(faces: FaceService) {
  let seed = 9_000_000;
  for (const res of RESOLUTIONS) {
    await stampFor(res);
    for (const format of FORMATS) {
      const n = QUICK ? 4 : res === 1024 ? 12 : 20;
      const t = { inference: [] as number[], resize: [] as number[], stamp: [] as number[], encode: [] as number[], total: [] as number[] };
      let bytes = 0;
      for (let i = -2; i < n; i++) {
        const p = paramsFor(res, format, seed++, faces);
        const t0 = performance.now();
        const face = await faces.sourceFace(p);
        const t1 = performance.now();
        const rgb = await faces.resize(face, res);
        const t2 = performance.now();
        await applyStamp(rgb, res);
        const t3 = performance.now();
        const out = await encodeRgb(rgb, res, format, { modelName: faces.manifest.name, modelVersion: faces.modelVersion, seed: p.seed, params: canonicalQuery(p) });
        const t4 = performance.now();
        if (i < 0) continue; // warm-up
        t.inference.push(t1 - t0);
        t.resize.push(t2 - t1);
        t.stamp.push(t3 - t2);
        t.encode.push(t4 - t3);
        t.total.push(t4 - t0);
        bytes += out.length;
      }
      report.floor.set(`${res}/${format}`, {
        inference: stats(t.inference),
        resize: stats(t.resize),
        stamp: stats(t.stamp),
        encode: stats(t.encode),
        total: stats(t.total),
        bytes: bytes / n,
      });
    }
  }
}
