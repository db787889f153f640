import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Manifest } from './manifest';
import { sessionOptions } from './session-options';

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

  static async load(modelDir: string, manifest: Manifest, threads = 2): Promise<OnnxGenerator> {
    const session = await ort.InferenceSession.create(path.join(modelDir, manifest.file), sessionOptions(threads));
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

  async close(): Promise<void> {
    await this.session.release();
  }
}
