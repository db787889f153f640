import { loadConfig } from '../server/config/config';
import { signUrl } from '../server/auth/signed-url';
import { EXPOSED_HEADERS } from '../server/http/cors';
import { NO_LIMITS, startServer, userWithKey, type TestServer } from './helpers/server';

const now = () => Math.floor(Date.now() / 1000);
const OTHER = 'https://other.example';
const APP = 'https://app.example.com';

function vary(res: Response): string[] {
  return (res.headers.get('vary') ?? '').split(',').map((s) => s.trim().toLowerCase());
}

function preflight(url: string, origin: string, headers?: string, method = 'GET') {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method, ...(headers ? { 'Access-Control-Request-Headers': headers } : {}) },
  });
}

test('CORS_ORIGINS defaults to * and is a comma-separated list', () => {
  expect(loadConfig({}).corsOrigins).toEqual(['*']);
  expect(loadConfig({ CORS_ORIGINS: `*, ${APP}` }).corsOrigins).toEqual(['*', APP]);
});

describe('default CORS (*)', () => {
  let srv: TestServer;
  let pro: Awaited<ReturnType<typeof userWithKey>>;
  beforeAll(async () => {
    srv = await startServer({ RATE_LIMITS: NO_LIMITS });
    pro = await userWithKey(srv.store, 'Professional');
  });
  afterAll(() => srv.close());

  test('preflight from any origin: 204, GET/HEAD, If-None-Match, but never Authorization', async () => {
    const res = await preflight(`${srv.url}/v1/generate?seed=1`, OTHER, 'if-none-match');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD');
    expect(res.headers.get('access-control-allow-headers')).toBe('If-None-Match');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(vary(res)).toEqual(expect.arrayContaining(['origin', 'access-control-request-method', 'access-control-request-headers']));
    const withAuth = await preflight(`${srv.url}/v1/generate`, OTHER, 'authorization');
    expect(withAuth.status).toBe(204);
    expect(withAuth.headers.get('access-control-allow-headers')).not.toMatch(/authorization/i);
  });

  test('an OPTIONS that is not a preflight just lists the methods', async () => {
    const res = await fetch(`${srv.url}/v1/generate`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('anonymous and signed responses: Allow-Origin *, exposed headers, Vary', async () => {
    const anon = await fetch(`${srv.url}/v1/generate?resolution=128`, { headers: { Origin: OTHER } });
    const signed = await fetch(`${srv.url}${signUrl({ seed: 4, resolution: 128 }, pro.key, now() + 60)}`, { headers: { Origin: OTHER } });
    for (const res of [anon, signed]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-expose-headers')!.split(', ').sort()).toEqual([...EXPOSED_HEADERS].sort());
      expect(vary(res)).toEqual(expect.arrayContaining(['origin', 'authorization']));
    }
    expect(EXPOSED_HEADERS).toEqual(expect.arrayContaining(['X-Seed', 'X-Model-Version', 'X-Generation-Params', 'X-User-Class', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'ETag']));
    expect(signed.headers.get('x-user-class')).toBe('Professional');
  });

  test('errors carry CORS headers too, so a page can read the reason', async () => {
    const bad = await fetch(`${srv.url}/v1/generate?age=200`, { headers: { Origin: OTHER } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('access-control-allow-origin')).toBe('*');
    expect(vary(bad)).toEqual(expect.arrayContaining(['origin', 'authorization']));
    const expired = await fetch(`${srv.url}${signUrl({}, pro.key, now() - 1)}`, { headers: { Origin: OTHER } });
    expect(expired.status).toBe(403);
    expect(expired.headers.get('access-control-allow-origin')).toBe('*');
  });

  test('a Token request from an origin that is not explicitly listed gets no Allow-Origin', async () => {
    const res = await fetch(`${srv.url}/v1/generate?resolution=128`, { headers: { Origin: OTHER, Authorization: `Token ${pro.key}` } });
    expect(res.status).toBe(200); // served (a server cannot stop non-browser clients), but not readable by the page
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toBeNull();
    expect(vary(res)).toEqual(expect.arrayContaining(['origin', 'authorization']));
  });

  test('without Origin there are no CORS headers, but Vary still says Origin', async () => {
    const res = await fetch(`${srv.url}/v1/generate?resolution=128`);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(vary(res)).toEqual(expect.arrayContaining(['origin', 'authorization']));
  });

  test('POST /v1/embed-urls is not open to unlisted origins', async () => {
    const res = await preflight(`${srv.url}/v1/embed-urls`, OTHER, 'authorization, content-type', 'POST');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  describe('cache', () => {
    async function counters() {
      const text = await (await fetch(`${srv.url}/metrics`)).text();
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
      return { hits: value(/^facestudio_image_cache_hits_total (\d+)/m), renders: value(/^facestudio_generation_seconds_count\{stage="inference"\} (\d+)/m) };
    }
    const token = (q: string) => fetch(`${srv.url}/v1/generate?${q}`, { headers: { Authorization: `Token ${pro.key}` } });

    test('a repeated seeded request is served from the LRU cache without running the model', async () => {
      const c0 = await counters();
      const first = await token('seed=777&resolution=160&gender=male');
      const bytes = Buffer.from(await first.arrayBuffer());
      const c1 = await counters();
      expect(c1).toEqual({ hits: c0.hits, renders: c0.renders + 1 });
      // Same parameters in another order, and the same face through a signed URL: both hits.
      const again = await token('gender=male&resolution=160&seed=777');
      const viaSig = await fetch(`${srv.url}${signUrl({ seed: 777, resolution: 160, gender: 'male' }, pro.key, now() + 60)}`);
      for (const res of [again, viaSig]) {
        expect(res.status).toBe(200);
        expect(res.headers.get('etag')).toBe(first.headers.get('etag'));
        expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
        expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
      }
      expect(await counters()).toEqual({ hits: c1.hits + 2, renders: c1.renders });
    });

    test('If-None-Match returns 304 with no body for Token and signed requests alike', async () => {
      const first = await token('seed=778&resolution=128');
      const etag = first.headers.get('etag')!;
      const c0 = await counters();
      const warm = await token('seed=778&resolution=128');
      expect(warm.status).toBe(200);
      const conditional = await fetch(`${srv.url}/v1/generate?seed=778&resolution=128`, { headers: { Authorization: `Token ${pro.key}`, 'If-None-Match': etag } });
      const signed = await fetch(`${srv.url}${signUrl({ seed: 778, resolution: 128 }, pro.key, now() + 60)}`, { headers: { 'If-None-Match': `W/"x", ${etag}`, Origin: OTHER } });
      for (const res of [conditional, signed]) {
        expect(res.status).toBe(304);
        expect(res.headers.get('etag')).toBe(etag);
        expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
        expect((await res.arrayBuffer()).byteLength).toBe(0);
      }
      expect(signed.headers.get('access-control-allow-origin')).toBe('*');
      expect((await counters()).renders).toBe(c0.renders);
    });

    test('unseeded, unsigned requests are no-store and never cached', async () => {
      const c0 = await counters();
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${srv.url}/v1/generate?resolution=128`);
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('etag')).toBeNull();
      }
      expect(await counters()).toEqual({ hits: c0.hits, renders: c0.renders + 2 });
    });
  });
});

describe('CORS_ORIGINS with an explicit list only', () => {
  let srv: TestServer;
  let pro: Awaited<ReturnType<typeof userWithKey>>;
  beforeAll(async () => {
    srv = await startServer({ RATE_LIMITS: NO_LIMITS, CORS_ORIGINS: `${APP}/`, CACHE_MAX_MB: '0' });
    pro = await userWithKey(srv.store, 'Professional');
  });
  afterAll(() => srv.close());

  test('a listed origin may use a Token: preflight allows Authorization, the origin is echoed', async () => {
    const pre = await preflight(`${srv.url}/v1/generate`, APP, 'authorization, if-none-match');
    expect(pre.headers.get('access-control-allow-origin')).toBe(APP);
    expect(pre.headers.get('access-control-allow-headers')).toBe('Authorization, If-None-Match');
    const res = await fetch(`${srv.url}/v1/generate?seed=3&resolution=128`, { headers: { Origin: APP, Authorization: `Token ${pro.key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Seed');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const embed = await preflight(`${srv.url}/v1/embed-urls`, APP, 'authorization, content-type', 'POST');
    expect([embed.headers.get('access-control-allow-origin'), embed.headers.get('access-control-allow-methods'), embed.headers.get('access-control-allow-headers')]).toEqual([
      APP,
      'POST',
      'Authorization, Content-Type',
    ]);
    const posted = await fetch(`${srv.url}/v1/embed-urls`, { method: 'POST', headers: { Origin: APP, Authorization: `Token ${pro.key}`, 'Content-Type': 'application/json' }, body: '{}' });
    expect([posted.status, posted.headers.get('access-control-allow-origin')]).toEqual([201, APP]);
  });

  test('other origins get nothing, even anonymously or signed', async () => {
    const pre = await preflight(`${srv.url}/v1/generate`, OTHER, 'if-none-match');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const anon = await fetch(`${srv.url}/v1/generate?resolution=128`, { headers: { Origin: OTHER } });
    const signed = await fetch(`${srv.url}${signUrl({ resolution: 128 }, pro.key, now() + 60)}`, { headers: { Origin: OTHER } });
    for (const res of [anon, signed]) expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const fromApp = await fetch(`${srv.url}/v1/generate?resolution=128`, { headers: { Origin: APP } });
    expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP);
  });

  test('CACHE_MAX_MB=0 turns the image cache off', async () => {
    const metrics = async () => /^facestudio_image_cache_hits_total (\d+)/m.exec(await (await fetch(`${srv.url}/metrics`)).text())![1];
    for (let i = 0; i < 3; i++) expect((await fetch(`${srv.url}/v1/generate?seed=9&resolution=128`, { headers: { Authorization: `Token ${pro.key}` } })).status).toBe(200);
    expect(await metrics()).toBe('0');
  });
});
