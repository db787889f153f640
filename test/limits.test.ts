import { Redis } from 'ioredis';
import { startServer, userWithKey, type TestServer } from './helpers/server';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function get(srv: TestServer, query: string, key?: string, headers: Record<string, string> = {}) {
  return fetch(`${srv.url}/v1/generate${query ? `?${query}` : ''}`, {
    headers: { ...(key ? { Authorization: `Token ${key}` } : {}), ...headers },
  });
}

describe('in-memory limits (short windows)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({
      RATE_LIMITS: JSON.stringify({ Anon: { burst: 2, daily: 3 }, Basic: { burst: 3, daily: 100 } }),
      RATE_LIMIT_WINDOWS: JSON.stringify({ burst: 4, daily: 3600 }),
    });
  });
  afterAll(() => srv.close());

  test('Anon: burst requests pass, the next is 429 with the true seconds to wait', async () => {
    const statuses = [];
    for (let i = 0; i < 2; i++) statuses.push((await get(srv, 'resolution=128')).status);
    expect(statuses).toEqual([200, 200]);
    const limited = await get(srv, 'resolution=128');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-user-class')).toBe('Anon');
    const retry = Number(limited.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(4);
    expect(await limited.json()).toEqual({ detail: `Request was throttled. Expected available in ${retry} second${retry === 1 ? '' : 's'}.` });

    // After the advertised wait, the burst window has room again; the daily limit (3) is next.
    await new Promise((r) => setTimeout(r, retry * 1000 + 200));
    expect((await get(srv, 'resolution=128')).status).toBe(200);
    const daily = await get(srv, 'resolution=128');
    expect(daily.status).toBe(429);
    const dailyRetry = Number(daily.headers.get('retry-after'));
    expect(dailyRetry).toBeGreaterThan(3000);
    expect((await daily.json()).detail).toBe(`Request was throttled. Expected available in ${dailyRetry} seconds.`);
  });

  test('RateLimit-Policy and RateLimit describe both policies with the class quota', async () => {
    const { key } = await userWithKey(srv.store, 'Basic');
    const res = await get(srv, 'resolution=128', key);
    expect(res.headers.get('ratelimit-policy')).toMatch(/^"burst"; q=3; w=4; pk=:[^:]+:, "daily"; q=100; w=3600; pk=:[^:]+:$/);
    expect(res.headers.get('ratelimit')).toMatch(/^"burst"; r=2; t=\d, "daily"; r=99; t=\d+$/);
  });

  test('400s after authentication count; 401s do not', async () => {
    const { key } = await userWithKey(srv.store, 'Basic');
    for (let i = 0; i < 5; i++) expect((await get(srv, '', 'sk-faces-bogus')).status).toBe(401);
    expect((await get(srv, 'age=200', key)).status).toBe(400);
    expect((await get(srv, 'seed=3', key)).status).toBe(400);
    expect((await get(srv, 'resolution=128', key)).status).toBe(200);
    expect((await get(srv, 'resolution=128', key)).status).toBe(429);
  });

  test('users are limited per account, not per key', async () => {
    const { key, userId } = await userWithKey(srv.store, 'Basic');
    const second = (await srv.store.createKey(userId, 'second')).key;
    expect((await get(srv, 'resolution=128', key)).status).toBe(200);
    expect((await get(srv, 'resolution=128', second)).status).toBe(200);
    expect((await get(srv, 'resolution=128', key)).status).toBe(200);
    expect((await get(srv, 'resolution=128', second)).status).toBe(429);
  });
});

describe('limits stay exact on a full generator queue', () => {
  test('503s from a full queue carry Retry-After and do not consume the caller limits', async () => {
    const srv = await startServer({
      RATE_LIMITS: JSON.stringify({ Professional: { burst: 1000, daily: 1000 } }),
      GENERATOR_QUEUE: '0',
      GENERATOR_CONCURRENCY: '1',
    });
    try {
      const { key } = await userWithKey(srv.store, 'Professional');
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => get(srv, `resolution=1024&seed=${i + 1}`, key)));
      const statuses = results.map((r) => r.status);
      expect(statuses).toContain(200);
      expect(statuses).toContain(503);
      for (const r of results.filter((x) => x.status === 503)) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect((await r.json()).detail).toMatch(/did not count against your limits/);
      }
      await Promise.all(results.map((r) => r.arrayBuffer().catch(() => undefined)));
      const served = statuses.filter((s) => s === 200).length;
      const after = await get(srv, 'resolution=128&seed=999', key);
      expect(after.headers.get('ratelimit')).toContain(`"daily"; r=${1000 - served - 1};`);
    } finally {
      await srv.close();
    }
  });
});

describe('Redis-backed limits shared by two app instances', () => {
  let a: TestServer;
  let b: TestServer;
  let redis: Redis;
  const dbPath = `/tmp/facestudio-redis-test-${process.pid}.db`;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    const keys = await redis.keys('facestudio:rl:*');
    if (keys.length) await redis.del(...keys);
    const env = {
      REDIS_URL,
      RATE_LIMITS: JSON.stringify({ Professional: { burst: 4, daily: 6 } }),
      RATE_LIMIT_WINDOWS: JSON.stringify({ burst: 3, daily: 3600 }),
    };
    a = await startServer(env, { databasePath: dbPath });
    b = await startServer(env, { databasePath: dbPath });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await redis.quit();
  });

  test('burst and daily counts hold across both instances, 304s included', async () => {
    const { key } = await userWithKey(a.store, 'Professional');
    const first = await get(a, 'seed=5&resolution=128', key);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect((await get(b, 'seed=5&resolution=128', key, { 'If-None-Match': etag })).status).toBe(304);
    expect((await get(a, 'seed=6&resolution=128', key)).status).toBe(200);
    expect((await get(b, 'seed=7&resolution=128', key)).status).toBe(200);
    const limited = await get(a, 'seed=8&resolution=128', key);
    expect(limited.status).toBe(429);
    const retry = Number(limited.headers.get('retry-after'));
    expect(retry).toBeLessThanOrEqual(3);
    await new Promise((r) => setTimeout(r, retry * 1000 + 200));
    expect((await get(b, 'seed=9&resolution=128', key)).status).toBe(200);
    expect((await get(a, 'seed=10&resolution=128', key)).status).toBe(200);
    const daily = await get(b, 'seed=11&resolution=128', key);
    expect(daily.status).toBe(429);
    expect(Number(daily.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(await redis.keys('facestudio:rl:burst:*')).not.toHaveLength(0);
    expect(await redis.keys('facestudio:rl:daily:*')).not.toHaveLength(0);
  });
});
