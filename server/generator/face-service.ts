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
import { BoundedQueue } from './queue';

export interface FaceTimings {
  /** Networks: the generator, and the learned upscaler when it runs. */
  inferenceMs: number;
  encodeMs: number;
}

export interface FaceServiceOptions {
  concurrency?: number;
  maxQueued?: number;
  threads?: number;
  /**
   * Run the manifest's learned upscaler (default true). false serves the Lanczos path even
   * when the model folder has an upscaler (UPSCALER=off); a folder without one always does.
   */
  upscaler?: boolean;
  /** Signs every encoded image with a C2PA manifest (the server always passes one). */
  credentials?: ContentCredentials;
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
    readonly queue: BoundedQueue,
    readonly credentials: ContentCredentials | undefined,
  ) {}

  static async load(modelDir: string, opts: FaceServiceOptions = {}) {
    const manifest = loadManifest(modelDir);
    const generator = await OnnxGenerator.load(modelDir, manifest, opts.threads);
    let upscaler: OnnxUpscaler | undefined;
    let resizer: Resizer;
    try {
      if (manifest.upscaler && opts.upscaler !== false) {
        upscaler = await OnnxUpscaler.load(modelDir, manifest.upscaler, manifest.resolution, opts.threads);
      }
      resizer = await Resizer.create(opts.threads);
    } catch (err) {
      await generator.close();
      await upscaler?.close();
      throw err;
    }
    return new FaceService(manifest, generator, upscaler, resizer, new BoundedQueue(opts.concurrency ?? 2, opts.maxQueued ?? 32), opts.credentials);
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

  /** Renders one face, through the bounded queue (throws QueueFullError when full). */
  render(p: ResolvedParams, timings?: FaceTimings): Promise<Buffer> {
    return this.queue.run(() => this.renderNow(p, timings));
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
    const m = this.manifest;
    const chw = await this.nativeOutput(p);
    if (!this.upscaler) return planarToRgb(chw, m.resolution, m.output.range);
    return this.upscale(this.upscaler, rescaleRange(chw, m.output.range, this.upscaler.spec.range));
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

  private async renderNow(p: ResolvedParams, timings?: FaceTimings): Promise<Buffer> {
    const t0 = performance.now();
    const face = await this.sourceFace(p);
    const t1 = performance.now();
    const bytes = await this.encode(face, p);
    if (timings) {
      timings.inferenceMs = t1 - t0;
      timings.encodeMs = performance.now() - t1;
    }
    return bytes;
  }

  async close(): Promise<void> {
    await this.queue.drain();
    await this.generator.close();
    await this.upscaler?.close();
    await this.resizer.close();
  }
}
