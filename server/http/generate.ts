import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import { LRUCache } from 'lru-cache';
import type { AccountStore } from '../accounts/store';
import type { FaceService, FaceTimings } from '../generator/face-service';
import { QueueFullError } from '../generator/queue';
import { parseGenerateQuery } from '../params/parse';
import { canonicalQuery, resolveParams } from '../params/resolve';
import { SEED_MAX, type ResolvedParams } from '../params/schema';
import { IMAGING_VERSION } from '../imaging/encode';
import type { Metrics } from './metrics';

export const SEEDED_CACHE_CONTROL = 'private, max-age=31536000, immutable';

export interface GenerateDeps {
  faces: FaceService;
  store: AccountStore;
  metrics: Metrics;
  cache: LRUCache<string, Buffer>;
}

export function randomSeed(): number {
  return crypto.randomInt(1, SEED_MAX + 1);
}

function rawQuery(req: Request): string {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? '' : req.originalUrl.slice(i + 1);
}

/** Strong ETag of a seeded image: it is a pure function of the model and resolved parameters. */
export function etagFor(modelVersion: string, p: ResolvedParams): string {
  return `"${crypto.createHash('sha256').update(`${modelVersion}\nimaging-${IMAGING_VERSION}\n${canonicalQuery(p)}`).digest('base64url').slice(0, 32)}"`;
}

function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** GET /v1/generate, after identification and limits: parameters -> generator -> encoder. */
export function generateHandler(deps: GenerateDeps) {
  return async (req: Request, res: Response) => {
    const caller = req.caller!;
    const parsed = parseGenerateQuery(req.signedQuery ?? rawQuery(req), caller.cls);
    if (!parsed.ok) {
      res.status(400).json({ detail: 'Invalid request parameters.', errors: parsed.errors });
      return;
    }
    // A signed URL without `seed` still names one fixed face (seed derived from its signature).
    const seed = parsed.params.seed ?? req.signedSeed ?? randomSeed();
    const seeded = parsed.params.seed !== undefined || req.signedSeed !== undefined;
    const p = resolveParams(parsed.params, seed, deps.faces.manifest.priors);
    const generationParams = canonicalQuery(p);

    res.setHeader('X-Seed', String(seed));
    res.setHeader('X-Model-Version', deps.faces.modelVersion);
    res.setHeader('X-Generation-Params', generationParams);
    res.setHeader('Vary', 'Authorization, Origin');
    const contentType = p.image_format === 'jpeg' ? 'image/jpeg' : 'image/webp';

    let cacheKey: string | undefined;
    if (seeded) {
      const etag = etagFor(deps.faces.modelVersion, p);
      res.setHeader('ETag', etag);
      res.setHeader('Cache-Control', SEEDED_CACHE_CONTROL);
      if (ifNoneMatchHits(req.headers['if-none-match'], etag)) {
        res.status(304).end();
        return;
      }
      cacheKey = `${deps.faces.modelVersion}|${IMAGING_VERSION}|${generationParams}`;
      const hit = deps.cache.get(cacheKey);
      if (hit) {
        deps.metrics.cacheHits.inc();
        res.status(200).type(contentType).send(hit);
        return;
      }
    } else {
      res.setHeader('Cache-Control', 'no-store');
    }

    const timings: FaceTimings = { inferenceMs: 0, encodeMs: 0, batchSize: 1 };
    let bytes: Buffer;
    try {
      bytes = await deps.faces.render(p, timings);
    } catch (err) {
      if (err instanceof QueueFullError) {
        res.removeHeader('ETag');
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Retry-After', String(err.retryAfterSeconds));
        res.status(503).json({ detail: `The generator is at capacity. Retry in ${err.retryAfterSeconds} second${err.retryAfterSeconds === 1 ? '' : 's'}; this request did not count against your limits.` });
        return;
      }
      throw err;
    }
    deps.metrics.generationSeconds.observe({ stage: 'inference' }, timings.inferenceMs / 1000);
    deps.metrics.generationSeconds.observe({ stage: 'encode' }, timings.encodeMs / 1000);
    deps.metrics.batchSize.observe(timings.batchSize);
    if (cacheKey) deps.cache.set(cacheKey, bytes);
    res.status(200).type(contentType).send(bytes);
  };
}
