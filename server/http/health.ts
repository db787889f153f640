import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { FaceService } from '../generator/face-service';
import type { Metrics } from './metrics';

export function healthRoutes(deps: { faces: FaceService; redis?: Redis; metrics: Metrics }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Ready when the model is loaded (it is, once the app exists) and Redis answers if configured.
  r.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = { model: deps.faces.modelVersion };
    let ready = true;
    if (deps.redis) {
      try {
        await Promise.race([deps.redis.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 1000))]);
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
