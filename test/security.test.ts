/**
 * Security checks, all by behaviour over real HTTP against the real app:
 *   - secrets (API keys, passwords, session JWTs, URL signatures) never reach the logs, even
 *     at LOG_LEVEL=trace and even when a client puts a key somewhere it does not belong;
 *   - secret comparisons are constant-time: every signature and password check goes through
 *     crypto.timingSafeEqual on full-length buffers, wherever the first wrong byte is, and an
 *     unknown email costs a login the same password-hash work as a wrong password;
 *   - API keys are not stored: the database holds no copy of a key;
 *   - helmet-style headers on every HTML page;
 *   - request size limits: oversized request lines, headers and bodies get a 4xx, never a 5xx.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { signQuery } from '../server/auth/signed-url';
import { NO_LIMITS, startServer, userWithKey, type TestServer } from './helpers/server';
import { startSmtp, type TestSmtp } from './helpers/smtp';

jest.setTimeout(180_000);

let srv: TestServer;
let smtp: TestSmtp;
let dbPath: string;

beforeAll(async () => {
  smtp = await startSmtp();
  dbPath = `/tmp/facestudio-security-${process.pid}-${Date.now()}.db`;
  srv = await startServer(
    {
      LOG_LEVEL: 'trace',
      SMTP_URL: smtp.url,
      RATE_LIMITS: NO_LIMITS,
      AUTH_RATE_LIMITS: JSON.stringify({ loginPerEmail: 1000, loginPerIp: 1000, register: 1000, resend: 1000, resendPerAddress: 1000 }),
    },
    { databasePath: dbPath },
  );
});
afterAll(async () => {
  await srv.close();
  await smtp.close();
  for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) fs.rmSync(f, { force: true });
});

async function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${srv.url}${path}`, {
    method,
    headers: { ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    redirect: 'manual',
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Raw request bytes on a fresh connection; resolves with the status code the server sent. */
function rawStatus(request: string | Buffer): Promise<{ status: number; head: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(new URL(srv.url).port), '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (err) => (chunks.length ? undefined : reject(err)));
    sock.on('close', () => {
      const all = Buffer.concat(chunks);
      const head = all.subarray(0, Math.max(0, all.indexOf('\r\n\r\n'))).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, bytes: all.length });
    });
    sock.write(request);
  });
}

const get = (target: string, headers: string[] = []) => rawStatus([`GET ${target} HTTP/1.1`, 'Host: localhost', 'Connection: close', ...headers, '', ''].join('\r\n'));

