import crypto from 'node:crypto';
import type { PaidClass } from '../auth/classes';
import { deriveSigningSecret, type SigningKeyRow } from '../auth/signed-url';
export const MAX_ACTIVE_KEYS = 5;
export const KEY_PREFIX = 'sk-faces-';

export interface User {
  id: string;
  email: string;
  username: string;
  name: string;
  class: PaidClass;
  email_verified: boolean;
  created_at: string;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  key_prefix: string;
  created_at: string;
}

export interface NewUser {
  email: string;
  username: string;
  name?: string;
  class?: PaidClass;
  verified?: boolean;
  passwordHash?: string;
}

export class AccountError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The request fields at fault (a 409 on sign-up names every taken one). */
    readonly fields: string[] = [],
  ) {
    super(message);
  }
}

/** The 409 of a sign-up whose email and/or username is taken; names every taken field. */
export function duplicateUserError(fields: ('email' | 'username')[]): AccountError {
  const taken = fields.length ? fields : ['email'];
  const message = taken.length === 1 ? `That ${taken[0]} is already registered.` : `That ${taken.join(' and ')} are already registered.`;
  return new AccountError(409, message, taken);
}

export const tooManyKeysError = () =>
  new AccountError(409, `You already have ${MAX_ACTIVE_KEYS} active API keys, the most allowed. Delete one to create another.`);

/**
 * Users and API keys, the same on every backend (SQLite embedded, PostgreSQL shared by many
 * replicas). Keys are stored only as SHA-256 plus a short public prefix and the derived signing
 * secret. Nothing here caches: every call reads the database, so a revocation made by any
 * process is seen by every other one on its next request.
 */
export interface AccountStore {
  /** "sqlite" or "postgresql": for logs and /readyz. */
  readonly kind: 'sqlite' | 'postgresql';
  /** Where the data lives, safe to print (a PostgreSQL password is redacted). */
  readonly location: string;

  createUser(u: NewUser): Promise<User>;
  userById(id: string): Promise<User | undefined>;
  userByEmail(email: string): Promise<User | undefined>;
  passwordHash(userId: string): Promise<string | undefined>;
  setClass(email: string, cls: PaidClass): Promise<User>;
  markVerified(userId: string): Promise<void>;
  /** Issues a key; the active-key count check and the insert are one atomic step. */
  createKey(userId: string, name: string): Promise<ApiKeyInfo & { key: string }>;
  listKeys(userId: string): Promise<ApiKeyInfo[]>;
  /** Revokes a key; with `userId`, only that user's key. Returns false when there was none. */
  revokeKey(id: string, userId?: string): Promise<boolean>;
  /** The owner of an active key, looked up by the key's SHA-256 (the index does the matching). */
  userForKey(key: string): Promise<{ user: User; keyId: string; keyPrefix: string } | undefined>;
  /** Every key (active or revoked) with this public prefix, for signed-URL verification. */
  signingKeysByPrefix(prefix: string): Promise<SigningKeyRow[]>;
  /**
   * Gives an active key created before signed URLs its signing secret, derived from the key
   * itself (so only a caller that presents the key can do it). Returns the key's prefix.
   */
  ensureSigningSecret(key: string): Promise<string | undefined>;
  /** Today's (UTC) count of generate requests that counted against a user's limits. */
  recordUsage(userId: string): Promise<void>;
  usageToday(userId: string): Promise<number>;
  setting(name: string): Promise<string | undefined>;
  /** Stores a setting unless one exists; returns the stored value (first writer wins). */
  settingOrInit(name: string, value: string): Promise<string>;
  /** Throws unless the database answers (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomBase62(n: number): string {
  // Rejection sampling keeps every character uniform (256 is not a multiple of 62).
  let out = '';
  while (out.length < n) {
    for (const b of crypto.randomBytes(n)) {
      if (b < 248 && out.length < n) out += BASE62[b % 62];
    }
  }
  return out;
}

/** The day usage is counted under: the UTC calendar date, YYYY-MM-DD. */
export function usageDay(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

/** A new key and every column stored for it: both backends insert exactly this. */
export function newKeyMaterial(name: string) {
  const secret = randomBase62(40);
  const key = `${KEY_PREFIX}${secret}`;
  return {
    key,
    info: { id: crypto.randomUUID(), name, key_prefix: `${KEY_PREFIX}${secret.slice(0, 8)}`, created_at: new Date().toISOString() } as ApiKeyInfo,
    keyHash: hashKey(key),
    signingSecret: deriveSigningSecret(key).toString('hex'),
  };
}
