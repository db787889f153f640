import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BACKENDS, createTestDatabase, PG_ADMIN_URL, type TestDatabase } from './helpers/database';
import { startServer } from './helpers/server';
import { runAdmin } from '../server/cli/admin';

/**
 * The operator CLI (API spec section 3, issue 18 item 4) as operators run it, `npm run --silent
 * admin -- …`, in a real child process, against each account backend.
 */
const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with exactly `env` as its database configuration; never throws. */
async function admin(env: Record<string, string>, ...args: string[]): Promise<Result> {
  const clean = { ...process.env };
  delete clean.DATABASE_URL;
  delete clean.DATABASE_PATH;
  try {
    const r = await run('npm', ['run', '--silent', 'admin', '--', ...args], { env: { ...clean, ...env }, cwd: ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * The same CLI in this process (runAdmin is everything but the process wrapper): each npm
 * spawn costs seconds on this machine, so only the behaviour of the real command line itself
 * (exit codes, streams) is checked through `npm run`.
 */
async function adminInProcess(config: { databasePath: string; databaseUrl?: string }, ...args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await runAdmin(args, config, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** stderr without npm's own config warnings (another issue removes those). */
const ours = (stderr: string) => stderr.split('\n').filter((l) => l && !l.startsWith('npm warn'));

describe('admin --help', () => {
  test('`admin -- --help` prints every command and exits 0, touching no database', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facestudio-cli-help-'));
    const r = await admin({ DATABASE_PATH: path.join(dir, 'never.db') }, '--help');
    expect(r.code).toBe(0);
    for (const c of ['user:create', 'user:set-class', 'key:create', 'key:list', 'key:revoke']) expect(r.stdout).toContain(`admin ${c}`);
    expect(r.stdout).toMatch(/DATABASE_URL/);
    expect(fs.existsSync(path.join(dir, 'never.db'))).toBe(false);
  });

  test('`admin -- key:create --help` (through npm) prints its usage and exits 0', async () => {
    const r = await admin({ DATABASE_PATH: '/nonexistent/dir/x.db' }, 'key:create', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run --silent admin -- key:create --email E --name N\n/);
  });

  test.each(['user:create', 'user:set-class', 'key:create', 'key:list', 'key:revoke'])('`admin -- %s --help` prints its usage and exits 0', async (command) => {
    const r = await adminInProcess({ databasePath: '/nonexistent/dir/x.db' }, command, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: npm run --silent admin -- ${command} `));
    expect(r.stderr).toBe('');
  });

  test('no command at all: the usage on stderr and a non-zero exit', async () => {
    const r = await adminInProcess({ databasePath: '/nonexistent/dir/x.db' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/admin user:create/);
  });
});

describe.each(BACKENDS)('admin on %s', (backend) => {
  let db: TestDatabase;
  let cli: (...args: string[]) => Promise<Result>;
  /** What stderr must name: the SQLite path, or the PostgreSQL URL. */
  let where: RegExp;

  beforeAll(async () => {
    db = await createTestDatabase(backend, 'cli');
    cli = (...args) => adminInProcess(db.config, ...args);
    where = backend === 'sqlite' ? new RegExp(`SQLite ${db.config.databasePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) : /PostgreSQL postgres(ql)?:\/\/postgres@127\.0\.0\.1:5432\/facestudio_test_/;
  });
  afterAll(() => db.drop());

  test('every command but user:create refuses when the database does not exist yet, with a DATABASE_PATH/DATABASE_URL hint', async () => {
    for (const args of [
      ['key:list', '--email', 'op@example.test'],
      ['key:create', '--email', 'op@example.test', '--name', 'x'],
      ['user:set-class', '--email', 'op@example.test', '--class', 'Basic'],
      ['key:revoke', '--id', 'x'],
    ]) {
      const r = await cli(...args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = ours(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/DATABASE_PATH/);
      expect(lines[0]).toMatch(/DATABASE_URL/);
      expect(lines[0]).toMatch(where);
    }
    // ...and left nothing behind: still no database (SQLite file) or schema (PostgreSQL).
    if (backend === 'sqlite') expect(fs.existsSync(db.config.databasePath)).toBe(false);
    else expect(await db.query(`SELECT to_regclass('schema_migrations')::text AS t`)).toEqual([{ t: null }]);
  });

  test('user:create creates the database; then users, classes and keys work against a real server', async () => {
    const created = await cli('user:create', '--email', 'op@example.test', '--username', 'op', '--name', 'Op', '--verified');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ email: 'op@example.test', class: 'Basic', email_verified: true });
    expect(ours(created.stderr)).toEqual([expect.stringMatching(where)]);

    const set = await cli('user:set-class', '--email', 'op@example.test', '--class', 'Professional');
    expect(JSON.parse(set.stdout).class).toBe('Professional');
    // key:create: stdout is the key and nothing else; the database line goes to stderr.
    const made = await cli('key:create', '--email', 'op@example.test', '--name', 'ci');
    expect(made.stdout).toMatch(/^sk-faces-[A-Za-z0-9]{40}\n$/);
    expect(ours(made.stderr)).toEqual([expect.stringMatching(where)]);
    const key = made.stdout.trim();
    const listed = (await cli('key:list', '--email', 'op@example.test')).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(listed).toEqual([expect.objectContaining({ name: 'ci', key_prefix: key.slice(0, 17) })]);
    expect(JSON.stringify(listed)).not.toContain(key);

    const srv = await startServer(db.env);
    try {
      const ok = await fetch(`${srv.url}/v1/account`, { headers: { Authorization: `Token ${key}` } });
      expect(ok.status).toBe(200);
      expect((await ok.json()).class).toBe('Professional');
      expect((await cli('key:revoke', '--id', listed[0].id)).code).toBe(0);
      const revoked = await fetch(`${srv.url}/v1/generate?resolution=128`, { headers: { Authorization: `Token ${key}` } });
      expect(revoked.status).toBe(401);
    } finally {
      await srv.close();
    }
  });

  test('through npm run: a refusal is exit 1 and one stderr line; key:create prints only the key on stdout', async () => {
    const refused = await admin(db.env, 'key:list', '--email', 'nobody@example.test');
    expect(refused.code).toBe(1);
    expect(ours(refused.stderr)).toEqual([expect.stringMatching(/no user with email nobody@example.test/)]);
    const made = await admin(db.env, 'key:create', '--email', 'op@example.test', '--name', 'spawned');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^sk-faces-[A-Za-z0-9]{40}\n$/);
    expect(ours(made.stderr)).toEqual([expect.stringMatching(where)]);
  });

  test('a duplicate user:create names every conflicting field', async () => {
    await cli('user:create', '--email', 'dup@example.test', '--username', 'dupuser');
    const cases: [string[], RegExp][] = [
      [['--email', 'DUP@example.test', '--username', 'fresh1'], /That email is already registered/],
      [['--email', 'fresh@example.test', '--username', 'DupUser'], /That username is already registered/],
      [['--email', 'dup@example.test', '--username', 'dupuser'], /That email and username are already registered/],
    ];
    for (const [args, message] of cases) {
      const r = await cli('user:create', ...args);
      expect(r.code).toBe(1);
      expect(ours(r.stderr)).toEqual([expect.stringMatching(message)]);
    }
  });

  test.each([
    [['user:set-class', '--email', 'nobody@example.test', '--class', 'Basic'], /No user with email/],
    [['user:set-class', '--email', 'op@example.test', '--class', 'Gold'], /--class must be one of/],
    [['key:revoke', '--id', 'missing'], /no active key/],
    [['user:create', '--email', 'x@example.test'], /--username is required/],
    [['key:list', '--email', 'op@example.test', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command/],
  ])('%j fails with one line on stderr and a non-zero exit', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(ours(r.stderr)).toEqual([expect.stringMatching(message)]);
  });
});

test('a PostgreSQL password never reaches the output; a database that does not exist is refused', async () => {
  const url = PG_ADMIN_URL.replace('postgres@', 'postgres:s3cret-pw@').replace(/\/[^/]*$/, '/facestudio_no_such_database');
  const r = await admin({ DATABASE_URL: url }, 'key:list', '--email', 'a@example.test');
  expect(r.code).toBe(1);
  const lines = ours(r.stderr);
  expect(lines).toEqual([expect.stringMatching(/does not exist.*DATABASE_URL/)]);
  expect(lines[0]).toContain('postgres:***@127.0.0.1');
  expect(r.stderr + r.stdout).not.toContain('s3cret-pw');
});
