import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AccountStore } from '../accounts/store';
import { apiKeyFrom } from '../auth/authorization-header';
import { identifyByToken, TOKEN_CHALLENGE } from '../auth/identify';
import { MAX_EXPIRES_IN, rfc3986, signUrl } from '../auth/signed-url';
import { parseGenerateQuery } from '../params/parse';
import { corsFor } from './cors';

export const DEFAULT_EXPIRES_IN = 3600;

const bodySchema = z.strictObject({
  params: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
  expires_in: z.number().int().min(1).max(MAX_EXPIRES_IN).default(DEFAULT_EXPIRES_IN),
});

/**
 * POST /v1/embed-urls (Token auth): the server signs a /v1/generate URL with the caller's key.
 * Body `{"params": {...generate parameters...}, "expires_in": seconds}` → 201 `{url, expires_at}`.
 * The parameters are validated exactly as GET /v1/generate validates them for the key's class.
 */
export function embedUrlRoutes(deps: { store: AccountStore; corsOrigins: string[]; now?: () => number }): Router {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const cors = corsFor({ origins: deps.corsOrigins, methods: ['POST'], publicAccess: false, allowHeaders: ['Content-Type'] });
  const r = Router();
  r.options('/v1/embed-urls', cors.preflight);
  const json = express.json({ limit: '16kb' });
  const parseBody = (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-User-Class', req.caller?.cls ?? 'Anon');
    json(req, res, (err?: unknown) => {
      if (!err) return next();
      const tooLarge = (err as { status?: number }).status === 413;
      res.status(tooLarge ? 413 : 400).json({ detail: tooLarge ? 'Request body too large (16 KB at most).' : 'Invalid request body: not valid JSON.' });
    });
  };
  r.post('/v1/embed-urls', cors.actual, identifyByToken(store), parseBody, async (req: Request, res: Response) => {
    const key = apiKeyFrom(req.headers.authorization);
    const caller = req.caller;
    if (!caller?.user || !key) {
      res.setHeader('WWW-Authenticate', TOKEN_CHALLENGE);
      res.status(401).json({ detail: 'Authentication credentials were not provided: send Authorization: Token <api_key>.' });
      return;
    }
    const body = bodySchema.safeParse(req.body);
    if (!body.success) {
      res.status(400).json({
        detail: 'Invalid request body: expected JSON {"params": {name: value, ...}, "expires_in": seconds}.',
        errors: body.error.issues.map((i) => ({ param: i.path.length ? i.path.join('.') : '(body)', message: i.message })),
      });
      return;
    }
    const params = Object.fromEntries(Object.entries(body.data.params).map(([n, v]) => [n, String(v)]));
    const query = Object.entries(params)
      .map(([n, v]) => `${rfc3986(n)}=${rfc3986(v)}`)
      .join('&');
    const parsed = parseGenerateQuery(query, caller.cls);
    if (!parsed.ok) {
      res.status(400).json({ detail: 'Invalid request parameters.', errors: parsed.errors });
      return;
    }
    // Keys made before signed URLs get their signing secret now, from the key just presented.
    if (!(await store.ensureSigningSecret(key))) {
      res.setHeader('X-User-Class', 'Anon');
      res.status(401).json({ detail: 'Invalid token.' });
      return;
    }
    const expiresAt = Math.floor(now() / 1000) + body.data.expires_in;
    res.status(201).json({ url: signUrl(params, key, expiresAt), expires_at: expiresAt });
  });
  return r;
}
