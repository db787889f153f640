import type { NextFunction, Request, Response } from 'express';
import pino from 'pino';

/**
 * Structured JSON logs. Request lines carry the path without its query string (signed URLs
 * carry signatures there) and never a header: keys, JWTs and passwords cannot leak.
 */
export function createLogger(level: string, destination?: pino.DestinationStream) {
  return pino(
    {
      level,
      redact: { paths: ['password', '*.password', 'key', '*.key', 'token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}

export function logRequests(logger: pino.Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    res.on('finish', () => {
      logger.info({
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round((performance.now() - start) * 10) / 10,
        class: req.caller?.cls,
      }, 'request');
    });
    next();
  };
}
