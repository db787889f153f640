export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('The generator queue is full.');
  }
}

/**
 * Batching defaults. In the batching benchmark (scripts/tools/bench/batching.ts, BENCHMARKS.md)
 * batches of 4, 8 and 16 and waits of 0-2 ms served 32 clients within 6 % of each other; 8 keeps
 * the batch small next to the default queue of 32.
 */
export const DEFAULT_MAX_BATCH = 8;
export const DEFAULT_BATCH_WAIT_MS = 1;

export interface QueueOptions {
  /** Batches that run at once. */
  concurrency: number;
  /** Jobs that may wait beyond the running batches; more are refused at once. */
  maxQueued: number;
  /** Jobs per batch (1: every job runs alone). */
  maxBatch: number;
  /**
   * How long a job that finds a free slot while another batch runs waits for company before
   * starting. A job that finds the server idle never waits.
   */
  maxWaitMs: number;
}

interface Entry<I, O> {
  item: I;
  resolve(o: O): void;
  reject(err: unknown): void;
}

/**
 * Runs jobs in batches: at most `concurrency` batches at once, each of up to `maxBatch` jobs,
 * and at most `maxQueued` jobs waiting. Beyond that a job is refused at once (503 upstream)
 * instead of piling up latency. Jobs waiting when a batch finishes leave together as the next
 * batch, so the busier the server, the larger its batches, with no timer on the busy path.
 * `runBatch` returns one promise per job, so a job is answered as soon as its own part is done;
 * its batch's slot frees when the last one is.
 */
export class BatchQueue<I, O> {
  private running = 0;
  private readonly waiting: Array<Entry<I, O>> = [];
  private timer: NodeJS.Timeout | undefined;
  private avgBatchMs = 50;

  constructor(
    private readonly runBatch: (items: I[]) => Array<Promise<O>>,
    private readonly opts: QueueOptions,
  ) {
    if (opts.concurrency < 1 || opts.maxBatch < 1) throw new Error('concurrency and maxBatch must be at least 1');
  }

  get depth(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  /** Seconds a refused caller should wait: the time to drain the current queue, at least 1. */
  retryAfter(): number {
    const batchesAhead = this.running + Math.ceil(this.waiting.length / this.opts.maxBatch);
    return Math.max(1, Math.ceil((batchesAhead * this.avgBatchMs) / this.opts.concurrency / 1000));
  }

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const slotFree = this.running < this.opts.concurrency;
      if (!slotFree && this.waiting.length >= this.opts.maxQueued) {
        reject(new QueueFullError(this.retryAfter()));
        return;
      }
      this.waiting.push({ item, resolve, reject });
      if (!slotFree) return; // a finishing batch takes it
      if (this.running === 0 || this.opts.maxWaitMs <= 0 || this.waiting.length >= this.opts.maxBatch) {
        this.startBatch();
      } else {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          if (this.running < this.opts.concurrency && this.waiting.length > 0) this.startBatch();
        }, this.opts.maxWaitMs);
      }
    });
  }

  private startBatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.waiting.splice(0, this.opts.maxBatch);
    this.running++;
    const start = performance.now();
    let results: Array<Promise<O>>;
    try {
      results = this.runBatch(batch.map((e) => e.item));
    } catch (err) {
      results = batch.map(() => Promise.reject(err));
    }
    results.forEach((r, k) => r.then(batch[k].resolve, batch[k].reject));
    void Promise.allSettled(results).then(() => {
      this.avgBatchMs = this.avgBatchMs * 0.9 + (performance.now() - start) * 0.1;
      this.running--;
      while (this.running < this.opts.concurrency && this.waiting.length > 0) this.startBatch();
    });
  }

  /** Resolves once nothing runs or waits (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.running > 0 || this.waiting.length > 0) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
