import { createHash } from 'node:crypto';
import type { Response } from 'express';
import type { ClientRateLimitInfo } from 'express-rate-limit';

/** What one policy says about one caller right now, in the terms of the RateLimit headers. */
export interface PolicyState {
  name: string;
  limit: number;
  /** Requests left in the current window. */
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
  windowSeconds: number;
  /** The limiter key (hashed into the partition key, never sent as is). */
  key: string;
}

/**
 * express-rate-limit's draft-8 partition key: the same hash, so a policy whose headers this
 * module writes reads exactly like one the library wrote itself.
 */
function partitionKey(key: string): string {
  return Buffer.from(createHash('sha256').update(key).digest('hex').slice(0, 12)).toString('base64');
}

/** Appends one policy's items to `RateLimit` and `RateLimit-Policy` (IETF httpapi draft-8). */
export function appendPolicyHeaders(res: Response, s: PolicyState): void {
  if (res.headersSent) return;
  res.append('RateLimit', `"${s.name}"; r=${s.remaining}; t=${s.resetSeconds}`);
  res.append('RateLimit-Policy', `"${s.name}"; q=${s.limit}; w=${s.windowSeconds}; pk=:${partitionKey(s.key)}:`);
}

/**
 * A policy's state read from its store without counting a request. No stored state, or an
 * expired window (the Redis store answers a missing key with NaN hits and a past reset), means
 * a fresh window: the whole quota is left.
 */
export function peekedState(opts: { name: string; limit: number; windowSeconds: number; key: string; stored: ClientRateLimitInfo | undefined; now?: number }): PolicyState {
  const now = opts.now ?? Date.now();
  const { stored } = opts;
  const reset = stored?.resetTime?.getTime();
  const live = stored !== undefined && Number.isFinite(stored.totalHits) && reset !== undefined && reset > now;
  return {
    name: opts.name,
    limit: opts.limit,
    remaining: live ? Math.max(0, opts.limit - stored.totalHits) : opts.limit,
    resetSeconds: live ? Math.ceil((reset - now) / 1000) : opts.windowSeconds,
    windowSeconds: opts.windowSeconds,
    key: opts.key,
  };
}
