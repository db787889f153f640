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

/**
 * Credentials a client may put in a path by mistake (`/v1/generate/sk-faces-...`): API keys and
 * JWTs are cut to what is public (the key prefix) before a path is logged.
 */
const SECRET_IN_PATH = /(sk-faces-[A-Za-z0-9]{8})[A-Za-z0-9_-]+|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

export function loggablePath(path: string): string {
  return path.replace(SECRET_IN_PATH, (_m, keyPrefix?: string) => (keyPrefix ? `${keyPrefix}[redacted]` : '[redacted]'));
}

export function logRequests(logger: pino.Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    res.on('finish', () => {
      logger.info({
        method: req.method,
        path: loggablePath(req.path),
        status: res.statusCode,
        ms: Math.round((performance.now() - start) * 10) / 10,
        class: req.caller?.cls,
      }, 'request');
    });
    next();
  };
}
