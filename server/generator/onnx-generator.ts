import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Manifest } from './manifest';

/** A face as the model made it: RGB, 8 bits, row-major, native resolution. */
export interface RawFace {
  data: Buffer;
  size: number;
}

/**
 * The ONNX generator. onnxruntime-node runs `session.run` on its own worker threads, so
 * inference never blocks the event loop; the queue in front of it bounds how much runs.
 */
export class OnnxGenerator {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly manifest: Manifest,
  ) {}

  /**
   * Two intra-op threads by default: with the 5.9 M-parameter generator they halve a lone
   * request's inference (BENCHMARKS.md, onnxruntime knobs) and lose nothing with two at once.
   */
  static async load(modelDir: string, manifest: Manifest, threads = 2): Promise<OnnxGenerator> {
    const session = await ort.InferenceSession.create(path.join(modelDir, manifest.file), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Idle intra-op threads sleep instead of spinning: on a small machine a spinning ORT
      // thread takes the core that the event loop needs to answer the request.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    return new OnnxGenerator(session, manifest);
  }

  /** Raw model output (CHW floats in the manifest's range) for one latent and condition. */
  async runRaw(z: Float32Array, c: Float32Array): Promise<Float32Array> {
    const m = this.manifest;
    const feeds = {
      [m.inputs.latent]: new ort.Tensor('float32', z, [1, m.latent_dim]),
      [m.inputs.condition]: new ort.Tensor('float32', c, [1, m.condition_dim]),
    };
    const out = await this.session.run(feeds);
    return out[m.output.name].data as Float32Array;
  }

  async generate(z: Float32Array, c: Float32Array): Promise<RawFace> {
    const chw = await this.runRaw(z, c);
    const size = this.manifest.resolution;
    const [lo, hi] = this.manifest.output.range;
    const scale = 255 / (hi - lo);
    const plane = size * size;
    const data = Buffer.allocUnsafe(plane * 3);
    for (let i = 0; i < plane; i++) {
      for (let ch = 0; ch < 3; ch++) {
        const v = Math.round((chw[ch * plane + i] - lo) * scale);
        data[i * 3 + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
    return { data, size };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
