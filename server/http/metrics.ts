import type { NextFunction, Request, Response } from 'express';
import client from 'prom-client';

export interface Metrics {
  registry: client.Registry;
  requests: client.Counter<'route' | 'status' | 'class'>;
  generationSeconds: client.Histogram<'stage'>;
  batchSize: client.Histogram;
  cacheHits: client.Counter;
}

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new client.Counter({
      name: 'facestudio_http_requests_total',
      help: 'HTTP requests by route, status and caller class',
      labelNames: ['route', 'status', 'class'],
      registers: [registry],
    }),
    generationSeconds: new client.Histogram({
      name: 'facestudio_generation_seconds',
      help: 'Time to generate one image, by stage (inference, encode)',
      labelNames: ['stage'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
      registers: [registry],
    }),
    batchSize: new client.Histogram({
      name: 'facestudio_generation_batch_size',
      help: 'Generated images by the size of the network batch they were made in',
      buckets: [1, 2, 4, 8, 16, 32],
      registers: [registry],
    }),
    cacheHits: new client.Counter({ name: 'facestudio_image_cache_hits_total', help: 'Seeded images served from the in-process cache', registers: [registry] }),
  };
}

/** Counts every finished request under its route pattern (not the raw path: bounded labels). */
export function countRequests(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      metrics.requests.inc({ route, status: String(res.statusCode), class: req.caller?.cls ?? 'Anon' });
    });
    next();
  };
}
