import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import type pino from 'pino';
import type { z } from 'zod';
import { apiKeyFrom, bearerTokenFrom } from '../auth/authorization-header';
import { hasAdvancedParams } from '../auth/classes';
import type { Config } from '../config/config';
import { RecoveringRedisStore } from '../limits/redis-store';
import { DEFAULT_AUTH_LIMITS, type AuthLimits } from './auth-limits';
import { JwtService } from './jwt';
import { createMailer, type Mailer } from './mailer';
import { DELIVERY_NAME, registeredNotice, resentNotice } from './verification-notice';
import { dummyHash, hashPassword, verifyPassword } from './passwords';
import { createKeyBody, fieldErrors, loginBody, registerBody, resendBody } from './schemas';
import { AccountError, MAX_ACTIVE_KEYS, usageDay, type AccountStore, type User } from './store';

export const JSON_BODY_LIMIT = '10kb';

export interface AccountRoutesDeps {
  config: Config;
  store: AccountStore;
  logger: pino.Logger;
  redis?: Redis;
  mailer?: Mailer;
  jwt?: JwtService;
  authLimits?: Partial<AuthLimits>;
}

/** The account summary of GET /v1/account. */
export async function accountSummary(config: Config, store: AccountStore, user: User) {
  const limits = config.limits[user.class];
  return {
    user_id: user.id,
    email: user.email,
    username: user.username,
    name: user.name,
    email_verified: user.email_verified,
    created_at: user.created_at,
    class: user.class,
    advanced_parameters: hasAdvancedParams(user.class),
    limits: {
      burst: { requests: limits.burst, window_seconds: config.windows.burst },
      daily: { requests: limits.daily, window_seconds: config.windows.daily },
    },
    usage_today: { requests: await store.usageToday(user.id), date: usageDay(), timezone: 'UTC' },
    api_keys: { active: (await store.listKeys(user.id)).length, max: MAX_ACTIVE_KEYS },
  };
}

function unauthorized(res: Response, detail: string) {
  res.setHeader('WWW-Authenticate', 'Bearer realm="facestudio"');
  res.status(401).json({ detail });
}

function badBody(res: Response, error: z.ZodError) {
  res.status(400).json({ detail: 'Invalid request body.', errors: fieldErrors(error) });
}

/** A JSON object body, or a 4xx already sent. */
function jsonObject(req: Request, res: Response): Record<string, unknown> | undefined {
  if (req.body === undefined) {
    res.status(415).json({ detail: 'Send a JSON object with Content-Type: application/json.' });
    return undefined;
  }
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    res.status(400).json({ detail: 'The request body must be a JSON object.' });
    return undefined;
  }
  return req.body as Record<string, unknown>;
}

function noStore(_req: Request, res: Response, next: NextFunction) {
  res.setHeader('Cache-Control', 'no-store');
  next();
}

function baseUrl(config: Config, req: Request): string {
  return (config.publicUrl ?? `${req.protocol}://${req.get('host')}`).replace(/\/+$/, '');
}

/**
 * JSON endpoints of the spec's section 2: registration, email verification, login,
 * API keys, and the account summary.
 */
