import { startServer, userWithKey, type TestServer } from './helpers/server';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `"burst"; r=2; t=3, "daily"; r=4; t=3600` -> { burst: { r: '2', t: '3' }, daily: {…} } */
function items(header: string | null): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const item of (header ?? '').split(/,\s*/).filter(Boolean)) {
    const [name, ...params] = item.split(/;\s*/);
    out[JSON.parse(name)] = Object.fromEntries(params.map((p) => p.split('=') as [string, string]));
  }
  return out;
}

function get(srv: TestServer, query: string, key: string, headers: Record<string, string> = {}) {
  return fetch(`${srv.url}/v1/generate?${query}`, { headers: { Authorization: `Token ${key}`, ...headers } });
}

/**
 * Spec §1, Rate limits: RateLimit-Policy and RateLimit describe both policies on every response
 * that reached the limiters, 429s included: a 429 from the burst limiter ends the request before
 * the daily limiter runs, yet must still report the daily policy (without spending a daily unit).
 * Run against both stores, since a 429 reads the daily state back from its store.
 */
describe.each([
  ['in-memory', {}],
  ['Redis', { REDIS_URL }],
])('RateLimit headers on every status (%s store)', (_store, storeEnv) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({
      ...storeEnv,
      RATE_LIMITS: JSON.stringify({ Professional: { burst: 3, daily: 5 } }),
      RATE_LIMIT_WINDOWS: JSON.stringify({ burst: 5, daily: 3600 }),
    });
  });
  afterAll(() => srv.close());

  test('200, 304, 400, burst 429 and daily 429 each carry the burst and the daily policy', async () => {
    const { key } = await userWithKey(srv.store, 'Professional');
    const seen: { status: number; rl: ReturnType<typeof items>; policy: ReturnType<typeof items>; retry: number }[] = [];
    const record = async (res: Response) => {
      await res.arrayBuffer();
      seen.push({ status: res.status, rl: items(res.headers.get('ratelimit')), policy: items(res.headers.get('ratelimit-policy')), retry: Number(res.headers.get('retry-after')) });
      return res;
    };

    const ok = await record(await get(srv, 'seed=1&resolution=128', key));
    await record(await get(srv, 'seed=1&resolution=128', key, { 'If-None-Match': ok.headers.get('etag')! }));
    await record(await get(srv, 'age=200', key));
    await record(await get(srv, 'seed=2&resolution=128', key)); // 4th in the burst window of 3
    await new Promise((r) => setTimeout(r, seen[3].retry * 1000 + 200));
    await record(await get(srv, 'seed=3&resolution=128', key));
    await record(await get(srv, 'seed=4&resolution=128', key)); // daily 5 of 5
    await record(await get(srv, 'seed=5&resolution=128', key)); // daily exhausted

    expect(seen.map((s) => s.status)).toEqual([200, 304, 400, 429, 200, 200, 429]);
    for (const s of seen) {
      expect([s.status, Object.keys(s.rl)]).toEqual([s.status, ['burst', 'daily']]);
      expect([s.status, Object.keys(s.policy)]).toEqual([s.status, ['burst', 'daily']]);
      expect(s.policy.burst).toMatchObject({ q: '3', w: '5' });
      expect(s.policy.daily).toMatchObject({ q: '5', w: '3600' });
      // One caller, one partition key, whichever code wrote the header.
      expect(s.policy.daily.pk).toBe(seen[0].policy.daily.pk);
    }
    expect(seen.map((s) => [s.rl.burst.r, s.rl.daily.r])).toEqual([
      ['2', '4'],
      ['1', '3'],
      ['0', '2'],
      ['0', '2'], // burst 429: the daily entry is read back, and the rejected request spent no daily unit
      ['2', '1'],
      ['1', '0'],
      ['0', '0'],
    ]);
    expect(Number(seen[3].rl.daily.t)).toBeGreaterThan(3500);
    expect(seen[3].retry).toBeLessThanOrEqual(5);
    expect(seen[6].retry).toBeGreaterThan(3500);
  });
});
