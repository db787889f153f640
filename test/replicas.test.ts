/**
 * Limits across replicas: three real server PROCESSES (server/main.ts via tsx, as `npm run dev`
 * starts it) on different ports share one SQLite file and one real Redis.
 *
 * The Redis is a private `redis-server` this test starts on a free port (no persistence), so
 * that it can be stopped and restarted mid-run without disturbing anything else that uses the
 * machine's Redis, and so that no other test clearing `facestudio:rl:*` can race with it.
 *
 * Documented behaviour when Redis is down: limits FAIL OPEN (requests are served uncounted,
 * every process stays up, /healthz 200, /readyz 503), and counting resumes as soon as Redis is
 * back. Why open: see server/limits/limiters.ts and the README.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { openDb, type Db } from '../server/accounts/db';
import { AccountStore } from '../server/accounts/store';
import { freePort } from '../scripts/lib/free-port';

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
  await waitFor(`replica on port ${port} to be ready`, async () => {
    if (child.exitCode !== null) throw new Error(`replica exited during start:\n${output.join('')}`);
    return (await status(`${replica.url}/readyz`)) === 200;
  }, 120_000);
  return replica;
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
let db: Db;
let store: AccountStore;
let dir: string;
let tag = 0;

function newBasicKey(): { key: string; userId: string } {
  tag++;
  const user = store.createUser({ email: `replica-${process.pid}-${tag}@example.test`, username: `replica${process.pid}x${tag}`, class: 'Basic', verified: true });
  return { key: store.createKey(user.id, 'replicas').key, userId: user.id };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facestudio-replicas-'));
  const databasePath = path.join(dir, 'shared.db');
  db = openDb(databasePath);
  store = new AccountStore(db);
  redis = new RedisServer(await freePort());
  await redis.start();
  const env = {
    DATABASE_PATH: databasePath,
    REDIS_URL: redis.url,
    RATE_LIMITS: JSON.stringify({ Basic: BASIC }),
    RATE_LIMIT_WINDOWS: JSON.stringify(WINDOWS),
    LOG_LEVEL: 'warn',
    GENERATOR_QUEUE: '64',
  };
  replicas = await Promise.all(Array.from({ length: REPLICAS }, () => startReplica(env)));
});

afterAll(async () => {
  // Leave nothing behind: counters, the three servers, the private Redis, the database.
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
  await Promise.all(replicas.map(stopReplica));
  await redis?.kill();
  db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('three server processes sharing one Redis', () => {
  test('exactly `burst` requests are accepted per window and exactly `daily` overall', async () => {
    const { key, userId } = newBasicKey();

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
    expect(store.usageToday(userId)).toBe(BASIC.daily);
  });

  test('Redis stopping mid-run: limits fail open, no process crashes, counting recovers when Redis returns', async () => {
    const before = newBasicKey();
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
    const other = newBasicKey();
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
    const after = newBasicKey();
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
