export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('The generator queue is full.');
  }
}

/**
 * Runs at most `concurrency` jobs at once and holds at most `maxQueued` more waiting.
 * Beyond that a job is refused at once (503 upstream) instead of piling up latency.
 */
export class BoundedQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private avgMs = 50;

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
  ) {}

  get depth(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  /** Seconds a refused caller should wait: the time to drain the current queue, at least 1. */
  retryAfter(): number {
    const jobsAhead = this.running + this.waiting.length;
    return Math.max(1, Math.ceil((jobsAhead * this.avgMs) / this.concurrency / 1000));
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueued) throw new QueueFullError(this.retryAfter());
      // The finishing job hands its slot straight to us, so `running` never overshoots.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    const start = performance.now();
    try {
      return await job();
    } finally {
      this.avgMs = this.avgMs * 0.9 + (performance.now() - start) * 0.1;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Resolves once nothing runs or waits (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.running > 0 || this.waiting.length > 0) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
