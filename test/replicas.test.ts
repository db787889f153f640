/**
 * Limits and accounts across replicas: three real server PROCESSES (server/main.ts via tsx, as `npm run dev`
 * starts it) on different ports share one SQLite file and one real Redis.
 *
 * The Redis is a private `redis-server` this test starts on a free port (no persistence), so
 * that it can be stopped and restarted mid-run without disturbing anything else that uses the
 * machine's Redis, and so that no other test clearing `facestudio:rl:*` can race with it.
 *
 * Documented behaviour when Redis is down: limits FAIL OPEN (requests are served uncounted,
 * every process stays up, /healthz 200, /readyz 503), and counting resumes as soon as Redis is
 * back. Why open: see server/limits/limiters.ts and the README.
 *
 * Accounts across replicas, on each backend (three processes sharing one PostgreSQL database,
 * or one SQLite file in WAL mode): keys and revocations are seen by every process at once, the
 * five-key limit and unique emails hold under concurrency, and a process killed with SIGKILL
 * mid-write loses nothing it acknowledged and leaves nothing half-written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { openStore } from '../server/accounts/open-store';
import { hashPassword } from '../server/accounts/passwords';
import type { AccountStore } from '../server/accounts/store';
import { freePort } from '../scripts/tools/free-port';
import { BACKENDS, createTestDatabase, type TestDatabase } from './helpers/database';
import { NO_LIMITS } from './helpers/server';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '..');
const WINDOWS = { burst: 5, daily: 3600 };
const BASIC = { burst: 5, daily: 12 };
const REPLICAS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** A private redis-server: no persistence, so a restart comes back empty (like a crash without AOF). */
class RedisServer {
  child?: ChildProcess;
  constructor(readonly port: number) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await waitFor('redis-server', async () => {
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        probe.disconnect();
        return false;
      }
    }, 15_000);
    probe.disconnect();
  }
  /** Kills it outright (SIGKILL): an outage, not a graceful shutdown. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }
}

interface Replica {
  url: string;
  child: ChildProcess;
  output: string[];
}

async function startReplica(env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (c: Buffer) => output.push(String(c)));
  child.stderr!.on('data', (c: Buffer) => output.push(String(c)));
  const replica = { url: `http://127.0.0.1:${port}`, child, output };
  try {
    await waitFor(`replica on port ${port} to be ready`, async () => {
      if (child.exitCode !== null) throw new Error(`replica exited during start:\n${output.join('')}`);
      return (await status(`${replica.url}/readyz`)) === 200;
    }, 120_000);
  } catch (err) {
    // A replica that never became ready must not outlive the test: jest would wait on it forever.
    child.kill('SIGKILL');
    throw err;
  }
  return replica;
}

/** `n` replicas started at once; if any fails, the others are stopped before the error is thrown. */
async function startReplicas(n: number, env: Record<string, string>): Promise<Replica[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, () => startReplica(env)));
  const ready = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(ready.map(stopReplica));
    throw failed.reason;
  }
  return ready;
}

async function stopReplica(r: Replica): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  const gone = new Promise((res) => r.child.once('exit', res));
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(timer);
}

interface Outcome {
  status: number;
  retryAfter: number;
  replica: number;
}

/** `n` requests at once for one key, request i through replica i mod 3. */
async function fire(replicas: Replica[], key: string, n: number, query = 'resolution=128'): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const replica = i % replicas.length;
      const res = await fetch(`${replicas[replica].url}/v1/generate?${query}`, { headers: { Authorization: `Token ${key}` }, signal: AbortSignal.timeout(60_000) });
      await res.arrayBuffer();
      return { status: res.status, retryAfter: Number(res.headers.get('retry-after') ?? 0), replica };
    }),
  );
}

const count = (outcomes: Outcome[], s: number) => outcomes.filter((o) => o.status === s).length;

