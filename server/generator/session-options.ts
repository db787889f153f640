import type { InferenceSession } from 'onnxruntime-node';

/**
 * onnxruntime session options shared by every network the server runs (generator, upscaler).
 * Served bytes must be a function of the seed and the build, so every session gets the same
 * fixed settings: a fixed intra-op thread count, one inter-op thread, sequential execution and
 * the full ("all") graph optimisation level, which is deterministic for a given model file and
 * onnxruntime build.
 *
 * Two intra-op threads by default: with the 5.9 M-parameter generator they halve a lone
 * request's inference (BENCHMARKS.md, onnxruntime knobs) and lose nothing with two at once.
 */
export function sessionOptions(threads = 2): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // Idle intra-op threads sleep instead of spinning: on a small machine a spinning ORT
    // thread takes the core that the event loop needs to answer the request.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}
