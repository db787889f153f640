import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** The configured database does not exist yet (or holds no Face Studio schema). */
export class DatabaseMissingError extends Error {}

/** Schema history; each entry runs once, in order, inside a transaction. */
const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL UNIQUE COLLATE NOCASE,
     username TEXT NOT NULL UNIQUE COLLATE NOCASE,
     name TEXT NOT NULL DEFAULT '',
     password_hash TEXT,
     class TEXT NOT NULL DEFAULT 'Basic' CHECK (class IN ('Basic','Professional','Enterprise')),
     email_verified INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL
   );
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     key_prefix TEXT NOT NULL,
     key_hash TEXT NOT NULL UNIQUE,
     created_at TEXT NOT NULL,
     revoked_at TEXT
   );
   CREATE INDEX api_keys_user ON api_keys(user_id) WHERE revoked_at IS NULL;`,
  `CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE usage_daily (user_id TEXT NOT NULL, day TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (user_id, day));`,
  // Signed embed URLs: the per-key signing secret, HMAC-SHA256(key, "facestudio-url-signing-v1")
  // in hex (one-way, cannot give back the key). Keys created before this have NULL: no signing.
  `ALTER TABLE api_keys ADD COLUMN signing_secret TEXT;
   CREATE INDEX api_keys_prefix ON api_keys(key_prefix);`,
];

/** The version of the schema this code creates (SQLite keeps it in PRAGMA user_version). */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (and migrates) the SQLite database. With `mustExist`, a missing file or one without
 * a Face Studio schema is refused with `undefined` instead of being created: the operator CLI
 * must not leave an empty database behind a typo in DATABASE_PATH.
 */
export function openDb(file: string, opts: { mustExist?: boolean } = {}): Db {
  if (opts.mustExist) {
    if (file === ':memory:' || !fs.existsSync(file)) throw new DatabaseMissingError(`no SQLite database at ${path.resolve(file)}`);
    const probe = new Database(file, { readonly: true, fileMustExist: true });
    const version = probe.pragma('user_version', { simple: true }) as number;
    probe.close();
    if (version === 0) throw new DatabaseMissingError(`${path.resolve(file)} has no Face Studio schema`);
  }
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/**
 * One IMMEDIATE transaction takes the write lock before reading the version, so processes
 * opening a new shared file at the same moment migrate it once (the others wait, then find
 * nothing to do) instead of racing to create the same tables.
 */
function migrate(db: Db): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]);
    if (current < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
