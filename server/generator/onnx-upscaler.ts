import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { UpscalerSpec } from './manifest';
import { sessionOptions } from './session-options';

/**
 * The side of image the upscaler is fed: the generator's native side. An export whose input
 * has fixed spatial dimensions must match it; symbolic dimensions (a fully convolutional
 * export) accept any side, so a natively larger generator is upscaled from its own size.
 * `dims` is the ONNX input shape (N, 3, H, W); numbers are fixed, strings symbolic.
 */
export function upscalerInputSide(dims: readonly (number | string)[] | undefined, nativeSide: number): number {
  if (!dims) return nativeSide;
  if (dims.length !== 4) throw new Error(`the upscaler's input must be N x 3 x H x W, got [${dims.join(', ')}]`);
  const [, channels, h, w] = dims;
  if (typeof channels === 'number' && channels !== 3) throw new Error(`the upscaler's input has ${channels} channels, not 3`);
  for (const d of [h, w]) {
    if (typeof d === 'number' && d !== nativeSide) {
      throw new Error(`the upscaler reads ${h} x ${w} px but the generator draws ${nativeSide} px; re-export it for that size or with dynamic spatial axes`);
    }
  }
  return nativeSide;
}

/**
 * The learned upscaler: planar floats of the generator's native side in, `scale` times the side
 * out, same value range. Session options are the generator's (fixed threads and graph
 * optimisation), so its output is byte-identical per input and build.
 */
export class OnnxUpscaler {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly spec: UpscalerSpec,
    /** Side of the images it reads (the generator's native side). */
    readonly inputSide: number,
  ) {}

  get outputSide(): number {
    return this.inputSide * this.spec.scale;
  }

  /** Refuses (and the server with it) when the manifest names a file that is not there. */
  static async load(modelDir: string, spec: UpscalerSpec, nativeSide: number, threads = 2): Promise<OnnxUpscaler> {
    const file = path.join(modelDir, spec.file);
    if (!fs.existsSync(file)) {
      throw new Error(`the manifest names the upscaler ${spec.file} (${spec.version}), but ${file} is missing; restore it, or set UPSCALER=off to serve the Lanczos path`);
    }
    const session = await ort.InferenceSession.create(file, sessionOptions(threads));
    if (!session.inputNames.includes(spec.input) || !session.outputNames.includes(spec.output)) {
      await session.release();
      throw new Error(`${file}: expected input "${spec.input}" and output "${spec.output}", found [${session.inputNames.join(', ')}] -> [${session.outputNames.join(', ')}]`);
    }
    const meta = session.inputMetadata.find((m) => m.name === spec.input);
    let side: number;
    try {
      side = upscalerInputSide(meta?.isTensor ? meta.shape : undefined, nativeSide);
    } catch (err) {
      await session.release();
      throw new Error(`${file}: ${(err as Error).message}`);
    }
    return new OnnxUpscaler(session, spec, side);
  }

  /** One image, 3 x side x side planar floats in the upscaler's range -> 3 x (side x scale)^2. */
  async run(chw: Float32Array, side = this.inputSide): Promise<{ chw: Float32Array; side: number }> {
    const out = await this.session.run({ [this.spec.input]: new ort.Tensor('float32', chw, [1, 3, side, side]) });
    const y = out[this.spec.output];
    const outSide = side * this.spec.scale;
    if (y.dims.join('x') !== `1x3x${outSide}x${outSide}`) throw new Error(`the upscaler returned [${y.dims.join(', ')}], expected [1, 3, ${outSide}, ${outSide}]`);
    return { chw: y.data as Float32Array, side: outSide };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
