import path from 'node:path';
import { z } from 'zod';
import { parseAuthLimits, type AuthLimits } from '../accounts/auth-limits';
import { USER_CLASSES, type UserClass } from '../auth/classes';
import { DEFAULT_BATCH_WAIT_MS, DEFAULT_MAX_BATCH } from '../generator/queue';

export type LimitTable = Record<UserClass, { burst: number; daily: number }>;

export const DEFAULT_LIMITS: LimitTable = {
  Anon: { burst: 1, daily: 60 },
  Basic: { burst: 5, daily: 120 },
  Professional: { burst: 30, daily: 1000 },
  Enterprise: { burst: 120, daily: 6000 },
};

export interface Config {
  port: number;
  host: string;
  databasePath: string;
  /** postgres://…: accounts in PostgreSQL, shared by every replica; wins over databasePath. */
  databaseUrl?: string;
  redisUrl?: string;
  modelDir: string;
  /** Run the model's learned upscaler when it has one (UPSCALER=on, the default); off serves Lanczos. */
  upscaler: boolean;
  trustProxy?: string | number | boolean;
  smtpUrl?: string;
  /** Sender of verification mail (MAIL_FROM); real SMTP relays reject senders of foreign domains. */
  mailFrom?: string;
  jwtSecret?: string;
  publicUrl?: string;
  limits: LimitTable;
  windows: { burst: number; daily: number };
  /** Brute-force limits of login, sign-up and verification mail (AUTH_RATE_LIMITS). */
  authLimits: AuthLimits;
  generatorQueue: number;
  /** Batches through the networks at once. */
  generatorConcurrency: number;
  /** Requests per batch at most (1: no batching). */
  generatorBatch: number;
  /** Longest wait of a request for company while another batch runs. */
  generatorBatchWaitMs: number;
  cacheMaxBytes: number;
  corsOrigins: string[];
  logLevel: string;
  /** C2PA_CERT and C2PA_KEY (PEM paths): the operator's signing chain and key, both or neither. */
  c2paCert?: string;
  c2paKey?: string;
  /** Where the self-signed development chain lives when there is no C2PA_CERT: beside the account database. */
  c2paDevDir: string;
}

const positiveInt = z.number().int().positive();
const limitOverride = z
  .partialRecord(z.enum(USER_CLASSES), z.object({ burst: positiveInt, daily: positiveInt }).partial())
  .optional();
const windowsOverride = z.object({ burst: positiveInt, daily: positiveInt }).partial().optional();

function json(name: string, raw: string | undefined): unknown {
  if (raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`${name} is not valid JSON`);
  }
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

/** TRUST_PROXY as express understands it: a hop count, true/false, or a list of addresses. */
function trustProxy(raw: string | undefined): Config['trustProxy'] {
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

/** DATABASE_URL: only PostgreSQL URLs; anything else would silently fall back to SQLite. */
function databaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^postgres(ql)?:\/\//.test(raw)) throw new Error('DATABASE_URL must be a PostgreSQL URL, postgres://user:password@host:5432/database (unset it to use the SQLite file of DATABASE_PATH)');
  return raw;
}

export const DEFAULT_MODEL = 'facestudio-v2';

/** UPSCALER: on (default) or off; anything else is a typo that must not silently pick a pipeline. */
function onOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new Error(`${name} must be "on" or "off", got "${raw}"`);
}

/** Reads the environment once at start; a bad value stops the server with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const limitsParsed = limitOverride.safeParse(json('RATE_LIMITS', env.RATE_LIMITS));
  if (!limitsParsed.success) throw new Error(`RATE_LIMITS is invalid: ${limitsParsed.error.message}`);
  const windowsParsed = windowsOverride.safeParse(json('RATE_LIMIT_WINDOWS', env.RATE_LIMIT_WINDOWS));
  if (!windowsParsed.success) throw new Error(`RATE_LIMIT_WINDOWS is invalid: ${windowsParsed.error.message}`);
  const limits = structuredClone(DEFAULT_LIMITS);
  for (const [cls, override] of Object.entries(limitsParsed.data ?? {})) {
    Object.assign(limits[cls as UserClass], override);
  }
  const c2paCert = env.C2PA_CERT || undefined;
  const c2paKey = env.C2PA_KEY || undefined;
  if (Boolean(c2paCert) !== Boolean(c2paKey)) throw new Error(`C2PA_CERT and C2PA_KEY go together: ${c2paCert ? 'C2PA_KEY' : 'C2PA_CERT'} is not set (unset both to sign with the development certificate)`);
  const databasePath = env.DATABASE_PATH || './data/facestudio.db';
  const root = path.resolve(__dirname, '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []));
  return {
    port: intEnv(env, 'PORT', 8080),
    host: env.HOST || '0.0.0.0',
    databasePath,
    databaseUrl: databaseUrl(env.DATABASE_URL),
    redisUrl: env.REDIS_URL || undefined,
    modelDir: env.MODEL_DIR || path.join(root, 'models', DEFAULT_MODEL),
    upscaler: onOff('UPSCALER', env.UPSCALER, true),
    trustProxy: trustProxy(env.TRUST_PROXY),
    smtpUrl: env.SMTP_URL || undefined,
    mailFrom: env.MAIL_FROM || undefined,
    jwtSecret: env.JWT_SECRET || undefined,
    publicUrl: env.PUBLIC_URL || undefined,
    limits,
    windows: { burst: 60, daily: 86400, ...(windowsParsed.data ?? {}) },
    authLimits: parseAuthLimits(json('AUTH_RATE_LIMITS', env.AUTH_RATE_LIMITS)),
    generatorQueue: intEnv(env, 'GENERATOR_QUEUE', 32),
    generatorConcurrency: Math.max(1, intEnv(env, 'GENERATOR_CONCURRENCY', 2)),
    generatorBatch: Math.max(1, intEnv(env, 'GENERATOR_BATCH', DEFAULT_MAX_BATCH)),
    generatorBatchWaitMs: intEnv(env, 'GENERATOR_BATCH_WAIT_MS', DEFAULT_BATCH_WAIT_MS),
    cacheMaxBytes: intEnv(env, 'CACHE_MAX_MB', 64) * 1024 * 1024,
    corsOrigins: (env.CORS_ORIGINS ?? '*').split(',').map((s) => s.trim()).filter(Boolean),
    logLevel: env.LOG_LEVEL || 'info',
    c2paCert,
    c2paKey,
    c2paDevDir: path.dirname(path.resolve(databasePath)),
  };
}
