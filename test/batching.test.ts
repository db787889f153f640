import fs from 'node:fs';
import path from 'node:path';
import { FaceService, type FaceTimings } from '../server/generator/face-service';
import { BatchQueue, QueueFullError } from '../server/generator/queue';
import { rowWise } from '../server/generator/row-wise';
import { resolveParams } from '../server/params/resolve';
import type { GenerateParams, ResolvedParams } from '../server/params/schema';

const MODEL_DIR = path.join(__dirname, '..', 'models', 'facestudio-v1');

/** Varied requests: the batch must not depend on every row asking for the same person. */
function requests(faces: FaceService, resolution: number): ResolvedParams[] {
  const asks: GenerateParams[] = [{ age: 8 }, { age: 35, gender: 'female' }, { age: 70, gender: 'male' }, { mood: 'happy' }, { view_profile: 30 }, { eyewear: 'eyeglasses' }];
  return asks.map((a, k) => resolveParams({ ...a, resolution, image_format: 'jpeg' }, 4_100 + k, faces.manifest.priors));
}

describe('faces in a batch are the faces made alone', () => {
  let learned: FaceService;
  let lanczos: FaceService;
  beforeAll(async () => {
    learned = await FaceService.load(MODEL_DIR, { concurrency: 1, maxBatch: 8 });
    lanczos = await FaceService.load(MODEL_DIR, { concurrency: 1, maxBatch: 8, upscaler: false });
  });
  afterAll(async () => {
    await learned.close();
    await lanczos.close();
  });

  test('the shipped generator and upscaler batch: their batches matched lone runs bit for bit at load', () => {
    expect(learned.pipeline).toBe('learned');
    expect(learned.notBatchable).toBeUndefined();
    expect(lanczos.notBatchable).toBeUndefined();
  });

  test.each([['learned'], ['lanczos']] as const)('on the %s pipeline, each source face of a batch of six equals the one made alone', async (pipeline) => {
    const faces = pipeline === 'learned' ? learned : lanczos;
    const ps = requests(faces, 256);
    const together = await faces.sourceFaces(ps);
    expect(together).toHaveLength(ps.length);
    for (const [k, p] of ps.entries()) {
      const alone = await faces.sourceFace(p);
      expect(together[k].size).toBe(alone.size);
      expect(together[k].data.equals(alone.data)).toBe(true);
    }
  });

  test('concurrent renders share network batches and get the bytes lone renders get', async () => {
    const ps = requests(learned, 256);
    const timings: FaceTimings[] = ps.map(() => ({ inferenceMs: 0, encodeMs: 0, batchSize: 0 }));
    const served = await Promise.all(ps.map((p, k) => learned.render(p, timings[k])));
    // The first request finds the queue idle and runs alone; the others wait for it and go together.
    expect(timings.map((t) => t.batchSize)).toEqual([1, 5, 5, 5, 5, 5]);
    for (const [k, p] of ps.entries()) {
      const alone = await learned.render(p);
      expect(served[k].equals(alone)).toBe(true);
    }
  });
});

test('GENERATOR_BATCH=1 runs every request alone, without loading a batch variant', async () => {
  const faces = await FaceService.load(MODEL_DIR, { concurrency: 1, maxBatch: 1 });
  try {
    expect(faces.notBatchable).toMatch(/batching is turned off/);
    const ps = requests(faces, 128).slice(0, 3);
    const timings: FaceTimings[] = ps.map(() => ({ inferenceMs: 0, encodeMs: 0, batchSize: 0 }));
    await Promise.all(ps.map((p, k) => faces.render(p, timings[k])));
    expect(timings.map((t) => t.batchSize)).toEqual([1, 1, 1]);
  } finally {
    await faces.close();
  }
});