describe('secrets never reach the logs', () => {
  test('API keys, passwords, JWTs and signatures through every path, at LOG_LEVEL=trace', async () => {
    const secrets: string[] = [];
    const password = `Pw-${crypto.randomBytes(12).toString('base64url')}`;
    const email = `sec-${Date.now()}@example.test`;
    secrets.push(password, `${password}x`);

    // Account life cycle: register, verify, log in (right and wrong), create keys.
    const reg = await call('POST', '/auth/register-email', { body: { name: 'Sec Test', email, password, username: `sec${Date.now()}` } });
    expect(reg.status).toBe(201);
    const jwt = String(reg.json.token);
    secrets.push(jwt);
    const mail = await smtp.waitForMail(email);
    const link = new URL(smtp.verifyLink(mail));
    const verifyToken = link.searchParams.get('token')!;
    secrets.push(verifyToken);
    expect((await call('GET', `${link.pathname}${link.search}`)).status).toBeLessThan(400);
    const login = await call('POST', '/auth/login-email', { body: { email, password } });
    expect(login.status).toBe(200);
    secrets.push(String(login.json.token));
    expect((await call('POST', '/auth/login-email', { body: { email, password: `${password}x` } })).status).toBe(401);
    const created = await call('POST', '/v1/auth/api-keys', { body: { name: 'sec' }, headers: { Authorization: `Bearer ${jwt}` } });
    expect(created.status).toBe(201);
    const key = String(created.json.key);
    expect(key).toMatch(/^sk-faces-/);
    secrets.push(key, key.slice('sk-faces-'.length));
    const auth = { Authorization: `Token ${key}` };

    // The key where it belongs.
    expect((await call('GET', '/v1/generate?resolution=128', { headers: auth })).status).toBe(200);
    expect((await call('GET', '/v1/generate?age=95', { headers: auth })).status).toBe(400);
    expect((await call('GET', '/v1/account', { headers: auth })).status).toBe(200);
    const embed = await call('POST', '/v1/embed-urls', { body: { params: { resolution: 128 }, expires_in: 600 }, headers: auth });
    expect(embed.status).toBe(201);
    const signedUrl = new URL(String(embed.json.url), srv.url);
    const signed = `${signedUrl.pathname}${signedUrl.search}`;
    secrets.push(signedUrl.searchParams.get('sig')!);
    expect((await call('GET', signed)).status).toBe(200);
    // Change the signature's first character (to a different one: a signature that already
    // began with '0' came through unchanged, one run in sixteen).
    const tampered = signed.replace(/sig=(.)/, (_m, c: string) => `sig=${c === '0' ? '1' : '0'}`);
    expect((await call('GET', tampered)).status).toBe(401);

    // The key (and look-alikes) where it does not belong: unknown, malformed, query, path, other headers, bodies.
    const unknown = `sk-faces-${crypto.randomBytes(30).toString('base64url')}`;
    secrets.push(unknown, unknown.slice('sk-faces-'.length));
    expect((await call('GET', '/v1/generate', { headers: { Authorization: `Token ${unknown}` } })).status).toBe(401);
    expect((await call('GET', '/v1/generate', { headers: { Authorization: `Token ${key} extra` } })).status).toBe(401);
    expect((await call('GET', '/v1/generate', { headers: { Authorization: `Bearer ${key}` } })).status).toBe(401);
    expect((await call('GET', `/v1/generate?api_key=${key}`)).status).toBe(400);
    expect((await call('GET', `/v1/generate/${key}`)).status).toBe(404);
    expect((await call('GET', `/v1/account/${key}`, { headers: auth })).status).toBe(404);
    expect((await call('GET', '/v1/generate?resolution=128', { headers: { 'X-Api-Key': key } })).status).toBe(200);
    expect((await call('GET', '/v1/account', { headers: { Authorization: `Bearer ${key}` } })).status).toBe(401);
    expect((await call('POST', '/v1/embed-urls', { body: { params: { key }, api_key: key }, headers: auth })).status).toBe(400);
    expect((await call('POST', '/auth/login-email', { body: { email, password: key } })).status).toBe(401);

    // Revoked: still never logged.
    const keyId = String(created.json.id);
    expect((await call('DELETE', `/v1/auth/api-keys/${keyId}`, { headers: { Authorization: `Bearer ${jwt}` } })).status).toBe(204);
    expect((await call('GET', '/v1/generate', { headers: auth })).status).toBe(401);

    const logs = srv.logs.join('');
    expect(logs).toContain('"msg":"request"');
    expect(logs).toContain('user registered');
    for (const s of secrets) expect(logs).not.toContain(s);
    expect(logs).not.toMatch(/sk-faces-[A-Za-z0-9_-]{20,}/);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./);
  });

  test('API keys are not stored: the database holds no copy of a key', async () => {
    const { key } = await userWithKey(srv.store, 'Professional');
    const created = await call('GET', '/v1/generate?resolution=128', { headers: { Authorization: `Token ${key}` } });
    expect(created.status).toBe(200);
    const bytes = Buffer.concat([dbPath, `${dbPath}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(key)).toBe(false);
    expect(bytes.includes(key.slice('sk-faces-'.length))).toBe(false);
    // One character off is simply another key: 401, not a near miss.
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    expect((await call('GET', '/v1/generate', { headers: { Authorization: `Token ${key.slice(0, -1)}${last}` } })).status).toBe(401);
  });
});

describe('constant-time secret comparison', () => {
  afterEach(() => jest.restoreAllMocks());

  test('signed URLs: every signature check is one timingSafeEqual of two 32-byte MACs, wherever the first wrong digit is', async () => {
    const { key } = await userWithKey(srv.store, 'Basic');
    const q = signQuery({ resolution: 128, age: 30 }, key, Math.floor(Date.now() / 1000) + 600);
    const sig = /sig=([0-9a-f]{64})/.exec(q)![1];
    const flip = (i: number) => `${sig.slice(0, i)}${sig[i] === '0' ? '1' : '0'}${sig.slice(i + 1)}`;
    const spy = jest.spyOn(crypto, 'timingSafeEqual');

    for (const [variant, expected] of [[sig, 200], [flip(0), 401], [flip(31), 401], [flip(63), 401]] as const) {
      spy.mockClear();
      const res = await call('GET', `/v1/generate?${q.replace(sig, variant)}`);
      expect(res.status).toBe(expected);
      expect(spy).toHaveBeenCalledTimes(1);
      const [a, b] = spy.mock.calls[0] as [Buffer, Buffer];
      expect([a.length, b.length]).toEqual([32, 32]);
    }
    // Upper-case hex is the same signature: compared as bytes, not as text.
    spy.mockClear();
    expect((await call('GET', `/v1/generate?${q.replace(sig, sig.toUpperCase())}`)).status).toBe(200);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  test('passwords: a wrong password and an unknown email both do the full scrypt + timingSafeEqual work', async () => {
    const email = `timing-${Date.now()}@example.test`;
    const password = `Pw-${crypto.randomBytes(9).toString('base64url')}`;
    expect((await call('POST', '/auth/register-email', { body: { name: 'Timing', email, password, username: `timing${Date.now()}` } })).status).toBe(201);
    const spy = jest.spyOn(crypto, 'timingSafeEqual');

    const timeLogin = async (body: { email: string; password: string }) => {
      spy.mockClear();
      const t0 = performance.now();
      const res = await call('POST', '/auth/login-email', { body });
      const ms = performance.now() - t0;
      expect(res.status).toBe(401);
      expect(spy).toHaveBeenCalledTimes(1);
      const [a, b] = spy.mock.calls[0] as [Buffer, Buffer];
      expect(a.length).toBe(b.length);
      expect(a.length).toBeGreaterThanOrEqual(32);
      return ms;
    };
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      wrong.push(await timeLogin({ email, password: `${password}x` }));
      unknown.push(await timeLogin({ email: `nobody-${i}-${Date.now()}@example.test`, password }));
    }
    // Coarse on purpose (a loaded machine): skipping the hash would make unknown emails ~100x faster.
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1];
    expect(median(unknown)).toBeGreaterThan(median(wrong) / 3);
  });
});

describe('HTML pages', () => {
  test.each(['/', '/signup', '/login', '/account', '/playground', '/docs'])('%s has helmet security headers', async (path) => {
    const res = await fetch(`${srv.url}${path}`);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toMatch(/^(DENY|SAMEORIGIN)$/);
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  test('static assets are nosniff too, and no response says which framework made it', async () => {
    const css = await fetch(`${srv.url}/assets/app.css`);
    await css.arrayBuffer();
    expect(css.headers.get('x-content-type-options')).toBe('nosniff');
    for (const path of ['/v1/generate?age=95', '/healthz', '/nope', '/openapi.json']) {
      const res = await fetch(`${srv.url}${path}`);
      await res.arrayBuffer();
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });
});

describe('request size limits: 4xx, never 5xx, and the server carries on', () => {
  afterEach(async () => {
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
  });

  test('a 20 KB query string is 431 (Node\'s 16 KB header limit)', async () => {
    expect((await get(`/v1/generate?gender=${'a'.repeat(20_000)}`)).status).toBe(431);
    expect((await get(`/v1/generate?${'age=1&'.repeat(4000)}`)).status).toBe(431);
  });

  test('a 20 KB header, or 400 small ones, is 431', async () => {
    expect((await get('/v1/generate', [`Authorization: Token ${'A'.repeat(20_000)}`])).status).toBe(431);
    expect((await get('/v1/generate', [`If-None-Match: "${'e'.repeat(20_000)}"`])).status).toBe(431);
    expect((await get('/v1/generate', Array.from({ length: 400 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(40)}`))).status).toBe(431);
  });

  test('just under the limit, a query of 1,500 unknown parameters is a plain 400', async () => {
    const t0 = performance.now();
    const res = await get(`/v1/generate?${Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&')}`);
    expect(res.status).toBe(400);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  test('JSON bodies over 10 KB are 413, malformed ones 400, whether or not the length is announced', async () => {
    const big = JSON.stringify({ email: 'a@example.test', password: 'x'.repeat(2_000_000) });
    expect((await call('POST', '/auth/login-email', { body: JSON.parse(big) })).status).toBe(413);
    // Chunked, no Content-Length: refused once 10 KB have been read.
    const body = `{"email":"a@example.test","password":"${'x'.repeat(64 * 1024)}"}`;
    const chunked = await rawStatus(
      ['POST /auth/login-email HTTP/1.1', 'Host: localhost', 'Connection: close', 'Content-Type: application/json', 'Transfer-Encoding: chunked', '', `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`].join('\r\n'),
    );
    expect(chunked.status).toBe(413);
    expect((await rawStatus(['POST /auth/login-email HTTP/1.1', 'Host: localhost', 'Connection: close', 'Content-Type: application/json', 'Content-Length: 9', '', '{"email":'].join('\r\n'))).status).toBe(400);
    expect((await call('POST', '/auth/register-email', { body: { name: 'x'.repeat(9000), email: 'a@b.test', password: 'p'.repeat(1000), username: 'u' } })).status).toBeLessThan(500);
  });

  test('a malformed request line or header is a 400 from the HTTP parser', async () => {
    expect((await rawStatus('GET /v1/generate HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n')).status).toBe(400);
    expect((await rawStatus('GET /v1/gen erate HTTP/1.1\r\nHost: localhost\r\n\r\n')).status).toBe(400);
    expect((await rawStatus('GET /v1/generate HTTP/1.1\r\nHost: localhost\r\nX: a\x00b\r\n\r\n')).status).toBe(400);
  });
});
