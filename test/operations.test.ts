import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PARAM_NAMES } from '../server/params/schema';
import { NO_LIMITS, startServer, type TestServer } from './helpers/server';

const run = promisify(execFile);

describe('health, metrics and OpenAPI', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({ RATE_LIMITS: NO_LIMITS });
  });
  afterAll(() => srv.close());

  test('/healthz and /readyz answer when the model is loaded', async () => {
    expect(await (await fetch(`${srv.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${srv.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks.model).toBe(srv.faces.modelVersion);
  });

  test('/readyz is 503 when the configured Redis is unreachable', async () => {
    const down = await startServer({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await fetch(`${down.url}/readyz`);
      expect(res.status).toBe(503);
      expect((await res.json()).checks.redis).toBe('unreachable');
    } finally {
      await down.close();
    }
  });

  test('/metrics counts requests by status and class and times generation', async () => {
    await fetch(`${srv.url}/v1/generate?resolution=128`);
    await fetch(`${srv.url}/v1/generate?age=300`);
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    expect(text).toMatch(/facestudio_http_requests_total\{route="\/v1\/generate",status="200",class="Anon"\} \d+/);
    expect(text).toMatch(/facestudio_http_requests_total\{route="\/v1\/generate",status="400",class="Anon"\} \d+/);
    expect(text).toMatch(/facestudio_generation_seconds_count\{stage="inference"\} [1-9]/);
  });

  test('/openapi.json documents every parameter from the zod schemas, with bounds', async () => {
    const doc = await (await fetch(`${srv.url}/openapi.json`)).json();
    const params = doc.paths['/v1/generate'].get.parameters;
    expect(params.map((p: { name: string }) => p.name).slice(0, PARAM_NAMES.length)).toEqual(PARAM_NAMES);
    const age = params.find((p: { name: string }) => p.name === 'age');
    expect(age.schema).toMatchObject({ type: 'integer', minimum: 0, maximum: 80 });
    const seed = params.find((p: { name: string }) => p.name === 'seed');
    expect(seed.schema).toMatchObject({ minimum: 1, maximum: 4294967296 });
    expect(seed['x-tier']).toBe('advanced');
    const gender = params.find((p: { name: string }) => p.name === 'gender');
    expect(gender.schema.enum).toEqual(['male', 'female']);
  });

  test('unknown routes are JSON 404s', async () => {
    const res = await fetch(`${srv.url}/nope`);
    expect(res.status).toBe(404);
    expect((await res.json()).detail).toContain('/nope');
  });
});

describe('operator CLI', () => {
  const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'facestudio-cli-')), 'cli.db');
  // Exactly as the spec spells it, so the one-line stderr promise covers npm's own output too.
  const admin = (...args: string[]) =>
    run('npm', ['run', '--silent', 'admin', '--', ...args], { env: { ...process.env, DATABASE_PATH: db }, cwd: path.join(__dirname, '..') });

  test('creates a user, sets the class, issues, lists and revokes keys; keys work against the server', async () => {
    const created = JSON.parse((await admin('user:create', '--email', 'op@example.test', '--username', 'op', '--name', 'Op', '--verified')).stdout);
    expect(created).toMatchObject({ email: 'op@example.test', class: 'Basic', email_verified: true });
    expect(JSON.parse((await admin('user:set-class', '--email', 'op@example.test', '--class', 'Professional')).stdout).class).toBe('Professional');
    const { stdout } = await admin('key:create', '--email', 'op@example.test', '--name', 'ci');
    expect(stdout).toMatch(/^sk-faces-[A-Za-z0-9]{40}\n$/);
    const key = stdout.trim();
    const listed = (await admin('key:list', '--email', 'op@example.test')).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(listed).toEqual([expect.objectContaining({ name: 'ci', key_prefix: key.slice(0, 17) })]);
    expect(JSON.stringify(listed)).not.toContain(key);

    const srv = await startServer({}, { databasePath: db });
    try {
      const ok = await fetch(`${srv.url}/v1/generate?seed=3&resolution=128`, { headers: { Authorization: `Token ${key}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-user-class')).toBe('Professional');
      await admin('key:revoke', '--id', listed[0].id);
      const revoked = await fetch(`${srv.url}/v1/generate`, { headers: { Authorization: `Token ${key}` } });
      expect(revoked.status).toBe(401);
    } finally {
      await srv.close();
    }
  });

  test.each([
    [['user:set-class', '--email', 'nobody@example.test', '--class', 'Basic'], /No user with email/],
    [['user:set-class', '--email', 'op@example.test', '--class', 'Gold'], /--class must be one of/],
    [['key:revoke', '--id', 'missing'], /no active key/],
    [['user:create', '--email', 'x@example.test'], /--username is required/],
    [['frobnicate'], /unknown command/],
  ])('%j fails with one line on stderr and a non-zero exit', async (args, message) => {
    await expect(admin(...args)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(message) });
    const err = await admin(...args).catch((e) => e);
    expect(err.stderr.trim().split('\n')).toHaveLength(1);
  });
});
