import fs from 'node:fs';
import sharp from 'sharp';
import type { FaceService, Pipeline } from '../../server/generator/face-service';
import type { RawFace } from '../../server/generator/onnx-generator';
import { resolveParams } from '../../server/params/resolve';
import type { ResolvedParams } from '../../server/params/schema';
import type { Judge, Judgement } from './judge';
import { judgeAll } from './judge-all';
import { gridMetrics, type GenItem, type RealItem } from './metrics';
import { faceSharpness } from './sharpness';
import { frechetDistance, mcnemarExact, mean, pairedDifference } from './stats';

/** Issue 16: the sizes at which the learned upscaler is compared with Lanczos. */
export const PIPELINE_RESOLUTIONS = [256, 512] as const;

export interface PipelineRow {
  resolution: number;
  pipeline: Pipeline;
  version: string;
  n: number;
  detected_rate: number;
  gender_agreement: number;
  age_mae: number;
  /** Mean judged − requested age over this row's detected faces. */
  age_bias: number;
  /**
   * Age MAE over the faces that every pipeline at this size detected: the pipelines' own MAEs
   * average over different faces when one detects faces the other misses (often the hardest).
   */
  age_mae_paired: number;
  /** How many faces the paired MAE covers. */
  n_paired: number;
  /**
   * Against the Lanczos row of the same size, face by face (absent on the Lanczos row): faces
   * whose gender only this pipeline gets right / only Lanczos gets right, with the exact McNemar
   * p-value, and this pipeline's absolute age error minus Lanczos's over the paired faces.
   */
  vs_lanczos?: { gender_only_this: number; gender_only_lanczos: number; gender_p: number; age_error_diff: { mean: number; ci95: [number, number]; n: number } };
  frechet: number;
  /** Mean face-box sharpness of the generated faces, as served (decoded JPEG). */
  sharpness: number;
  /** The same statistic on real 128 px faces reduced to the native size, then taken through this pipeline. */
  real_sharpness: number;
}

/** Sharpness of served bytes (decoded), over the face box. */
export async function sharpnessOf(bytes: Buffer): Promise<number> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return faceSharpness(data, info.width, info.height, info.channels);
}

/** A real photo as packed RGB at `side` px (the 128 px faces are reduced to the generator's native side). */
export async function realFace(file: string, side: number): Promise<RawFace> {
  const data = await sharp(await fs.promises.readFile(file)).removeAlpha().resize(side, side, { kernel: 'lanczos3' }).raw().toBuffer();
  return { data, size: side };
}

/**
 * Generated grid faces at each size through each pipeline, judged, with the Fréchet distance
 * to the real sample and the sharpness statistic; real faces reduced to the native side and
 * enlarged by the same pipeline are the sharpness reference, and real 128 px faces enlarged by
 * the resize alone ("real128") show what a perfect x2 would give.
 * `reuse` holds judgements already made (the main grid at its size with the default pipeline).
 */
export async function comparePipelines(opts: {
  services: FaceService[];
  grid: GenItem[];
  genSample: number[];
  realA: RealItem[];
  realDescriptors: Float32Array[];
  judge: Judge;
  reuse?: { resolution: number; pipeline: Pipeline; judgements: Judgement[] };
}): Promise<{ rows: PipelineRow[]; real128_sharpness: Record<number, number> }> {
  const rows: PipelineRow[] = [];
  const real128: Record<number, number> = {};
  const at = (p: ResolvedParams, resolution: number): ResolvedParams => ({ ...p, resolution, image_format: 'jpeg', stampless: 'yes' });
  const native = opts.services[0].manifest.resolution;
  const realNative = await Promise.all(opts.realA.map((r) => realFace(r.file, native)));
  for (const resolution of PIPELINE_RESOLUTIONS) {
    const judged: Judgement[][] = [];
    const first = rows.length;
    for (const faces of opts.services) {
      const sharp_: number[] = [];
      const reused = opts.reuse && opts.reuse.resolution === resolution && opts.reuse.pipeline === faces.pipeline ? opts.reuse.judgements : undefined;
      let js: Judgement[];
      if (reused) {
        js = reused;
        for (const it of opts.grid) sharp_.push(await sharpnessOf(await faces.render(at(it.params, resolution))));
      } else {
        js = await judgeAll(`${faces.pipeline} ${resolution} px`, opts.grid, (it) => faces.render(at(it.params, resolution)), opts.judge, async (bytes) => {
          sharp_.push(await sharpnessOf(bytes));
        });
      }
      judged.push(js);
      const g = gridMetrics(opts.grid, js);
      const realSharp: number[] = [];
      for (const face of realNative) {
        const p = at(resolveParams({}, 1, faces.manifest.priors), resolution);
        realSharp.push(await sharpnessOf(await faces.encode(await faces.enlarge(face), p)));
      }
      rows.push({
        resolution,
        pipeline: faces.pipeline,
        version: faces.modelVersion,
        n: g.n,
        detected_rate: g.detected_rate,
        gender_agreement: g.gender_agreement,
        age_mae: g.age_mae,
        age_bias: g.age_bias,
        age_mae_paired: NaN,
        n_paired: 0,
        frechet: frechetDistance(opts.genSample.map((i) => js[i].descriptor), opts.realDescriptors),
        sharpness: mean(sharp_),
        real_sharpness: mean(realSharp),
      });
    }
    const paired = opts.grid.map((_, i) => i).filter((i) => judged.every((js) => js[i].detected));
    const ageError = (js: Judgement[], i: number) => Math.abs(js[i].age! - opts.grid[i].params.age);
    const genderOk = (js: Judgement[], i: number) => js[i].detected && js[i].gender === opts.grid[i].params.gender;
    const base = opts.services.findIndex((f) => f.pipeline === 'lanczos');
    judged.forEach((js, k) => {
      const row = rows[first + k];
      row.age_mae_paired = mean(paired.map((i) => ageError(js, i)));
      row.n_paired = paired.length;
      if (base < 0 || k === base) return;
      const all = opts.grid.map((_, i) => i);
      const onlyThis = all.filter((i) => genderOk(js, i) && !genderOk(judged[base], i)).length;
      const onlyLanczos = all.filter((i) => !genderOk(js, i) && genderOk(judged[base], i)).length;
      row.vs_lanczos = {
        gender_only_this: onlyThis,
        gender_only_lanczos: onlyLanczos,
        gender_p: mcnemarExact(onlyThis, onlyLanczos),
        age_error_diff: pairedDifference(paired.map((i) => ageError(js, i) - ageError(judged[base], i))),
      };
    });
    // Real 128 px faces through the resize alone: the resize starts from 128 px, as after a perfect x2.
    const lanczos = opts.services.find((f) => f.pipeline === 'lanczos') ?? opts.services[0];
    const direct: number[] = [];
    for (const r of opts.realA) {
      const face = await realFace(r.file, 128);
      direct.push(await sharpnessOf(await lanczos.encode(face, at(resolveParams({}, 1, lanczos.manifest.priors), resolution))));
    }
    real128[resolution] = mean(direct);
  }
  return { rows, real128_sharpness: real128 };
}
