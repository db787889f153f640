import type { ContentCredentials } from '../imaging/content-credentials';
import { encodeFace } from '../imaging/encode';
import { Resizer } from '../imaging/resizer';
import { canonicalQuery } from '../params/resolve';
import type { ResolvedParams } from '../params/schema';
import { conditionVector } from './condition';
import { loadManifest, type Manifest } from './manifest';
import { OnnxGenerator, type RawFace } from './onnx-generator';
import { OnnxUpscaler } from './onnx-upscaler';
import { planarToRgb, rescaleRange, rgbToPlanar } from './planar';
import { latentFromSeed } from './prng';
import { BatchQueue, DEFAULT_BATCH_WAIT_MS, DEFAULT_MAX_BATCH, type QueueOptions } from './queue';

export interface FaceTimings {
  /** Networks: the generator, and the learned upscaler when it runs (for the whole batch). */
  inferenceMs: number;
  encodeMs: number;
  /** Faces in the batch this one went through the networks with. */
  batchSize: number;
}

export interface FaceServiceOptions {
  /** Batches through the networks at once (GENERATOR_CONCURRENCY). */
  concurrency?: number;
  maxQueued?: number;
  /** Requests per batch, at most (GENERATOR_BATCH; 1 runs every request alone). */
  maxBatch?: number;
  /** Longest wait of a request for others to batch with, when others already run (GENERATOR_BATCH_WAIT_MS). */
  batchWaitMs?: number;
  threads?: number;
  /**
   * Run the manifest's learned upscaler (default true). false serves the Lanczos path even
   * when the model folder has an upscaler (UPSCALER=off); a folder without one always does.
   */
  upscaler?: boolean;
  /** Signs every encoded image with a C2PA manifest (the server always passes one). */
  credentials?: ContentCredentials;
}

interface Job {
  p: ResolvedParams;
  timings?: FaceTimings;
}

/** How a face gets from the generator's native size to the requested one. */
export type Pipeline = 'learned' | 'lanczos';

/**
 * The one code path from resolved parameters to image bytes:
 * seed -> z, attributes -> c, ONNX generator, the learned x2 upscaler when the model has one,
 * then resize (onnxruntime)/stamp/XMP/encode. The HTTP route, the evaluator and the benchmark all go through here.
 */
export class FaceService {
  private constructor(
    readonly manifest: Manifest,
    private readonly generator: OnnxGenerator,
    private readonly upscaler: OnnxUpscaler | undefined,
    private readonly resizer: Resizer,
    queueOptions: QueueOptions,
    readonly credentials: ContentCredentials | undefined,
  ) {
    this.queue = new BatchQueue<Job, Buffer>((jobs) => this.renderBatch(jobs), queueOptions);
  }

  readonly queue: BatchQueue<Job, Buffer>;

  static async load(modelDir: string, opts: FaceServiceOptions = {}) {
    const manifest = loadManifest(modelDir);
    const maxBatch = Math.max(1, opts.maxBatch ?? DEFAULT_MAX_BATCH);
    const generator = await OnnxGenerator.load(modelDir, manifest, opts.threads, maxBatch > 1);
    let upscaler: OnnxUpscaler | undefined;
    let resizer: Resizer;
    try {
      if (manifest.upscaler && opts.upscaler !== false) {
        upscaler = await OnnxUpscaler.load(modelDir, manifest.upscaler, manifest.resolution, opts.threads, maxBatch > 1);
      }
      resizer = await Resizer.create(opts.threads);
    } catch (err) {
      await generator.close();
      await upscaler?.close();
      throw err;
    }
    // A network that cannot batch byte-identically runs a batch's faces one by one (BatchSession).
    return new FaceService(manifest, generator, upscaler, resizer, {
      concurrency: opts.concurrency ?? 2,
      maxQueued: opts.maxQueued ?? 32,
      maxBatch,
      maxWaitMs: opts.batchWaitMs ?? DEFAULT_BATCH_WAIT_MS,
    }, opts.credentials);
  }

  /** Why requests are not batched (the networks that cannot be), or undefined when they are. */
  get notBatchable(): string | undefined {
    const why = [['generator', this.generator.notBatchable], ['upscaler', this.upscaler?.notBatchable]].filter(([, w]) => w).map(([n, w]) => `${n}: ${w}`);
    return why.length ? why.join('; ') : undefined;
  }

  get pipeline(): Pipeline {
    return this.upscaler ? 'learned' : 'lanczos';
  }

