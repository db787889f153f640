import { Router } from 'express';
import type { Redis } from 'ioredis';
import type pino from 'pino';
import { redactText } from '../accounts/redact';
import type { AccountStore } from '../accounts/store';
import type { FaceService } from '../generator/face-service';
import type { Metrics } from './metrics';

const CHECK_TIMEOUT_MS = 1000;

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function healthRoutes(deps: { faces: FaceService; redis?: Redis; metrics: Metrics; store: AccountStore; logger?: pino.Logger }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Ready when the model is loaded (it is, once the app exists), the account database answers,
  // and Redis answers if configured. The answer names no host or URL (it is public); why a
  // check failed goes to the log, with any password in it redacted.
  r.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = { model: deps.faces.modelVersion };
    let ready = true;
    try {
      await withTimeout(deps.store.ping());
      checks.database = 'ok';
    } catch (err) {
      checks.database = 'unreachable';
      ready = false;
      deps.logger?.warn({ database: deps.store.location, err: redactText(err instanceof Error ? err.message : String(err)) }, 'readiness: the account database does not answer');
    }
    if (deps.redis) {
      try {
        await withTimeout(deps.redis.ping());
        checks.redis = 'ok';
      } catch {
        checks.redis = 'unreachable';
        ready = false;
      }
    }
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  r.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return r;
}