export function accountRoutes(deps: AccountRoutesDeps): Router {
  const { config, store, logger, redis } = deps;
  const jwt = deps.jwt ?? JwtService.fromConfig(config, store, logger);
  const mailer = deps.mailer ?? createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, logger });
  const limits = { ...DEFAULT_AUTH_LIMITS, ...config.authLimits, ...deps.authLimits };
  // Computed now, so the first login with an unknown email takes no longer than later ones.
  void dummyHash();
  const router = Router();
  const json = express.json({ limit: JSON_BODY_LIMIT });

  // --- brute-force limits -------------------------------------------------------------
  const ipKey = (req: Request) => ipKeyGenerator(req.ip ?? 'unknown', 56);
  const bodyEmail = (req: Request) => {
    const e = (req.body as { email?: unknown } | undefined)?.email;
    return typeof e === 'string' ? e.trim().toLowerCase().slice(0, 254) : '';
  };
  const limiter = (name: string, opts: { limit: number; windowSeconds: number; key: (req: Request) => string; onlyFailures?: boolean; message: string }) =>
    rateLimit({
      windowMs: opts.windowSeconds * 1000,
      limit: opts.limit,
      identifier: name,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: opts.key,
      skipSuccessfulRequests: opts.onlyFailures ?? false,
      store: redis ? (new RecoveringRedisStore(redis, `facestudio:rl:auth-${name}:`) as Store) : undefined,
      passOnStoreError: true,
      validate: { trustProxy: false, xForwardedForHeader: false, ip: false, keyGeneratorIpFallback: false },
      handler: (req: Request, res: Response) => {
        const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
        const reset = info?.resetTime?.getTime() ?? Date.now() + opts.windowSeconds * 1000;
        const seconds = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
        res.setHeader('Retry-After', String(seconds));
        res.status(429).json({ detail: `${opts.message} Try again in ${seconds} second${seconds === 1 ? '' : 's'}.` });
      },
    });
  const loginLimits = [
    limiter('login-ip', { limit: limits.loginPerIp, windowSeconds: limits.loginWindowSeconds, key: ipKey, onlyFailures: true, message: 'Too many failed logins from your network.' }),
    limiter('login', {
      limit: limits.loginPerEmail,
      windowSeconds: limits.loginWindowSeconds,
      key: (req) => `${ipKey(req)}|${bodyEmail(req)}`,
      onlyFailures: true,
      message: 'Too many failed logins for this account.',
    }),
  ];
  const registerLimit = limiter('register', { limit: limits.register, windowSeconds: limits.registerWindowSeconds, key: ipKey, message: 'Too many sign-ups from your network.' });
  const resendLimits = [
    limiter('resend-ip', { limit: limits.resend, windowSeconds: limits.resendWindowSeconds, key: ipKey, message: 'Too many verification emails requested.' }),
    limiter('resend-address', {
      limit: limits.resendPerAddress,
      windowSeconds: limits.resendWindowSeconds,
      // Per recipient, so nobody can flood someone's inbox from many addresses.
      key: (req) => (req.caller?.user?.email ?? bodyEmail(req)) || ipKey(req),
      message: 'Too many verification emails requested for this address.',
    }),
  ];

  // --- authentication of account requests -------------------------------------------------
  /** Bearer JWT (session), or with `allowKey` also `Token <api key>`. Sets res.locals.user. */
  const authenticate =
    (opts: { allowKey: boolean; optional?: boolean }): RequestHandler =>
    async (req, res, next) => {
      const header = req.headers.authorization;
      if (header === undefined) {
        if (opts.optional) return next();
        return unauthorized(res, 'Authentication credentials were not provided. Send Authorization: Bearer <token from login>' + (opts.allowKey ? ' or Authorization: Token <API key>.' : '.'));
      }
      let user: User | undefined;
      const bearer = bearerTokenFrom(header);
      const apiKey = apiKeyFrom(header);
      if (bearer) {
        const claims = await jwt.verify('session', bearer);
        user = claims && (await store.userById(claims.userId));
      } else if (opts.allowKey) {
        user = apiKey ? (await store.userForKey(apiKey))?.user : undefined;
      } else if (apiKey) {
        return unauthorized(res, 'This endpoint needs a session token, not an API key: log in and send Authorization: Bearer <token>.');
      }
      if (!user) return unauthorized(res, 'Invalid token.');
      res.locals.user = user;
      req.caller = { cls: user.class, user };
      next();
    };
  const jwtOnly = authenticate({ allowKey: false });

  const sendVerification = (req: Request, user: User) => {
    void jwt
      .sign('verify-email', user.id, { email: user.email })
      .then((token) => mailer.sendVerification({ to: user.email, name: user.name, link: `${baseUrl(config, req)}/auth/verify-email?token=${token}` }))
      .catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err), userId: user.id }, 'could not send the verification email'));
  };

  // --- routes ----------------------------------------------------------------------------
  router.post('/auth/register-email', noStore, registerLimit, json, async (req, res) => {
    const body = jsonObject(req, res);
    if (!body) return;
    const parsed = registerBody.safeParse(body);
    if (!parsed.success) return badBody(res, parsed.error);
    const { name, email, password, username } = parsed.data;
    let user: User;
    try {
      user = await store.createUser({ name, email, username, passwordHash: await hashPassword(password) });
    } catch (err) {
      if (err instanceof AccountError) {
        // Every taken field is named, so a form can mark both when both are taken.
        res.status(err.status).json({ detail: err.message, errors: err.fields.map((field) => ({ field, message: `That ${field} is already registered.` })) });
        return;
      }
      throw err;
    }
    logger.info({ userId: user.id }, 'user registered');
    sendVerification(req, user);
    res.status(201).json({
      token: await jwt.sign('session', user.id),
      user_id: user.id,
      verification_link: DELIVERY_NAME[mailer.transport],
      detail: registeredNotice(mailer.transport, user.email),
    });
  });

  router.post('/auth/login-email', noStore, json, ...loginLimits, async (req, res) => {
    const body = jsonObject(req, res);
    if (!body) return;
    const parsed = loginBody.safeParse(body);
    if (!parsed.success) return badBody(res, parsed.error);
    const user = await store.userByEmail(parsed.data.email);
    const stored = user && (await store.passwordHash(user.id));
    // An unknown email costs one scrypt like a wrong password does, and reads the same.
    const ok = (await verifyPassword(parsed.data.password, stored ?? (await dummyHash()))) && stored !== undefined;
    if (!ok || !user) {
      res.status(401).json({ detail: 'Invalid email or password.' });
      return;
    }
    res.json({ token: await jwt.sign('session', user.id), user_id: user.id });
  });

  router.get('/auth/verify-email', noStore, async (req, res) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    const wantsHtml = req.accepts(['json', 'html']) === 'html';
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    const claims = token ? await jwt.verify('verify-email', token) : undefined;
    const user = claims && (await store.userById(claims.userId));
    if (!user || claims?.email?.toLowerCase() !== user.email.toLowerCase()) {
      if (wantsHtml) return res.redirect(303, '/account?email_verified=invalid');
      res.status(400).json({ detail: 'This verification link is invalid or has expired. Request a new one with POST /auth/resend-verification.' });
      return;
    }
    if (!user.email_verified) {
      await store.markVerified(user.id);
      logger.info({ userId: user.id }, 'email verified');
    }
    if (wantsHtml) return res.redirect(303, '/account?email_verified=1');
    res.json({ detail: 'Email address verified.', user_id: user.id, email_verified: true });
  });

  router.post('/auth/resend-verification', noStore, json, authenticate({ allowKey: false, optional: true }), ...resendLimits, async (req, res) => {
    const authed = res.locals.user as User | undefined;
    if (authed) {
      if (authed.email_verified) {
        res.json({ detail: 'Your email address is already verified.' });
        return;
      }
      sendVerification(req, authed);
      res.status(202).json({ detail: resentNotice(mailer.transport, authed.email) });
      return;
    }
    const body = jsonObject(req, res);
    if (!body) return;
    const parsed = resendBody.safeParse(body);
    if (!parsed.success) return badBody(res, parsed.error);
    const user = await store.userByEmail(parsed.data.email);
    if (user && !user.email_verified) sendVerification(req, user);
    // The same answer whether or not the address has an account.
    res.status(202).json({ detail: resentNotice(mailer.transport) });
  });

  router.post('/v1/auth/api-keys', noStore, jwtOnly, json, async (req, res) => {
    const user = res.locals.user as User;
    if (!user.email_verified) {
      res.status(403).json({ detail: 'Verify your email address before creating API keys. POST /auth/resend-verification sends a new link.' });
      return;
    }
    const body = jsonObject(req, res);
    if (!body) return;
    const parsed = createKeyBody.safeParse(body);
    if (!parsed.success) return badBody(res, parsed.error);
    try {
      const k = await store.createKey(user.id, parsed.data.name);
      logger.info({ userId: user.id, keyId: k.id, keyPrefix: k.key_prefix }, 'API key created');
      res.status(201).json({ id: k.id, key: k.key, key_prefix: k.key_prefix, name: k.name, created_at: k.created_at });
    } catch (err) {
      if (err instanceof AccountError) {
        res.status(err.status).json({ detail: err.message });
        return;
      }
      throw err;
    }
  });

  router.get('/v1/auth/api-keys', noStore, jwtOnly, async (_req, res) => {
    res.json(await store.listKeys((res.locals.user as User).id));
  });

  router.delete('/v1/auth/api-keys/:id', noStore, jwtOnly, async (req, res) => {
    const user = res.locals.user as User;
    const id = String(req.params.id);
    if (!(await store.revokeKey(id, user.id))) {
      res.status(404).json({ detail: 'No active API key with that id.' });
      return;
    }
    logger.info({ userId: user.id, keyId: id }, 'API key revoked');
    res.status(204).end();
  });

  router.get('/v1/account', noStore, authenticate({ allowKey: true }), async (_req, res) => {
    res.json(await accountSummary(config, store, res.locals.user as User));
  });

  // Body-parser failures: clear 4xx JSON, never a 5xx.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number; expose?: boolean; message?: string };
    if (e.type === 'entity.parse.failed') return void res.status(400).json({ detail: 'The request body is not valid JSON.' });
    if (e.type === 'entity.too.large') return void res.status(413).json({ detail: `The request body is too large; the limit is ${JSON_BODY_LIMIT.replace('kb', ' KB')}.` });
    if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') return void res.status(415).json({ detail: 'Unsupported body encoding; send UTF-8 JSON.' });
    if (e.status && e.status >= 400 && e.status < 500) return void res.status(e.status).json({ detail: e.expose && e.message ? e.message : 'Bad request.' });
    next(err);
  });

  return router;
}
