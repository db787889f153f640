import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type pino from 'pino';
import { accountRoutes } from './accounts/routes';
import type { AccountStore } from './accounts/store';
import { identifyByToken } from './auth/identify';
import { signedUrlAuth } from './auth/signed-url';
import type { Config } from './config/config';
import type { FaceService } from './generator/face-service';
import { corsFor } from './http/cors';
import { embedUrlRoutes } from './http/embed-urls';
import { generateHandler } from './http/generate';
import { healthRoutes } from './http/health';
import { logRequests } from './http/logging';
import { countRequests, createMetrics, type Metrics } from './http/metrics';
import { openApiDocument } from './http/openapi';
import { createLimiters, type Policy } from './limits/limiters';
import { webRoutes } from './web/routes';
import { RecoveringRedisStore } from './limits/redis-store';

export interface AppDeps {
  config: Config;
  store: AccountStore;
  faces: FaceService;
  logger: pino.Logger;
  redis?: Redis;
}

export interface App {
  app: express.Express;
  metrics: Metrics;
}

function sendUserClass(req: Request, res: Response, next: NextFunction) {
  res.setHeader('X-User-Class', req.caller?.cls ?? 'Anon');
  next();
}

export function createApp(deps: AppDeps): App {
  const { config, store, faces, logger, redis } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
  // Express would parse ?a[b]=c into objects; the generate route reads the raw string instead.
  app.set('query parser', 'simple');

  const metrics = createMetrics();
  app.use(countRequests(metrics));
  app.use(logRequests(logger));

  const storeFor = (policy: Policy) => (redis ? new RecoveringRedisStore(redis, `facestudio:rl:${policy}:`) : undefined);
  const limiters = createLimiters({
    limits: config.limits,
    windows: config.windows,
    store: storeFor,
    onStoreError: (err, info) => logger.warn({ err: err instanceof Error ? err.message : String(err), ...info }, 'rate-limit store unavailable: requests pass uncounted (fail open)'),
  });
  const cache = new LRUCache<string, Buffer>({ maxSize: Math.max(1, config.cacheMaxBytes), sizeCalculation: (b) => b.length || 1 });

  // After the limiters: a 429 never gets here, and a refunded 503 is not usage either.
  const countUsage = (req: Request, res: Response, next: NextFunction) => {
    const user = req.caller?.user;
    if (user) {
      res.on('finish', () => {
        if (res.statusCode === 503) return;
        // The response is gone already; a failed count is logged, never an unhandled rejection.
        store.recordUsage(user.id).catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err), userId: user.id }, 'could not record usage'));
      });
    }
    next();
  };

  const generateCors = corsFor({ origins: config.corsOrigins, methods: ['GET', 'HEAD'], publicAccess: true, allowHeaders: ['If-None-Match'] });
  app.options('/v1/generate', generateCors.preflight);
  app.get('/v1/generate', generateCors.actual, signedUrlAuth(store), identifyByToken(store), sendUserClass, ...limiters, countUsage, wrap(generateHandler({ faces, store, metrics, cache })));
  app.use(embedUrlRoutes({ store, corsOrigins: config.corsOrigins }));

  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(config));
  });
  app.use(healthRoutes({ faces, redis, metrics, store, logger }));
  app.use(accountRoutes({ config, store, logger, redis }));
  app.use(webRoutes({ config, faces, logger }));

  app.use((req: Request, res: Response) => {
    res.status(404).json({ detail: `No route for ${req.method} ${req.path}.` });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      res.status(status).json({ detail: (err as { expose?: boolean }).expose ? (err as Error).message : 'Bad request.' });
      return;
    }
    logger.error({ err, path: req.path }, 'unhandled error');
    if (!res.headersSent) res.status(500).json({ detail: 'Internal server error.' });
  });
  return { app, metrics };
}

/** Express 5 forwards rejected promises to the error handler; this keeps the type simple. */
function wrap(fn: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction) => fn(req, res).catch(next);
}
