import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo, type Store } from 'express-rate-limit';
import type { LimitTable } from '../config/config';

export type Policy = 'burst' | 'daily';

/** A store per policy: memory, or Redis (one store instance and key prefix per limiter). */
export type StoreFactory = (policy: Policy) => Store | undefined;

/** IPv6 clients are keyed by their /56, so one host cannot dodge limits by rotating addresses. */
const IPV6_SUBNET = 56;

export function limiterKey(req: Request): string {
  const user = req.caller?.user;
  return user ? `user:${user.id}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown', IPV6_SUBNET)}`;
}

export function throttledBody(seconds: number) {
  return { detail: `Request was throttled. Expected available in ${seconds} second${seconds === 1 ? '' : 's'}.` };
}

/**
 * The burst and daily limiters of the spec, per caller class. Every request that reaches them
 * counts (200, 304, 400 alike) except a 503 from a full generator queue, which is refunded.
 */
export function createLimiters(opts: {
  limits: LimitTable;
  windows: { burst: number; daily: number };
  store: StoreFactory;
  onStoreError?: (err: unknown) => void;
}): RequestHandler[] {
  return (['burst', 'daily'] as const).map((policy) =>
    rateLimit({
      windowMs: opts.windows[policy] * 1000,
      limit: (req: Request) => opts.limits[req.caller?.cls ?? 'Anon'][policy],
      identifier: policy,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: limiterKey,
      store: opts.store(policy),
      skipFailedRequests: true,
      requestWasSuccessful: (_req: Request, res: Response) => res.statusCode !== 503,
      // A limiter store outage fails open: generation stays available, and the error is logged.
      passOnStoreError: true,
      validate: { trustProxy: false, xForwardedForHeader: false, ip: false },
      handler: (req: Request, res: Response) => {
        const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
        const reset = info?.resetTime?.getTime() ?? Date.now() + opts.windows[policy] * 1000;
        const seconds = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
        res.setHeader('Retry-After', String(seconds));
        res.status(429).json(throttledBody(seconds));
      },
    }),
  );
}
