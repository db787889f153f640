import { encodeFace } from '../imaging/encode';
import { canonicalQuery } from '../params/resolve';
import type { ResolvedParams } from '../params/schema';
import { conditionVector } from './condition';
import { loadManifest, type Manifest } from './manifest';
import { OnnxGenerator } from './onnx-generator';
import { latentFromSeed } from './prng';
import { BoundedQueue } from './queue';

export interface FaceTimings {
  inferenceMs: number;
  encodeMs: number;
}

/**
 * The one code path from resolved parameters to image bytes:
 * seed -> z, attributes -> c, ONNX generator, then resize/stamp/XMP/encode.
 * The HTTP route, the evaluator and the benchmark all go through here.
 */
export class FaceService {
  private constructor(
    readonly manifest: Manifest,
    private readonly generator: OnnxGenerator,
    readonly queue: BoundedQueue,
  ) {}

  static async load(modelDir: string, opts: { concurrency?: number; maxQueued?: number; threads?: number } = {}) {
    const manifest = loadManifest(modelDir);
    const generator = await OnnxGenerator.load(modelDir, manifest, opts.threads);
    return new FaceService(manifest, generator, new BoundedQueue(opts.concurrency ?? 2, opts.maxQueued ?? 32));
  }

  get modelVersion(): string {
    return this.manifest.version;
  }

  /** Renders one face, through the bounded queue (throws QueueFullError when full). */
  render(p: ResolvedParams, timings?: FaceTimings): Promise<Buffer> {
    return this.queue.run(() => this.renderNow(p, timings));
  }

  /** Native-resolution RGB of one face, bypassing the queue (evaluation, parity checks). */
  rawFace(p: ResolvedParams) {
    return this.generator.generate(latentFromSeed(p.seed, this.manifest.latent_dim), conditionVector(p, this.manifest));
  }

  private async renderNow(p: ResolvedParams, timings?: FaceTimings): Promise<Buffer> {
    const t0 = performance.now();
    const face = await this.rawFace(p);
    const t1 = performance.now();
    const bytes = await encodeFace(face, {
      resolution: p.resolution,
      format: p.image_format,
      stamp: p.stampless !== 'yes',
      provenance: { modelName: this.manifest.name, modelVersion: this.manifest.version, seed: p.seed, params: canonicalQuery(p) },
    });
    if (timings) {
      timings.inferenceMs = t1 - t0;
      timings.encodeMs = performance.now() - t1;
    }
    return bytes;
  }

  async close(): Promise<void> {
    await this.queue.drain();
    await this.generator.close();
  }
}
