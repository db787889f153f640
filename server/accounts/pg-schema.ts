import type { Pool, PoolClient } from 'pg';

/**
 * PostgreSQL schema history. Each entry runs once, in order, in its own transaction, and is
 * recorded in schema_migrations; add new entries at the end, never edit an applied one.
 * The same logical schema as SQLite's (server/accounts/db.ts); differences are PostgreSQL
 * idioms: case-insensitive uniqueness through lower() indexes (SQLite: COLLATE NOCASE),
 * booleans and timestamps as their own types, and `seq` to list keys in creation order.
 */
export const PG_MIGRATIONS: string[] = [
  `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL,
     username TEXT NOT NULL,
     name TEXT NOT NULL DEFAULT '',
     password_hash TEXT,
     class TEXT NOT NULL DEFAULT 'Basic' CHECK (class IN ('Basic','Professional','Enterprise')),
     email_verified BOOLEAN NOT NULL DEFAULT FALSE,
     created_at TIMESTAMPTZ NOT NULL
   );
   CREATE UNIQUE INDEX users_email_ci ON users (lower(email));
   CREATE UNIQUE INDEX users_username_ci ON users (lower(username));
   CREATE TABLE api_keys (
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     key_prefix TEXT NOT NULL,
     key_hash TEXT NOT NULL UNIQUE,
     signing_secret TEXT,
     created_at TIMESTAMPTZ NOT NULL,
     revoked_at TIMESTAMPTZ
   );
   CREATE INDEX api_keys_user ON api_keys (user_id) WHERE revoked_at IS NULL;
   CREATE INDEX api_keys_prefix ON api_keys (key_prefix);
   CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE usage_daily (
     user_id TEXT NOT NULL,
     day TEXT NOT NULL,
     count INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (user_id, day)
   );`,
];

/**
 * One arbitrary 63-bit number names the migration lock. pg_advisory_lock is per database, so
 * replicas sharing a database queue here while unrelated databases on the server do not.
 */
export const MIGRATION_LOCK_ID = '7264912380551372017';

/**
 * Brings the schema up to date. Safe when many replicas start at once: each takes the advisory
 * lock, and whoever comes second finds the work done. Returns the versions it applied.
 */
export async function migratePg(pool: Pool, migrations = PG_MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const current = await schemaVersion(client);
      if (current > migrations.length) {
        // A newer server migrated this database. Carry on: migrations only add, so older code
        // still finds everything it uses; but say so, it matters during a rollback.
        process.emitWarning(`database schema version ${current} is newer than this server's (${migrations.length})`);
      }
      for (let v = current; v < migrations.length; v++) {
        await client.query('BEGIN');
        try {
          await client.query(migrations[v]);
          await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
        applied.push(v + 1);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    client.release();
  }
  return applied;
}

/** The applied schema version; 0 when the database has no Face Studio schema yet. */
export async function schemaVersion(client: Pool | PoolClient): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!exists.rows[0].t) return 0;
  const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  return rows[0].v ?? 0;
}
