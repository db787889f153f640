import type { NextFunction, Request, Response } from 'express';

/** Response headers a browser script on another origin may read. */
export const EXPOSED_HEADERS = ['X-Seed', 'X-Model-Version', 'X-Generation-Params', 'X-User-Class', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'ETag'];

export interface CorsOptions {
  /** CORS_ORIGINS: exact origins (`https://app.example.com`) and/or `*`. */
  origins: string[];
  /** Methods the route serves, e.g. ['GET', 'HEAD'] or ['POST']. */
  methods: string[];
  /**
   * Whether requests without an Authorization header (anonymous, signed URLs) may come from
   * any origin when `*` is configured. Token requests always need an explicitly listed origin.
   */
  publicAccess: boolean;
  /** Request headers (besides Authorization) scripts may send, e.g. If-None-Match, Content-Type. */
  allowHeaders: string[];
}

const normalize = (origin: string) => origin.trim().replace(/\/+$/, '').toLowerCase();

/**
 * CORS for one API route. The decision depends on the Origin and on whether the request
 * carries Authorization, so every response says `Vary: Origin, Authorization`.
 *
 * - Origin explicitly listed: its requests are allowed, with or without a Token (echoed origin).
 * - `*` listed: anonymous and signed-URL requests from anywhere (`Access-Control-Allow-Origin: *`),
 *   but a Token request from an unlisted origin gets no Allow-Origin, and its preflight does not
 *   allow the Authorization header, so the browser never sends the key.
 * - No credentials mode (cookies) is ever allowed: this API authenticates by header only.
 */
export function corsFor(opts: CorsOptions) {
  const any = opts.origins.includes('*');
  const listed = new Set(opts.origins.filter((o) => o !== '*').map(normalize));
  const isListed = (origin: string) => listed.has(normalize(origin));

  const actual = (req: Request, res: Response, next: NextFunction) => {
    res.vary('Origin');
    res.vary('Authorization');
    const origin = req.headers.origin;
    if (origin) {
      const withToken = req.headers.authorization !== undefined;
      const allow = isListed(origin) ? origin : any && opts.publicAccess && !withToken ? '*' : undefined;
      if (allow) {
        res.setHeader('Access-Control-Allow-Origin', allow);
        res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS.join(', '));
      }
    }
    next();
  };

  const preflight = (req: Request, res: Response) => {
    res.vary('Origin');
    res.vary('Access-Control-Request-Method');
    res.vary('Access-Control-Request-Headers');
    const origin = req.headers.origin;
    const method = req.headers['access-control-request-method'];
    res.setHeader('Allow', [...opts.methods, 'OPTIONS'].join(', '));
    if (origin && typeof method === 'string') {
      const explicit = isListed(origin);
      if (explicit || (any && opts.publicAccess)) {
        res.setHeader('Access-Control-Allow-Origin', explicit ? origin : '*');
        res.setHeader('Access-Control-Allow-Methods', opts.methods.join(', '));
        // Authorization is only ever allowed for listed origins (a `*` would not cover it anyway).
        res.setHeader('Access-Control-Allow-Headers', [...(explicit ? ['Authorization'] : []), ...opts.allowHeaders].join(', '));
        res.setHeader('Access-Control-Max-Age', '600');
      }
    }
    res.status(204).end();
  };

  return { actual, preflight };
}