/** Sleeps until every burst window that a 429 announced has passed. */
async function waitOutBurst(outcomes: Outcome[]): Promise<void> {
  const burstWaits = outcomes.filter((o) => o.status === 429 && o.retryAfter <= WINDOWS.burst).map((o) => o.retryAfter);
  await sleep((Math.max(1, ...burstWaits) + 0.3) * 1000);
}

let redis: RedisServer;
let replicas: Replica[] = [];
let store: AccountStore;
let limitsDb: TestDatabase;
let tag = 0;

async function newBasicKey(): Promise<{ key: string; userId: string }> {
  tag++;
  const user = await store.createUser({ email: `replica-${process.pid}-${tag}@example.test`, username: `replica${process.pid}x${tag}`, class: 'Basic', verified: true });
  return { key: (await store.createKey(user.id, 'replicas')).key, userId: user.id };
}

beforeAll(async () => {
  redis = new RedisServer(await freePort());
  await redis.start();
});

afterAll(async () => {
  // Leave nothing behind: counters and the private Redis (each describe stops its servers).
  try {
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => undefined);
    await client.connect();
    const keys = await client.keys('facestudio:rl:*');
    if (keys.length) await client.del(...keys);
    client.disconnect();
  } catch {
    // Redis already gone: nothing to clean.
  }
  await redis?.kill();
});

