import { MAX_EXPIRES_IN, keyIdOf } from '../server/auth/signed-url';
import { NO_LIMITS, startServer, userWithKey, type TestServer } from './helpers/server';
import type { SqliteAccountStore } from '../server/accounts/sqlite-store';

let srv: TestServer;
let pro: Awaited<ReturnType<typeof userWithKey>>;
let basic: Awaited<ReturnType<typeof userWithKey>>;

beforeAll(async () => {
  srv = await startServer({ RATE_LIMITS: NO_LIMITS });
  pro = await userWithKey(srv.store, 'Professional');
  basic = await userWithKey(srv.store, 'Basic');
});
afterAll(() => srv.close());

const now = () => Math.floor(Date.now() / 1000);

async function post(body: unknown, key?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${srv.url}/v1/embed-urls`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Token ${key}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

test('201 with a relative signed URL and expires_at; the URL serves the image as the key owner', async () => {
  const before = now();
  const r = await post({ params: { gender: 'female', age: 30, seed: 42, resolution: 128 }, expires_in: 600 }, pro.key);
  expect(r.status).toBe(201);
  expect(r.headers.get('cache-control')).toBe('no-store');
  const { url, expires_at: expiresAt } = r.body as { url: string; expires_at: number };
  expect(expiresAt).toBeGreaterThanOrEqual(before + 600);
  expect(expiresAt).toBeLessThanOrEqual(now() + 600);
  expect(url).toBe(`/v1/generate?age=30&expires=${expiresAt}&gender=female&key_id=${keyIdOf(pro.key)}&resolution=128&seed=42&sig=${url.slice(-64)}`);
  expect(url).not.toContain(pro.key);
  const img = await fetch(`${srv.url}${url}`);
  expect([img.status, img.headers.get('x-user-class'), img.headers.get('x-seed'), img.headers.get('content-type')]).toEqual([200, 'Professional', '42', 'image/jpeg']);
});

test('expires_in defaults to one hour; params may be empty', async () => {
  const r = await post({}, basic.key);
  expect(r.status).toBe(201);
  expect(r.body.expires_at).toBeGreaterThanOrEqual(now() + 3599);
  expect(r.body.url).toMatch(/^\/v1\/generate\?expires=\d+&key_id=sk-faces-\w{8}&sig=[0-9a-f]{64}$/);
});

test('parameters are validated exactly as GET /v1/generate does, for the key class', async () => {
  const r = await post({ params: { seed: 42, age: 95, colour: 'red', gender: 'x' } }, basic.key);
  expect(r.status).toBe(400);
  expect(r.body.detail).toBe('Invalid request parameters.');
  const direct = await fetch(`${srv.url}/v1/generate?seed=42&age=95&colour=red&gender=x`, { headers: { Authorization: `Token ${basic.key}` } });
  expect(r.body.errors).toEqual(((await direct.json()) as { errors: unknown }).errors);
  expect((r.body.errors as { param: string }[]).map((e) => e.param)).toEqual(['seed', 'age', 'colour', 'gender']);
  // A Professional key may sign the same seed.
  expect((await post({ params: { seed: 42 } }, pro.key)).status).toBe(201);
  // Integers must be integers, as in the query string.
  const frac = await post({ params: { age: 30.5 } }, pro.key);
  expect([frac.status, (frac.body.errors as { param: string }[])[0].param]).toEqual([400, 'age']);
  // The signing fields cannot be smuggled in as parameters.
  const smuggled = await post({ params: { expires: 1, sig: 'x' } }, pro.key);
  expect(smuggled.status).toBe(400);
});

test.each([
  ['not JSON', '{"params":'],
  ['an array', '[]'],
  ['params not an object', { params: 'gender=female' }],
  ['a parameter value that is an object', { params: { age: { n: 3 } } }],
  ['a boolean value', { params: { stampless: true } }],
  ['expires_in zero', { expires_in: 0 }],
  ['expires_in over a year', { expires_in: MAX_EXPIRES_IN + 1 }],
  ['expires_in fractional', { expires_in: 1.5 }],
  ['expires_in as a string', { expires_in: '3600' }],
  ['an unknown field', { params: {}, expiry: 5 }],
])('bad body (%s) is 400 JSON', async (_name, body) => {
  const r = await post(body, pro.key);
  expect(r.status).toBe(400);
  expect(typeof r.body.detail).toBe('string');
});

test('invalid JSON and oversized bodies get a clear reason', async () => {
  expect(await post('{"params":', pro.key)).toMatchObject({ status: 400, body: { detail: 'Invalid request body: not valid JSON.' } });
  const big = await post({ params: { gender: 'x'.repeat(20000) } }, pro.key);
  expect([big.status, big.body.detail]).toEqual([413, 'Request body too large (16 KB at most).']);
});

test('a body that is not JSON at all (wrong content type) is 400', async () => {
  const res = await fetch(`${srv.url}/v1/embed-urls`, { method: 'POST', headers: { Authorization: `Token ${pro.key}`, 'Content-Type': 'text/plain' }, body: 'hello' });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { detail: string }).detail).toMatch(/Invalid request body/);
});

test('Token auth is required: none is 401, a bad or revoked key is 401 Invalid token', async () => {
  const none = await post({ params: {} });
  expect([none.status, none.headers.get('www-authenticate'), none.headers.get('x-user-class')]).toEqual([401, 'Token realm="Face Studio"', 'Anon']);
  expect(none.body.detail).toMatch(/Authorization: Token/);
  expect(await post({}, 'sk-faces-nope')).toMatchObject({ status: 401, body: { detail: 'Invalid token.' } });
  const u = await userWithKey(srv.store, 'Basic');
  await srv.store.revokeKey(u.keyId);
  expect(await post({}, u.key)).toMatchObject({ status: 401, body: { detail: 'Invalid token.' } });
});

test('a key made before signed URLs gets its signing secret on first use of this endpoint', async () => {
  const u = await userWithKey(srv.store, 'Professional');
  (srv.store as SqliteAccountStore).db.prepare('UPDATE api_keys SET signing_secret = NULL WHERE id = ?').run(u.keyId);
  const r = await post({ params: { seed: 1, resolution: 128 } }, u.key);
  expect(r.status).toBe(201);
  expect((await fetch(`${srv.url}${r.body.url}`)).status).toBe(200);
});

test('URLs issued for a key die with the key', async () => {
  const u = await userWithKey(srv.store, 'Professional');
  const r = await post({ params: { resolution: 128 } }, u.key);
  await srv.store.revokeKey(u.keyId);
  const res = await fetch(`${srv.url}${r.body.url}`);
  expect(res.status).toBe(401);
  expect(((await res.json()) as { detail: string }).detail).toMatch(/revoked/);
});

test('OpenAPI documents the endpoint and the signature parameters', async () => {
  const doc = (await (await fetch(`${srv.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { parameters?: { name: string }[]; responses: Record<string, unknown> }>>;
  };
  expect(doc.paths['/v1/embed-urls'].post.responses).toHaveProperty('201');
  const names = doc.paths['/v1/generate'].get.parameters!.map((p) => p.name);
  expect(names).toEqual(expect.arrayContaining(['key_id', 'expires', 'sig']));
  expect(doc.paths['/v1/generate'].get.responses).toHaveProperty('403');
});
