import fs from 'node:fs';
import path from 'node:path';
import type { UpscalerSpec } from './manifest';
import { BatchSession } from './batch-session';

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
 * optimisation), so its output is byte-identical per input and build, alone or in a batch.
 */
export class OnnxUpscaler {
  private constructor(
    private readonly session: BatchSession,
    readonly spec: UpscalerSpec,
    /** Side of the images it reads (the generator's native side). */
    readonly inputSide: number,
  ) {}

  get outputSide(): number {
    return this.inputSide * this.spec.scale;
  }

  /** Why faces are not batched (undefined when they are). */
  get notBatchable(): string | undefined {
    return this.session.notBatchable;
  }

  /** Refuses (and the server with it) when the manifest names a file that is not there. */
  static async load(modelDir: string, spec: UpscalerSpec, nativeSide: number, threads = 2, batches = true): Promise<OnnxUpscaler> {
    const file = path.join(modelDir, spec.file);
    if (!fs.existsSync(file)) {
      throw new Error(`the manifest names the upscaler ${spec.file} (${spec.version}), but ${file} is missing; restore it, or set UPSCALER=off to serve the Lanczos path`);
    }
    let side = nativeSide;
    const session = await BatchSession.open(file, spec.output, threads, batches, (s) => {
      if (!s.inputNames.includes(spec.input) || !s.outputNames.includes(spec.output)) {
        throw new Error(`expected input "${spec.input}" and output "${spec.output}", found [${s.inputNames.join(', ')}] -> [${s.outputNames.join(', ')}]`);
      }
      const meta = s.inputMetadata.find((m) => m.name === spec.input);
      side = upscalerInputSide(meta?.isTensor ? meta.shape : undefined, nativeSide);
      return [{ name: spec.input, row: [3, side, side] }];
    });
    return new OnnxUpscaler(session, spec, side);
  }

  /** One image, 3 x side x side planar floats in the upscaler's range -> 3 x (side x scale)^2. */
  async run(chw: Float32Array): Promise<{ chw: Float32Array; side: number }> {
    return { chw: (await this.runBatch([chw]))[0], side: this.outputSide };
  }

  /** Several images at once, each byte-identical to a lone run. */
  async runBatch(chws: readonly Float32Array[]): Promise<Float32Array[]> {
    const out = await this.session.run(chws.map((chw) => ({ [this.spec.input]: chw })));
    const outSide = this.outputSide;
    for (const y of out) if (y.length !== 3 * outSide * outSide) throw new Error(`the upscaler returned ${y.length} values per image, expected 3 x ${outSide} x ${outSide}`);
    return out;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