describe('three server processes sharing one Redis', () => {
  beforeAll(async () => {
    limitsDb = await createTestDatabase('sqlite', 'replicas-limits');
    store = await openStore(limitsDb.config);
    const env = {
      ...limitsDb.env,
      REDIS_URL: redis.url,
      RATE_LIMITS: JSON.stringify({ Basic: BASIC }),
      RATE_LIMIT_WINDOWS: JSON.stringify(WINDOWS),
      LOG_LEVEL: 'warn',
      GENERATOR_QUEUE: '64',
    };
    replicas = await startReplicas(REPLICAS, env);
  });
  afterAll(async () => {
    await Promise.all(replicas.map(stopReplica));
    await store?.close();
    await limitsDb?.drop();
  });

  test('exactly `burst` requests are accepted per window and exactly `daily` overall', async () => {
    const { key, userId } = await newBasicKey();

    // Window 1: 15 at once through all three processes; the shared counter admits exactly 5.
    const w1 = await fire(replicas, key, 15);
    expect(count(w1, 200)).toBe(BASIC.burst);
    expect(count(w1, 429)).toBe(15 - BASIC.burst);
    for (const o of w1.filter((x) => x.status === 429)) {
      expect(o.retryAfter).toBeGreaterThanOrEqual(1);
      expect(o.retryAfter).toBeLessThanOrEqual(WINDOWS.burst);
    }
    await waitOutBurst(w1);

    // Window 2: again exactly 5.
    const w2 = await fire(replicas, key, 15);
    expect(count(w2, 200)).toBe(BASIC.burst);
    await waitOutBurst(w2);

    // Window 3: the burst would allow 5, the daily limit has 12 - 10 = 2 left.
    const w3 = await fire(replicas, key, 15);
    expect(count(w3, 200)).toBe(BASIC.daily - 2 * BASIC.burst);
    expect(count(w3, 429)).toBe(15 - (BASIC.daily - 2 * BASIC.burst));
    // Those that passed the burst limiter were refused by the daily one, with the daily wait.
    expect(w3.filter((o) => o.status === 429 && o.retryAfter > WINDOWS.burst).length).toBe(BASIC.burst - (BASIC.daily - 2 * BASIC.burst));
    await waitOutBurst(w3);

    // Window 4: the day is used up on every process.
    const w4 = await fire(replicas, key, 6);
    expect(count(w4, 200)).toBe(0);
    const dailyRefusals = w4.filter((o) => o.retryAfter > WINDOWS.burst);
    expect(dailyRefusals.length).toBeGreaterThan(0);
    for (const o of dailyRefusals) expect(o.retryAfter).toBeLessThanOrEqual(WINDOWS.daily);

    // 12 images served in all, and the shared database recorded exactly those 12.
    expect([w1, w2, w3, w4].reduce((n, w) => n + count(w, 200), 0)).toBe(BASIC.daily);
    expect(await store.usageToday(userId)).toBe(BASIC.daily);
  });

  test('Redis stopping mid-run: limits fail open, no process crashes, counting recovers when Redis returns', async () => {
    const before = await newBasicKey();
    const counted = await fire(replicas, before.key, 3);
    expect(counted.map((o) => o.status)).toEqual([200, 200, 200]);

    await redis.kill();

    // Every process notices: not ready, but alive.
    await waitFor('every /readyz to say 503', async () => (await Promise.all(replicas.map((r) => status(`${r.url}/readyz`)))).every((s) => s === 503), 20_000);
    for (const r of replicas) expect(await status(`${r.url}/healthz`)).toBe(200);

    // Fail open: more than the burst, at once, for a key that had already used 3 — all served, no 5xx.
    const during = await fire(replicas, before.key, 12);
    expect(during.map((o) => o.status)).toEqual(Array(12).fill(200));
    // A second user too; and invalid parameters are still a 400, not a 5xx.
    const other = await newBasicKey();
    expect((await fire(replicas, other.key, 3)).map((o) => o.status)).toEqual([200, 200, 200]);
    expect((await fire(replicas, other.key, 3, 'age=95')).map((o) => o.status)).toEqual([400, 400, 400]);
    for (const r of replicas) {
      expect(r.child.exitCode).toBeNull();
      expect(await status(`${r.url}/healthz`)).toBe(200);
    }
    // The outage is reported in the logs (throttled), not silently.
    await waitFor('the fail-open warning in the logs', async () => replicas.some((r) => r.output.join('').includes('fail open')), 10_000);

    await redis.start();
    await waitFor('every /readyz to say 200 again', async () => (await Promise.all(replicas.map((r) => status(`${r.url}/readyz`)))).every((s) => s === 200), 30_000);

    // The first requests after the outage are counted again, exactly, across all processes.
    const after = await newBasicKey();
    const w = await fire(replicas, after.key, 15);
    expect(count(w, 200)).toBe(BASIC.burst);
    expect(count(w, 429)).toBe(15 - BASIC.burst);
    for (const r of replicas) expect(r.child.exitCode).toBeNull();
    // The restarted Redis (no persistence) holds the new counters again.
    const client = new Redis(redis.url);
    expect(await client.keys('facestudio:rl:burst:*')).toContain(`facestudio:rl:burst:user:${after.userId}`);
    client.disconnect();
  });
});

