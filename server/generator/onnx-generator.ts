import path from 'node:path';
import { BatchSession } from './batch-session';
import type { Manifest } from './manifest';

/** A face as the model made it: RGB, 8 bits, row-major, native resolution. */
export interface RawFace {
  data: Buffer;
  size: number;
}

/**
 * The ONNX generator. onnxruntime-node runs `session.run` on its own worker threads, so
 * inference never blocks the event loop; the queue in front of it bounds how much runs and
 * hands it batches of waiting requests.
 */
export class OnnxGenerator {
  private constructor(
    private readonly session: BatchSession,
    readonly manifest: Manifest,
  ) {}

  static async load(modelDir: string, manifest: Manifest, threads = 2, batches = true): Promise<OnnxGenerator> {
    const m = manifest;
    const session = await BatchSession.open(path.join(modelDir, m.file), m.output.name, threads, batches, () => [
      { name: m.inputs.latent, row: [m.latent_dim] },
      { name: m.inputs.condition, row: [m.condition_dim] },
    ]);
    return new OnnxGenerator(session, manifest);
  }

  /** Why requests are not batched (undefined when they are). */
  get notBatchable(): string | undefined {
    return this.session.notBatchable;
  }

  /** Raw model output (CHW floats in the manifest's range) for one latent and condition. */
  async runRaw(z: Float32Array, c: Float32Array): Promise<Float32Array> {
    return (await this.runBatch([z], [c]))[0];
  }

  /** Raw outputs for several latents and conditions, each byte-identical to a lone run. */
  async runBatch(zs: readonly Float32Array[], cs: readonly Float32Array[]): Promise<Float32Array[]> {
    const m = this.manifest;
    const out = await this.session.run(zs.map((z, k) => ({ [m.inputs.latent]: z, [m.inputs.condition]: cs[k] })));
    const expected = 3 * m.resolution * m.resolution;
    for (const chw of out) if (chw.length !== expected) throw new Error(`the generator returned ${chw.length} values per face, expected 3 x ${m.resolution} x ${m.resolution}`);
    return out;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
