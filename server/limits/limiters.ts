import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type ClientRateLimitInfo, type RateLimitInfo, type RateLimitRequestHandler, type Store } from 'express-rate-limit';
import type { LimitTable } from '../config/config';
import { appendPolicyHeaders, peekedState } from './policy-headers';

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

/** How often a store outage is reported while it lasts (each request would otherwise log). */
const STORE_ERROR_REPORT_MS = 10_000;

/**
 * express-rate-limit's logger: store errors (Redis down) go to `onStoreError` at most once per
 * STORE_ERROR_REPORT_MS per limiter, with how many were suppressed; anything else to the console.
 */
function limiterLogger(policy: Policy, onStoreError?: (err: unknown, info: { policy: Policy; suppressed: number }) => void) {
  let lastReport = 0;
  let suppressed = 0;
  return {
    warn: (...args: unknown[]) => console.warn(...args.reverse()),
    error: (err: unknown, message?: string) => {
      if (!message?.includes('error from store')) return console.error(message ?? '', err);
      const now = Date.now();
      if (now - lastReport < STORE_ERROR_REPORT_MS) {
        suppressed++;
        return;
      }
      lastReport = now;
      if (onStoreError) onStoreError(err, { policy, suppressed });
      else console.error(`rate limiter (${policy}): store error, allowing requests uncounted (${suppressed} more since last report):`, err);
      suppressed = 0;
    },
  };
}

/**
 * The burst and daily limiters of the spec, per caller class. Every request that reaches them
 * counts (200, 304, 400 alike) except a 503 from a full generator queue, which is refunded.
 *
 * A 429 from one limiter ends the request before the later limiters run, so its handler reads
 * their state without counting (a rejected request uses no daily unit) and adds their headers:
 * every response that reached the limiters describes both policies (spec §1, Rate limits).
 */
export function createLimiters(opts: {
  limits: LimitTable;
  windows: { burst: number; daily: number };
  store: StoreFactory;
  /** Called (at most every 10 s per policy) while the store fails and requests pass uncounted. */
  onStoreError?: (err: unknown, info: { policy: Policy; suppressed: number }) => void;
}): RequestHandler[] {
  const policies = ['burst', 'daily'] as const;
  const limitOf = (req: Request, policy: Policy) => opts.limits[req.caller?.cls ?? 'Anon'][policy];
  const limiters: RateLimitRequestHandler[] = [];

  /** Appends the headers of the policies after `index`, read from their stores. */
  const laterPolicies = async (req: Request, res: Response, index: number): Promise<void> => {
    const key = limiterKey(req);
    for (let j = index + 1; j < policies.length; j++) {
      const policy = policies[j];
      let stored: ClientRateLimitInfo | undefined;
      try {
        stored = await limiters[j].getKey(key);
      } catch {
        continue; // Store down: that limiter fails open anyway, so it has nothing to report.
      }
      const state = peekedState({ name: policy, limit: limitOf(req, policy), windowSeconds: opts.windows[policy], key, stored });
      appendPolicyHeaders(res, state);
    }
  };

  policies.forEach((policy, index) =>
    limiters.push(
      rateLimit({
        windowMs: opts.windows[policy] * 1000,
        limit: (req: Request) => limitOf(req, policy),
        identifier: policy,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        keyGenerator: limiterKey,
        store: opts.store(policy),
        skipFailedRequests: true,
        requestWasSuccessful: (_req: Request, res: Response) => res.statusCode !== 503,
        // A limiter store outage fails open: generation stays available, and the error is logged.
        // Why open: limits protect capacity and fairness, and the generator queue (503 when
        // full) still bounds load without Redis; failing closed would turn a Redis outage into
        // a full API outage for every paying caller. Exercised by test/replicas.test.ts.
        passOnStoreError: true,
        logger: limiterLogger(policy, opts.onStoreError),
        validate: { trustProxy: false, xForwardedForHeader: false, ip: false },
        handler: async (req: Request, res: Response) => {
          const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
          const reset = info?.resetTime?.getTime() ?? Date.now() + opts.windows[policy] * 1000;
          const seconds = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
          await laterPolicies(req, res, index);
          res.setHeader('Retry-After', String(seconds));
          res.status(429).json(throttledBody(seconds));
        },
      }),
    ),
  );
  return limiters;
}
