import type { RssRun } from './memory-model';

/** The two paths compared: every request alone through the networks (GENERATOR_BATCH=1), and batched (the defaults). */
export type GenerationPath = 'unbatched' | 'batched';

/** What the batching phase measured (batching.ts). */
export interface BatchingResult {
  /** The defaults of the batched server: requests per batch at most, and the wait for company. */
  defaults: { batch: number; waitMs: number };
  /** In-process: generator + upscaler time per face by batch size (median over interleaved rounds). */
  networks: Array<{ batch: number; perFaceMs: number; cpuMsPerFace: number }>;
  /** Server settings tried at 32 connections, 256 px: what the defaults were chosen from. */
  sweep: Array<{ batch: number; waitMs: number; rps: number; p50: number; p99: number; meanBatch: number; cpuMsPerImage: number }>;
  /** Old path vs new, throughput rounds alternating between the two servers. */
  throughput: Array<{ path: GenerationPath; connections: number; rps: number[]; p50: number[]; p99: number[]; meanBatch: number; cpuMsPerImage: number[] }>;
  /** Old path vs new, end-to-end latency measured by this client (fractional ms). */
  latency: Array<{ path: GenerationPath; concurrency: number; samples: number[] }>;
  /** RSS of the throughput servers: after start and warm-up, and after every request they served. */
  serverRss: Array<{ path: GenerationPath; warm: number; end: number; requests: number }>;
  /** Fresh servers, 10,000 mixed requests each (memory.ts's workload), production flags. */
  mixedRss: Array<{ path: GenerationPath; run: RssRun }>;
}
