import path from 'node:path';
import { Pool } from 'pg';
import type { Config } from '../config/config';
import { DatabaseMissingError, openDb } from './db';
import { migratePg, schemaVersion } from './pg-schema';
import { PgAccountStore } from './pg-store';
import { redactUrl } from './redact';
import { SqliteAccountStore } from './sqlite-store';
import type { AccountStore } from './store';

export { DatabaseMissingError } from './db';

/** Which database the configuration names, in words safe to print (password redacted). */
export function describeDatabase(config: Pick<Config, 'databaseUrl' | 'databasePath'>): string {
  return config.databaseUrl ? `PostgreSQL ${redactUrl(config.databaseUrl)}` : `SQLite ${path.resolve(config.databasePath)}`;
}

/** What to do when no database exists where the configuration points. */
export const MISSING_DATABASE_HINT =
  'Set DATABASE_PATH to the SQLite file the server uses, or DATABASE_URL=postgres://… to its PostgreSQL database (the server, or `admin user:create`, creates the schema on first start).';

export interface OpenStoreOptions {
  /** false: refuse (DatabaseMissingError) instead of creating the database or its schema. */
  create?: boolean;
  /** Errors of idle PostgreSQL connections (a restart of the database, say); the pool reconnects. */
  onError?: (err: Error) => void;
}

/**
 * The account store the configuration selects: PostgreSQL when DATABASE_URL is set, else the
 * SQLite file of DATABASE_PATH. Either way the schema is migrated to the current version first.
 */
export async function openStore(config: Pick<Config, 'databaseUrl' | 'databasePath'>, opts: OpenStoreOptions = {}): Promise<AccountStore> {
  const create = opts.create ?? true;
  if (!config.databaseUrl) return new SqliteAccountStore(openDb(config.databasePath, { mustExist: !create }), path.resolve(config.databasePath));

  const pool = new Pool({ connectionString: config.databaseUrl, max: 10, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
  // Without a listener, an idle connection that the server drops would crash the process.
  pool.on('error', (err) => opts.onError?.(err));
  try {
    if (create) {
      await migratePg(pool);
    } else if ((await schemaVersion(pool)) === 0) {
      throw new DatabaseMissingError(`the PostgreSQL database at ${redactUrl(config.databaseUrl)} has no Face Studio schema yet`);
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    if ((err as { code?: string }).code === '3D000') {
      // invalid_catalog_name: the database itself does not exist. Creating databases is the
      // operator's call (createdb), not something a server does on a typo.
      throw new DatabaseMissingError(`the PostgreSQL database at ${redactUrl(config.databaseUrl)} does not exist (create it with createdb)`);
    }
    throw err;
  }
  return new PgAccountStore(pool, redactUrl(config.databaseUrl));
}
