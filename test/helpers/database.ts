import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'pg';

/** Both account backends; account tests run once per entry (describe.each). */
export const BACKENDS = ['sqlite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

/** The machine's PostgreSQL (trust auth); .ci/run starts one if none answers. */
export const PG_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  backend: Backend;
  /** DATABASE_PATH or DATABASE_URL, to merge into a server's environment. */
  env: Record<string, string>;
  /** The configuration fields openStore() reads. */
  config: { databasePath: string; databaseUrl?: string };
  /** SQL with `?` placeholders on either backend, for checks behind the API's back. */
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
  /** Removes the database (and, for SQLite, its directory). */
  drop(): Promise<void>;
}

/**
 * A fresh, empty database of `backend` for one test file: a new PostgreSQL database (runs of
 * different files or worktrees never share tables), or a SQLite file in a new temp dir. Nothing
 * is created inside it: the server under test migrates it, as in production.
 */
export async function createTestDatabase(backend: Backend, label: string): Promise<TestDatabase> {
  const tag = `${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  if (backend === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `facestudio-${label}-`));
    const file = path.join(dir, 'accounts.db');
    let conn: Database.Database | undefined;
    return {
      backend,
      env: { DATABASE_PATH: file },
      config: { databasePath: file },
      async query<T>(sql: string, ...params: unknown[]) {
        conn ??= new Database(file, { fileMustExist: true });
        conn.pragma('busy_timeout = 5000');
        const stmt = conn.prepare(sql);
        return (stmt.reader ? stmt.all(...params) : (stmt.run(...params), [])) as T[];
      },
      async drop() {
        conn?.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `facestudio_test_${tag}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  let pool: Pool | undefined;
  return {
    backend,
    env: { DATABASE_URL: url },
    config: { databasePath: '/nonexistent/unused.db', databaseUrl: url },
    async query<T>(sql: string, ...params: unknown[]) {
      pool ??= new Pool({ connectionString: url, max: 2 });
      let i = 0;
      const { rows } = await pool.query(sql.replace(/\?/g, () => `$${++i}`), params);
      return rows as T[];
    },
    async drop() {
      if (pool) {
        // pg-pool's end() resolves before its connections have closed; the forced DROP below
        // could terminate one mid-close, which the pool reports as an unhandled 'error' event.
        const p = pool;
        const open = p.totalCount;
        let removed = 0;
        const closed = new Promise<void>((resolve) => {
          if (open === 0) resolve();
          p.on('remove', () => ++removed === open && resolve());
        });
        await p.end();
        await closed;
      }
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** One statement on the maintenance database (create, drop, alter other databases). */
export async function adminQuery(sql: string): Promise<void> {
  const pool = new Pool({ connectionString: PG_ADMIN_URL, max: 1 });
  try {
    await pool.query(sql);
  } finally {
    await pool.end();
  }
}