// --- accounts across replicas ------------------------------------------------------------------

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One JSON request; a connection that dies (a killed process) is status 0, never a throw. */
async function api(base: string, method: string, route: string, opts: { body?: unknown; jwt?: string; key?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.jwt) headers.Authorization = `Bearer ${opts.jwt}`;
  if (opts.key) headers.Authorization = `Token ${opts.key}`;
  try {
    const res = await fetch(`${base}${route}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  } catch {
    return { status: 0, body: undefined };
  }
}

describe.each(BACKENDS)('accounts across three server processes (%s)', (backend) => {
  let db: TestDatabase;
  let direct: AccountStore;
  let reps: Replica[] = [];
  let n = 0;
  const unique = (what: string) => `${what}${process.pid}x${backend[0]}${++n}`;

  /** A verified user made behind the API (no mail needed) and a session token from replica `via`. */
  async function verifiedUser(via = 0): Promise<{ userId: string; jwt: string; email: string; password: string }> {
    const name = unique('u');
    const password = `pw-${name}-long-enough`;
    const user = await direct.createUser({ email: `${name}@example.test`, username: name, verified: true, passwordHash: await hashPassword(password) });
    const login = await api(reps[via].url, 'POST', '/auth/login-email', { body: { email: user.email, password } });
    expect(login.status).toBe(200);
    return { userId: user.id, jwt: login.body.token, email: user.email, password };
  }

  beforeAll(async () => {
    db = await createTestDatabase(backend, 'replicas-accounts');
    const env = {
      ...db.env,
      REDIS_URL: redis.url,
      RATE_LIMITS: NO_LIMITS,
      AUTH_RATE_LIMITS: JSON.stringify({ register: 10000, loginPerIp: 10000, loginPerEmail: 10000 }),
      LOG_LEVEL: 'warn',
    };
    // All three start at once on an empty database: the migrations must not collide.
    reps = await startReplicas(REPLICAS, env);
    direct = await openStore(db.config, { create: false });
  });
  afterAll(async () => {
    await Promise.all(reps.map(stopReplica));
    await direct?.close();
    await db?.drop();
  });

  test('a key created through A works on B and C; revoked on A, it is refused on C (and B) at once', async () => {
    const [a, b, c] = reps;
    const u = await verifiedUser(0);
    const made = await api(a.url, 'POST', '/v1/auth/api-keys', { jwt: u.jwt, body: { name: 'shared' } });
    expect(made.status).toBe(201);
    for (const r of [b, c]) {
      const img = await fetch(`${r.url}/v1/generate?resolution=128`, { headers: { Authorization: `Token ${made.body.key}` } });
      expect(img.status).toBe(200);
      expect(img.headers.get('content-type')).toBe('image/jpeg');
      await img.arrayBuffer();
    }
    expect((await api(a.url, 'DELETE', `/v1/auth/api-keys/${made.body.id}`, { jwt: u.jwt })).status).toBe(204);
    // No wait of any kind between the revocation and these requests.
    const onC = await fetch(`${c.url}/v1/generate?resolution=128`, { headers: { Authorization: `Token ${made.body.key}` } });
    expect(onC.status).toBe(401);
    expect(await onC.json()).toEqual({ detail: 'Invalid token.' });
    expect((await api(b.url, 'GET', '/v1/account', { key: made.body.key })).status).toBe(401);
  });

  test('12 concurrent key creations spread over the three give exactly five 201s and seven 409s', async () => {
    const u = await verifiedUser(1);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => api(reps[i % 3].url, 'POST', '/v1/auth/api-keys', { jwt: u.jwt, body: { name: `parallel ${i}` } })));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    expect(await direct.listKeys(u.userId)).toHaveLength(5);
  });

  test('the same email registered concurrently on all three gives exactly one 201', async () => {
    const email = `${unique('same')}@example.test`;
    const answers = await Promise.all(
      Array.from({ length: 9 }, (_, i) => api(reps[i % 3].url, 'POST', '/auth/register-email', { body: { email, username: unique('same'), password: 'a long enough password' } })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(8);
    for (const r of answers.filter((x) => x.status === 409)) expect(r.body.errors).toEqual([{ field: 'email', message: 'That email is already registered.' }]);
    expect(await db.query('SELECT id FROM users WHERE lower(email) = lower(?)', email)).toEqual([{ id: answers.find((r) => r.status === 201)!.body.user_id }]);
  });

  test('SIGKILL of one process amid concurrent key creations and sign-ups loses nothing it acknowledged and leaves nothing half-written', async () => {
    const [victim, ...survivors] = reps;
    const users = await Promise.all([0, 1, 2, 3].map(() => verifiedUser(1)));
    type Job = { kind: 'key'; user: (typeof users)[number]; replica: number } | { kind: 'register'; email: string; username: string; password: string; replica: number };
    const jobs: Job[] = [];
    for (const user of users) for (let i = 0; i < 4; i++) jobs.push({ kind: 'key', user, replica: (jobs.length + i) % 3 });
    for (let i = 0; i < 18; i++) {
      const username = unique('signup');
      jobs.push({ kind: 'register', email: `${username}@example.test`, username, password: `pw-${username}-long-enough`, replica: i % 3 });
    }
    let victimAnswered!: () => void;
    const firstVictimAnswer = new Promise<void>((resolve) => (victimAnswered = resolve));
    const outcomes = jobs.map(async (job) => {
      const base = reps[job.replica].url;
      const answer =
        job.kind === 'key'
          ? await api(base, 'POST', '/v1/auth/api-keys', { jwt: job.user.jwt, body: { name: `flood ${job.replica}` } })
          : await api(base, 'POST', '/auth/register-email', { body: { email: job.email, username: job.username, password: job.password } });
      if (job.replica === 0 && answer.status !== 0) victimAnswered();
      return { job, answer };
    });
    // Kill A as soon as it has acknowledged something, with the rest of its work in flight.
    await Promise.race([firstVictimAnswer, sleep(30_000)]);
    victim.child.kill('SIGKILL');
    const results = await Promise.all(outcomes);

    const onVictim = results.filter((r) => r.job.replica === 0);
    // The kill really happened mid-run: A acknowledged some requests and dropped others.
    expect(onVictim.filter((r) => r.answer.status === 201).length).toBeGreaterThan(0);
    expect(onVictim.filter((r) => r.answer.status === 0).length).toBeGreaterThan(0);
    // Survivors answered everything sent to them, none of it a server error.
    for (const r of results.filter((x) => x.job.replica !== 0)) expect([201, 409]).toContain(r.answer.status);

    // Every acknowledged key and sign-up is there, complete, and usable on both survivors.
    for (const { job, answer } of results.filter((r) => r.answer.status === 201)) {
      for (const s of survivors) {
        if (job.kind === 'key') {
          const acct = await api(s.url, 'GET', '/v1/account', { key: answer.body.key });
          expect(acct.status).toBe(200);
          expect(acct.body.user_id).toBe(job.user.userId);
        } else {
          const login = await api(s.url, 'POST', '/auth/login-email', { body: { email: job.email, password: job.password } });
          expect(login.status).toBe(200);
          expect(login.body.user_id).toBe(answer.body.user_id);
        }
      }
    }

    // Nothing half-written: every key row whole and owned, no user over the limit, every
    // sign-up with its password hash.
    const keys = await db.query<Record<string, unknown>>('SELECT k.*, u.id AS owner FROM api_keys k LEFT JOIN users u ON u.id = k.user_id');
    for (const k of keys) {
      expect(k.owner).toBe(k.user_id);
      expect(k.key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(k.signing_secret).toMatch(/^[0-9a-f]{64}$/);
      expect(k.key_prefix).toMatch(/^sk-faces-[A-Za-z0-9]{8}$/);
      expect(k.created_at).toBeTruthy();
    }
    for (const u of users) expect((await direct.listKeys(u.userId)).length).toBeLessThanOrEqual(5);
    const signups = await db.query<{ email: string; password_hash: string | null }>("SELECT email, password_hash FROM users WHERE email LIKE 'signup%'");
    expect(signups.length).toBeGreaterThanOrEqual(results.filter((r) => r.job.kind === 'register' && r.answer.status === 201).length);
    for (const u of signups) expect(u.password_hash).toMatch(/^scrypt\$/);
    if (backend === 'sqlite') {
      expect(await db.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      expect(await db.query('PRAGMA foreign_key_check')).toEqual([]);
    }

    // And the survivors carry on: a new user, a new key, both usable on the other survivor.
    const after = await verifiedUser(1);
    const key = await api(survivors[0].url, 'POST', '/v1/auth/api-keys', { jwt: after.jwt, body: { name: 'after the kill' } });
    expect(key.status).toBe(201);
    expect((await api(survivors[1].url, 'GET', '/v1/account', { key: key.body.key })).status).toBe(200);
  });
});