describe('the row-wise variant of a model', () => {
  test('wraps the generator\'s batch-dependent operators and leaves a convolution-only upscaler as it was', () => {
    const generator = rowWise(fs.readFileSync(path.join(MODEL_DIR, 'generator.onnx')));
    expect(generator.rewritten).toBeGreaterThan(0);
    const upscalerBytes = fs.readFileSync(path.join(MODEL_DIR, 'upscaler.onnx'));
    const upscaler = rowWise(upscalerBytes);
    expect(upscaler.rewritten).toBe(0);
    expect(Buffer.from(upscaler.model).equals(upscalerBytes)).toBe(true);
  });
});

describe('the batching queue', () => {
  /** A queue whose batches finish when the test says so; it records every batch it starts. */
  function controlledQueue(opts: { concurrency: number; maxQueued: number; maxBatch: number; maxWaitMs: number }) {
    const batches: number[][] = [];
    const finishers: Array<() => void> = [];
    const queue = new BatchQueue<number, number>((items) => {
      batches.push(items);
      const done = new Promise<void>((resolve) => finishers.push(resolve));
      return items.map(async (i) => {
        await done;
        return i * 10;
      });
    }, opts);
    return { queue, batches, finishNext: () => finishers.shift()!() };
  }
  const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

  test('a job that finds the queue idle starts at once, alone', () => {
    const { queue, batches } = controlledQueue({ concurrency: 2, maxQueued: 10, maxBatch: 8, maxWaitMs: 1000 });
    void queue.run(1);
    expect(batches).toEqual([[1]]);
  });

  test('jobs that wait while a batch runs leave together as the next batch, at most maxBatch at a time', async () => {
    const { queue, batches, finishNext } = controlledQueue({ concurrency: 1, maxQueued: 10, maxBatch: 3, maxWaitMs: 0 });
    const results = [0, 1, 2, 3, 4, 5].map((i) => queue.run(i));
    expect(batches).toEqual([[0]]);
    expect(queue.depth).toBe(5);
    finishNext();
    await tick();
    expect(batches).toEqual([[0], [1, 2, 3]]);
    finishNext();
    await tick();
    finishNext();
    expect(await Promise.all(results)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(batches).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  test('a job that finds a free slot while another batch runs waits up to maxWaitMs for company', async () => {
    const { queue, batches, finishNext } = controlledQueue({ concurrency: 2, maxQueued: 10, maxBatch: 4, maxWaitMs: 30 });
    const results = [queue.run(0), queue.run(1), queue.run(2)];
    expect(batches).toEqual([[0]]);
    await tick(80);
    expect(batches).toEqual([[0], [1, 2]]);
    finishNext();
    finishNext();
    expect(await Promise.all(results)).toEqual([0, 10, 20]);
  });

  test('the wait ends as soon as a full batch has gathered', () => {
    const { queue, batches } = controlledQueue({ concurrency: 2, maxQueued: 10, maxBatch: 2, maxWaitMs: 60_000 });
    for (const i of [0, 1, 2]) void queue.run(i);
    expect(batches).toEqual([[0], [1, 2]]);
  });

  test('beyond maxQueued waiting jobs a job is refused at once with a Retry-After of at least one second', async () => {
    const { queue, finishNext } = controlledQueue({ concurrency: 1, maxQueued: 2, maxBatch: 8, maxWaitMs: 0 });
    const admitted = [queue.run(0), queue.run(1), queue.run(2)];
    await expect(queue.run(3)).rejects.toBeInstanceOf(QueueFullError);
    await queue.run(4).catch((err: QueueFullError) => expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1));
    finishNext();
    await tick();
    finishNext();
    expect(await Promise.all(admitted)).toEqual([0, 10, 20]);
  });

  test('a job that fails in a batch fails alone; its companions get their results', async () => {
    const queue = new BatchQueue<number, number>((items) => items.map(async (i) => {
      if (i === 2) throw new Error('this one failed');
      return i;
    }), { concurrency: 1, maxQueued: 10, maxBatch: 8, maxWaitMs: 0 });
    const results = await Promise.allSettled([1, 2, 3].map((i) => queue.run(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await queue.drain();
    expect(queue.active).toBe(0);
  });
});
