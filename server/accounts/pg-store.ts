import crypto from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { PaidClass } from '../auth/classes';
import { deriveSigningSecret, type SigningKeyRow } from '../auth/signed-url';
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

const UNIQUE_VIOLATION = '23505';

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));

function rowToUser(r: Record<string, unknown>): User {
  return {
    id: r.id as string,
    email: r.email as string,
    username: r.username as string,
    name: r.name as string,
    class: r.class as PaidClass,
    email_verified: r.email_verified === true,
    created_at: iso(r.created_at),
  };
}

const USER_COLUMNS = 'u.id, u.email, u.username, u.name, u.class, u.email_verified, u.created_at';

/**
 * The shared store: PostgreSQL, for any number of replicas on any number of hosts. Every
 * statement is a single round trip or an explicit transaction; nothing is cached in the process.
 * Email and username are unique and looked up case-insensitively through lower() indexes.
 */
export class PgAccountStore implements AccountStore {
  readonly kind = 'postgresql' as const;

  constructor(
    readonly pool: Pool,
    readonly location: string,
  ) {}

  async createUser(u: NewUser): Promise<User> {
    const id = crypto.randomUUID();
    try {
      const { rows } = await this.pool.query(
        `INSERT INTO users (id, email, username, name, password_hash, class, email_verified, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [id, u.email, u.username, u.name ?? '', u.passwordHash ?? null, u.class ?? 'Basic', Boolean(u.verified), new Date().toISOString()],
      );
      return rowToUser(rows[0]);
    } catch (e) {
      // A unique violation is raised only once the other insert has committed, so the lookup
      // below sees it, and names every field that is taken (email, username or both).
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw duplicateUserError(await this.takenFields(u));
      throw e;
    }
  }

  private async takenFields(u: NewUser): Promise<('email' | 'username')[]> {
    const { rows } = await this.pool.query<{ email: boolean; username: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1)) AS email,
              EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($2)) AS username`,
      [u.email, u.username],
    );
    return (['email', 'username'] as const).filter((f) => rows[0][f]);
  }

  async userById(id: string): Promise<User | undefined> {
    const { rows } = await this.pool.query(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1`, [id]);
    return rows[0] && rowToUser(rows[0]);
  }

  async userByEmail(email: string): Promise<User | undefined> {
    const { rows } = await this.pool.query(`SELECT ${USER_COLUMNS} FROM users u WHERE lower(u.email) = lower($1)`, [email]);
    return rows[0] && rowToUser(rows[0]);
  }

  async passwordHash(userId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ password_hash: string | null }>('SELECT password_hash FROM users WHERE id = $1', [userId]);
    return rows[0]?.password_hash ?? undefined;
  }

  async setClass(email: string, cls: PaidClass): Promise<User> {
    const { rows } = await this.pool.query(`UPDATE users u SET class = $1 WHERE lower(u.email) = lower($2) RETURNING ${USER_COLUMNS}`, [cls, email]);
    if (!rows[0]) throw new AccountError(404, `No user with email ${email}.`);
    return rowToUser(rows[0]);
  }

  async markVerified(userId: string): Promise<void> {
    await this.pool.query('UPDATE users SET email_verified = TRUE WHERE id = $1', [userId]);
  }

  /**
   * Locking the user's row (FOR UPDATE) serialises key creation per user across every replica:
   * the second transaction waits, then counts the first one's key. Other users are not blocked.
   */
  async createKey(userId: string, name: string): Promise<ApiKeyInfo & { key: string }> {
    const k = newKeyMaterial(name);
    await this.transaction(async (c) => {
      const owner = await c.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [userId]);
      if (!owner.rows[0]) throw new AccountError(404, 'No such user.');
      const { rows } = await c.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
      if (rows[0].n >= MAX_ACTIVE_KEYS) throw tooManyKeysError();
      await c.query(
        'INSERT INTO api_keys (id, user_id, name, key_prefix, key_hash, signing_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [k.info.id, userId, name, k.info.key_prefix, k.keyHash, k.signingSecret, k.info.created_at],
      );
    });
    return { ...k.info, key: k.key };
  }

  async listKeys(userId: string): Promise<ApiKeyInfo[]> {
    const { rows } = await this.pool.query(
      'SELECT id, name, key_prefix, created_at FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, seq',
      [userId],
    );
    return rows.map((r) => ({ id: r.id, name: r.name, key_prefix: r.key_prefix, created_at: iso(r.created_at) }));
  }

  async revokeKey(id: string, userId?: string): Promise<boolean> {
    const res = userId
      ? await this.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL', [id, userId])
      : await this.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
    return (res.rowCount ?? 0) > 0;
  }

  async userForKey(key: string): Promise<{ user: User; keyId: string; keyPrefix: string } | undefined> {
    const { rows } = await this.pool.query(
      `SELECT ${USER_COLUMNS}, k.id AS key_id, k.key_prefix AS key_prefix FROM api_keys k JOIN users u ON u.id = k.user_id
       WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
      [hashKey(key)],
    );
    const r = rows[0];
    return r && { user: rowToUser(r), keyId: r.key_id as string, keyPrefix: r.key_prefix as string };
  }

  async signingKeysByPrefix(prefix: string): Promise<SigningKeyRow[]> {
    const { rows } = await this.pool.query('SELECT id, user_id, signing_secret, revoked_at FROM api_keys WHERE key_prefix = $1', [prefix]);
    return rows.map((r) => ({ keyId: r.id, userId: r.user_id, signingSecret: r.signing_secret, revoked: r.revoked_at !== null }));
  }

  async ensureSigningSecret(key: string): Promise<string | undefined> {
    const found = await this.userForKey(key);
    if (!found) return undefined;
    await this.pool.query('UPDATE api_keys SET signing_secret = $1 WHERE id = $2 AND signing_secret IS NULL', [deriveSigningSecret(key).toString('hex'), found.keyId]);
    return found.keyPrefix;
  }

  async recordUsage(userId: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO usage_daily (user_id, day, count) VALUES ($1, $2, 1)
       ON CONFLICT (user_id, day) DO UPDATE SET count = usage_daily.count + 1`,
      [userId, usageDay()],
    );
  }

  async usageToday(userId: string): Promise<number> {
    const { rows } = await this.pool.query<{ count: number }>('SELECT count FROM usage_daily WHERE user_id = $1 AND day = $2', [userId, usageDay()]);
    return rows[0]?.count ?? 0;
  }

  async setting(name: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM settings WHERE name = $1', [name]);
    return rows[0]?.value;
  }

  async settingOrInit(name: string, value: string): Promise<string> {
    await this.pool.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
    return (await this.setting(name))!;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken = false;
    try {
      await c.query('BEGIN');
      const result = await work(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      // A connection that cannot even roll back is discarded, not returned to the pool.
      await c.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      c.release(broken);
    }
  }
}
