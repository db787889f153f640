import crypto from 'node:crypto';
import type { PaidClass } from '../auth/classes';
import { deriveSigningSecret, type SigningKeyRow } from '../auth/signed-url';
import type { Db } from './db';
import {
  duplicateUserError,
  hashKey,
  newKeyMaterial,
  tooManyKeysError,
  usageDay,
  AccountError,
  MAX_ACTIVE_KEYS,
  type AccountStore,
  type ApiKeyInfo,
  type NewUser,
  type User,
} from './store';

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

/**
 * The embedded store: one SQLite file (WAL), which several processes on one host may share.
 * better-sqlite3 is synchronous; the methods are async only to share the interface with
 * PostgreSQL. Email and username columns are COLLATE NOCASE, so lookups ignore case.
 */
export class SqliteAccountStore implements AccountStore {
  readonly kind = 'sqlite' as const;
  readonly location: string;

  constructor(
    readonly db: Db,
    file = db.name,
  ) {
    this.location = file;
  }

  async createUser(u: NewUser): Promise<User> {
    const id = crypto.randomUUID();
    try {
      this.db
        .prepare(`INSERT INTO users (id, email, username, name, password_hash, class, email_verified, created_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, u.email, u.username, u.name ?? '', u.passwordHash ?? null, u.class ?? 'Basic', u.verified ? 1 : 0, new Date().toISOString());
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw duplicateUserError(this.takenFields(u));
      throw e;
    }
    return (await this.userById(id))!;
  }

  /** Which of the new user's unique fields another user already has. */
  private takenFields(u: NewUser): ('email' | 'username')[] {
    const fields: ('email' | 'username')[] = [];
    if (this.db.prepare('SELECT 1 FROM users WHERE email = ?').get(u.email)) fields.push('email');
    if (this.db.prepare('SELECT 1 FROM users WHERE username = ?').get(u.username)) fields.push('username');
    return fields;
  }

  async userById(id: string): Promise<User | undefined> {
    const r = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r && rowToUser(r);
  }

  async userByEmail(email: string): Promise<User | undefined> {
    const r = this.db.prepare('SELECT * FROM users WHERE email = ?').get(email) as Record<string, unknown> | undefined;
    return r && rowToUser(r);
  }

  async passwordHash(userId: string): Promise<string | undefined> {
    const r = this.db.prepare('SELECT password_hash FROM users WHERE id = ?').get(userId) as { password_hash: string | null } | undefined;
    return r?.password_hash ?? undefined;
  }

  async setClass(email: string, cls: PaidClass): Promise<User> {
    const res = this.db.prepare('UPDATE users SET class = ? WHERE email = ?').run(cls, email);
    if (res.changes === 0) throw new AccountError(404, `No user with email ${email}.`);
    return (await this.userByEmail(email))!;
  }

  async markVerified(userId: string): Promise<void> {
    this.db.prepare('UPDATE users SET email_verified = 1 WHERE id = ?').run(userId);
  }

  /**
   * The count check and the insert share one IMMEDIATE transaction (it takes the write lock
   * first), so concurrent requests, even from other processes, cannot pass the limit.
   */
  async createKey(userId: string, name: string): Promise<ApiKeyInfo & { key: string }> {
    const k = newKeyMaterial(name);
    this.db
      .transaction(() => {
        const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ? AND revoked_at IS NULL').get(userId) as { n: number };
        if (n >= MAX_ACTIVE_KEYS) throw tooManyKeysError();
        this.db
          .prepare('INSERT INTO api_keys (id, user_id, name, key_prefix, key_hash, signing_secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(k.info.id, userId, name, k.info.key_prefix, k.keyHash, k.signingSecret, k.info.created_at);
      })
      .immediate();
    return { ...k.info, key: k.key };
  }

  async listKeys(userId: string): Promise<ApiKeyInfo[]> {
    return this.db
      .prepare('SELECT id, name, key_prefix, created_at FROM api_keys WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at, rowid')
      .all(userId) as ApiKeyInfo[];
  }

  async revokeKey(id: string, userId?: string): Promise<boolean> {
    const now = new Date().toISOString();
    const res = userId
      ? this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL').run(now, id, userId)
      : this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, id);
    return res.changes > 0;
  }

  async userForKey(key: string): Promise<{ user: User; keyId: string; keyPrefix: string } | undefined> {
    const r = this.db
      .prepare(`SELECT u.*, k.id AS key_id, k.key_prefix AS key_prefix FROM api_keys k JOIN users u ON u.id = k.user_id
                WHERE k.key_hash = ? AND k.revoked_at IS NULL`)
      .get(hashKey(key)) as Record<string, unknown> | undefined;
    return r && { user: rowToUser(r), keyId: r.key_id as string, keyPrefix: r.key_prefix as string };
  }

  async signingKeysByPrefix(prefix: string): Promise<SigningKeyRow[]> {
    const rows = this.db
      .prepare('SELECT id, user_id, signing_secret, revoked_at FROM api_keys WHERE key_prefix = ?')
      .all(prefix) as { id: string; user_id: string; signing_secret: string | null; revoked_at: string | null }[];
    return rows.map((r) => ({ keyId: r.id, userId: r.user_id, signingSecret: r.signing_secret, revoked: r.revoked_at !== null }));
  }

  async ensureSigningSecret(key: string): Promise<string | undefined> {
    const found = await this.userForKey(key);
    if (!found) return undefined;
    this.db.prepare('UPDATE api_keys SET signing_secret = ? WHERE id = ? AND signing_secret IS NULL').run(deriveSigningSecret(key).toString('hex'), found.keyId);
    return found.keyPrefix;
  }

  async recordUsage(userId: string): Promise<void> {
    this.db
      .prepare(`INSERT INTO usage_daily (user_id, day, count) VALUES (?, ?, 1)
                ON CONFLICT(user_id, day) DO UPDATE SET count = count + 1`)
      .run(userId, usageDay());
  }

  async usageToday(userId: string): Promise<number> {
    const r = this.db.prepare('SELECT count FROM usage_daily WHERE user_id = ? AND day = ?').get(userId, usageDay()) as { count: number } | undefined;
    return r?.count ?? 0;
  }

  async setting(name: string): Promise<string | undefined> {
    return (this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined)?.value;
  }

  async settingOrInit(name: string, value: string): Promise<string> {
    this.db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)').run(name, value);
    return (await this.setting(name))!;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
