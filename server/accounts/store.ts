import crypto from 'node:crypto';
import type { UserClass } from '../auth/classes';
import { deriveSigningSecret } from '../auth/signed-url';
import type { Db } from './db';

export type PaidClass = Exclude<UserClass, 'Anon'>;
export const PAID_CLASSES: PaidClass[] = ['Basic', 'Professional', 'Enterprise'];
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

export class AccountError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
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

function rowToUser(r: Record<string, unknown>): User {
  return {
    id: r.id as string,
    email: r.email as string,
    username: r.username as string,
    name: r.name as string,
    class: r.class as PaidClass,
    email_verified: r.email_verified === 1,
    created_at: r.created_at as string,
  };
}

/** Users and API keys. Keys are stored only as SHA-256 plus a short public prefix. */
export class AccountStore {
  constructor(readonly db: Db) {}

  createUser(u: { email: string; username: string; name?: string; class?: PaidClass; verified?: boolean; passwordHash?: string }): User {
    const id = crypto.randomUUID();
    try {
      this.db
        .prepare(`INSERT INTO users (id, email, username, name, password_hash, class, email_verified, created_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, u.email, u.username, u.name ?? '', u.passwordHash ?? null, u.class ?? 'Basic', u.verified ? 1 : 0, new Date().toISOString());
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const field = String((e as Error).message).includes('username') ? 'username' : 'email';
        throw new AccountError(409, `That ${field} is already registered.`);
      }
      throw e;
    }
    return this.userById(id)!;
  }

  userById(id: string): User | undefined {
    const r = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r && rowToUser(r);
  }

  userByEmail(email: string): User | undefined {
    const r = this.db.prepare('SELECT * FROM users WHERE email = ?').get(email) as Record<string, unknown> | undefined;
    return r && rowToUser(r);
  }

  passwordHash(userId: string): string | undefined {
    const r = this.db.prepare('SELECT password_hash FROM users WHERE id = ?').get(userId) as { password_hash: string | null } | undefined;
    return r?.password_hash ?? undefined;
  }

  setClass(email: string, cls: PaidClass): User {
    const res = this.db.prepare('UPDATE users SET class = ? WHERE email = ?').run(cls, email);
    if (res.changes === 0) throw new AccountError(404, `No user with email ${email}.`);
    return this.userByEmail(email)!;
  }

  markVerified(userId: string): void {
    this.db.prepare('UPDATE users SET email_verified = 1 WHERE id = ?').run(userId);
  }

  /**
   * Issues a key. The count check and the insert share one IMMEDIATE transaction, so
   * concurrent requests (even from other processes) cannot pass the limit.
   */
  createKey(userId: string, name: string): ApiKeyInfo & { key: string } {
    const secret = randomBase62(40);
    const key = `${KEY_PREFIX}${secret}`;
    const info: ApiKeyInfo = { id: crypto.randomUUID(), name, key_prefix: `${KEY_PREFIX}${secret.slice(0, 8)}`, created_at: new Date().toISOString() };
    this.db
      .transaction(() => {
        const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ? AND revoked_at IS NULL').get(userId) as { n: number };
        if (n >= MAX_ACTIVE_KEYS) throw new AccountError(409, `You already have ${MAX_ACTIVE_KEYS} active API keys, the most allowed. Delete one to create another.`);
        this.db
          .prepare('INSERT INTO api_keys (id, user_id, name, key_prefix, key_hash, signing_secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(info.id, userId, name, info.key_prefix, hashKey(key), deriveSigningSecret(key).toString('hex'), info.created_at);
      })
      .immediate();
    return { ...info, key };
  }

  listKeys(userId: string): ApiKeyInfo[] {
    return this.db
      .prepare('SELECT id, name, key_prefix, created_at FROM api_keys WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at')
      .all(userId) as ApiKeyInfo[];
  }

  /** Revokes a key; with `userId`, only that user's key. Returns false when there was none. */
  revokeKey(id: string, userId?: string): boolean {
    const sql = userId
      ? 'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL'
      : 'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL';
    const args = userId ? [new Date().toISOString(), id, userId] : [new Date().toISOString(), id];
    return this.db.prepare(sql).run(...args).changes > 0;
  }

  /**
   * The owner of an active key. Lookup by SHA-256 of the presented key: the index does the
   * matching, so no secret is ever compared byte by byte in JavaScript.
   */
  userForKey(key: string): { user: User; keyId: string; keyPrefix: string } | undefined {
    const r = this.db
      .prepare(`SELECT u.*, k.id AS key_id, k.key_prefix AS key_prefix FROM api_keys k JOIN users u ON u.id = k.user_id
                WHERE k.key_hash = ? AND k.revoked_at IS NULL`)
      .get(hashKey(key)) as Record<string, unknown> | undefined;
    return r && { user: rowToUser(r), keyId: r.key_id as string, keyPrefix: r.key_prefix as string };
  }

  /** Every key (active or revoked) with this public prefix, for signed-URL verification. */
  signingKeysByPrefix(prefix: string): { keyId: string; userId: string; signingSecret: string | null; revoked: boolean }[] {
    const rows = this.db
      .prepare('SELECT id, user_id, signing_secret, revoked_at FROM api_keys WHERE key_prefix = ?')
      .all(prefix) as { id: string; user_id: string; signing_secret: string | null; revoked_at: string | null }[];
    return rows.map((r) => ({ keyId: r.id, userId: r.user_id, signingSecret: r.signing_secret, revoked: r.revoked_at !== null }));
  }

  /**
   * Gives an active key created before signed URLs its signing secret, derived from the key
   * itself (so only a caller that presents the key can do it). Returns the key's prefix.
   */
  ensureSigningSecret(key: string): string | undefined {
    const found = this.userForKey(key);
    if (!found) return undefined;
    this.db.prepare('UPDATE api_keys SET signing_secret = ? WHERE id = ? AND signing_secret IS NULL').run(deriveSigningSecret(key).toString('hex'), found.keyId);
    return found.keyPrefix;
  }

  /** Today's (UTC) count of generate requests that counted against a user's limits. */
  recordUsage(userId: string): void {
    this.db
      .prepare(`INSERT INTO usage_daily (user_id, day, count) VALUES (?, ?, 1)
                ON CONFLICT(user_id, day) DO UPDATE SET count = count + 1`)
      .run(userId, usageDay());
  }

  usageToday(userId: string): number {
    const r = this.db.prepare('SELECT count FROM usage_daily WHERE user_id = ? AND day = ?').get(userId, usageDay()) as { count: number } | undefined;
    return r?.count ?? 0;
  }

  setting(name: string): string | undefined {
    return (this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined)?.value;
  }

  /** Stores a setting unless one exists; returns the stored value (first writer wins). */
  settingOrInit(name: string, value: string): string {
    this.db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)').run(name, value);
    return this.setting(name)!;
  }
}
