import express, { Router, type Request, type Response } from 'express';
import helmet from 'helmet';
import type pino from 'pino';
import type { Config } from '../config/config';
import type { FaceService } from '../generator/face-service';
import { QueueFullError } from '../generator/queue';
import { openApiDocument } from '../http/openapi';
import { resolveParams } from '../params/resolve';
import { docsPage } from './docs';
import { ASSETS_DIR } from './layout';
import { accountPage, homePage, loginPage, playgroundPage, SAMPLE_RESOLUTION, signupPage } from './pages';

/** The face on the home page: one fixed seed, rendered once and kept in memory. */
export const SAMPLE_SEED = 20240607;

/**
 * Security headers for the pages: a strict CSP (scripts, styles and connections only from
 * this origin; images also from blob: URLs, which the playground makes from fetched images),
 * no framing, no referrer. No inline script or style anywhere, so nothing needs a nonce.
 */
export function pageSecurity() {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });
}

function origin(config: Config, req: Request): string {
  return (config.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`).replace(/\/+$/, '');
}

/** The web pages of the spec's section 4 and their static assets. */
export function webRoutes(deps: { config: Config; faces: FaceService; logger: pino.Logger }): Router {
  const { config, faces, logger } = deps;
  const router = Router();
  const secure = pageSecurity();
  const sendPage = (render: (req: Request) => string) => (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(render(req));
  };

  router.get('/', secure, sendPage((req) => homePage(config, origin(config, req), { version: faces.modelVersion, resolution: faces.manifest.resolution })));
  // The same condition that picks the mailer (accounts/mailer.ts): no SMTP_URL, links go to the log.
  const delivery = config.smtpUrl ? 'smtp' : 'log';
  router.get('/signup', secure, sendPage(() => signupPage(delivery)));
  router.get('/login', secure, sendPage(loginPage));
  router.get('/account', secure, sendPage(accountPage));
  router.get('/playground', secure, sendPage(playgroundPage));
  router.get('/docs', secure, sendPage(() => docsPage(openApiDocument(config))));

  let sample: Promise<Buffer> | undefined;
  router.get('/assets/sample-face.jpg', secure, async (_req, res) => {
    sample ??= faces.render(resolveParams({ gender: 'female', age: 32, resolution: SAMPLE_RESOLUTION, image_format: 'jpeg' }, SAMPLE_SEED, faces.manifest.priors));
    try {
      const bytes = await sample;
      res.setHeader('Cache-Control', 'public, max-age=86400');
      res.type('jpeg').send(bytes);
    } catch (err) {
      sample = undefined;
      if (!(err instanceof QueueFullError)) logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'sample face failed');
      res.setHeader('Retry-After', '5');
      res.status(503).json({ detail: 'The sample face is not available right now.' });
    }
  });
  router.use('/assets', secure, express.static(ASSETS_DIR, { index: false, maxAge: '1h', fallthrough: true, dotfiles: 'ignore' }));
  return router;
}