  /**
   * What made the bytes: the generator's version, joined by the upscaler's when it runs. It is
   * in X-Model-Version, every ETag and cache key, and the XMP, so turning the upscaler on or off
   * (or shipping a new one) never serves or validates bytes of the other pipeline.
   */
  get modelVersion(): string {
    return this.upscaler ? `${this.manifest.version}+${this.upscaler.spec.version}` : this.manifest.version;
  }

  /** Side of the image the resize starts from: the native side, doubled by the upscaler. */
  get sourceSide(): number {
    return this.upscaler ? this.upscaler.outputSide : this.manifest.resolution;
  }

  /**
   * Renders one face through the queue (throws QueueFullError when full). Requests that wait
   * together go through the networks as one batch; each face is byte-identical to a lone render.
   */
  render(p: ResolvedParams, timings?: FaceTimings): Promise<Buffer> {
    return this.queue.run({ p, timings });
  }

  /** The generator's native-resolution RGB, without the upscaler, bypassing the queue (parity checks). */
  async rawFace(p: ResolvedParams): Promise<RawFace> {
    return planarToRgb(await this.nativeOutput(p), this.manifest.resolution, this.manifest.output.range);
  }

  /** The generator's float output (CHW, the manifest's range), bypassing the queue. */
  nativeOutput(p: ResolvedParams): Promise<Float32Array> {
    return this.generator.runRaw(latentFromSeed(p.seed, this.manifest.latent_dim), conditionVector(p, this.manifest));
  }

  /**
   * The face the resize starts from, bypassing the queue (evaluation, benchmark): the upscaler
   * reads the generator's float output directly, so no 8-bit rounding happens in between.
   */
  async sourceFace(p: ResolvedParams): Promise<RawFace> {
    return (await this.sourceFaces([p]))[0];
  }

  /** Source faces of several requests, the networks run once for all of them (bypassing the queue). */
  async sourceFaces(ps: readonly ResolvedParams[]): Promise<RawFace[]> {
    const m = this.manifest;
    const chws = await this.generator.runBatch(
      ps.map((p) => latentFromSeed(p.seed, m.latent_dim)),
      ps.map((p) => conditionVector(p, m)),
    );
    const up = this.upscaler;
    if (!up) return chws.map((chw) => planarToRgb(chw, m.resolution, m.output.range));
    const big = await up.runBatch(chws.map((chw) => rescaleRange(chw, m.output.range, up.spec.range)));
    return big.map((chw) => planarToRgb(chw, up.outputSide, up.spec.range));
  }

  /**
   * An 8-bit image of the generator's native side taken the way this service takes generated
   * faces (through the upscaler when it runs): the evaluation's real-photo reference.
   */
  async enlarge(face: RawFace): Promise<RawFace> {
    if (!this.upscaler) return face;
    if (face.size !== this.upscaler.inputSide) throw new Error(`enlarge: expected ${this.upscaler.inputSide} px, got ${face.size} px`);
    return this.upscale(this.upscaler, rgbToPlanar(face, this.upscaler.spec.range));
  }

  /** Planar floats already in the upscaler's range -> its 8-bit RGB output. */
  private async upscale(upscaler: OnnxUpscaler, chw: Float32Array): Promise<RawFace> {
    const up = await upscaler.run(chw);
    return planarToRgb(up.chw, up.side, upscaler.spec.range);
  }

  /** Source face -> packed RGB at `resolution` (the resize alone, as encode does it). */
  resize(face: RawFace, resolution: number): Promise<Buffer> {
    return this.resizer.resize(face, resolution);
  }

  /** Source face -> final bytes at the requested size (resize, stamp, XMP, encode, C2PA manifest). */
  encode(face: RawFace, p: ResolvedParams): Promise<Buffer> {
    return encodeFace(face, {
      resolution: p.resolution,
      format: p.image_format,
      stamp: p.stampless !== 'yes',
      provenance: { modelName: this.manifest.name, modelVersion: this.modelVersion, seed: p.seed, params: canonicalQuery(p) },
      credentials: this.credentials,
    }, this.resizer);
  }

  /** One batch from the queue: the networks once for all, then each face encoded on its own. */
  private renderBatch(jobs: Job[]): Array<Promise<Buffer>> {
    const t0 = performance.now();
    const faces = this.sourceFaces(jobs.map((j) => j.p));
    return jobs.map(async ({ p, timings }, k) => {
      const face = (await faces)[k];
      const t1 = performance.now();
      const bytes = await this.encode(face, p);
      if (timings) {
        timings.inferenceMs = t1 - t0;
        timings.encodeMs = performance.now() - t1;
        timings.batchSize = jobs.length;
      }
      return bytes;
    });
  }

  async close(): Promise<void> {
    await this.queue.drain();
    await this.generator.close();
    await this.upscaler?.close();
    await this.resizer.close();
  }
}
