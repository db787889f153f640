import { BACKENDS, createTestDatabase, type TestDatabase } from './helpers/database';
import { NO_LIMITS, startServer, type TestServer } from './helpers/server';
import { startSmtp, type TestSmtp } from './helpers/smtp';

/**
 * Section 2 of the API contract through real HTTP: registration with a real SMTP server
 * in-process, verification link from the received mail, login, API keys, account summary.
 * Every test runs twice: on the embedded SQLite store and on PostgreSQL (a fresh database).
 */
let smtp: TestSmtp;
let srv: TestServer;
/** The current backend's database, for checks behind the API's back. */
let db: TestDatabase;
/** Every secret this file sends or receives: none may appear in the server's logs. */
const secrets = new Set<string>();

beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, opts: { body?: unknown; raw?: string; jwt?: string; key?: string; headers?: Record<string, string>; server?: TestServer } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.jwt) headers.Authorization = `Bearer ${opts.jwt}`;
  if (opts.key) headers.Authorization = `Token ${opts.key}`;
  const res = await fetch(`${(opts.server ?? srv).url}${path}`, {
    method,
    headers,
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    redirect: 'manual',
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    /* not JSON */
  }
  expect(res.status).toBeLessThan(500);
  return { status: res.status, json, headers: res.headers, text };
}

let counter = 0;
function person(tag = `u${Date.now().toString(36)}${counter++}`) {
  const password = `pw-${tag}-${Math.random().toString(36).slice(2)}`;
  secrets.add(password);
  return { name: `Test ${tag}`, username: tag, email: `${tag}@Example.test`, password };
}

async function register(p: ReturnType<typeof person>, server = srv) {
  const res = await call('POST', '/auth/register-email', { body: p, server });
  expect(res.status).toBe(201);
  secrets.add(res.json.token);
  return res.json as { token: string; user_id: string };
}

async function login(email: string, password: string, server = srv) {
  const res = await call('POST', '/auth/login-email', { body: { email, password }, server });
  expect(res.status).toBe(200);
  secrets.add(res.json.token);
  return res.json.token as string;
}

async function createKey(jwt: string, name: string, server = srv) {
  const res = await call('POST', '/v1/auth/api-keys', { jwt, body: { name }, server });
  if (res.status === 201) secrets.add(res.json.key);
  return res;
}

/** A registered, verified user (verified through the emailed link) and a session token. */
async function verifiedUser() {
  const p = person();
  const { user_id } = await register(p);
  const link = smtp.verifyLink(await smtp.waitForMail(p.email));
  expect((await fetch(link)).status).toBe(200);
  return { ...p, userId: user_id, jwt: await login(p.email, p.password) };
}

/** The words of a page: tags dropped, the few entities the layout writes decoded. */
function pageText(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
}

describe.each(BACKENDS)('accounts on %s', (backend) => {
  beforeAll(async () => {
    db = await createTestDatabase(backend, 'accounts');
    // Generous sign-up and mail limits here; the brute-force limits have their own server below.
    srv = await startServer({ ...db.env, SMTP_URL: smtp.url, RATE_LIMITS: NO_LIMITS, AUTH_RATE_LIMITS: JSON.stringify({ register: 1000, resend: 1000, resendPerAddress: 1000 }) });
  });
  afterAll(async () => {
    await srv.close();
    await db.drop();
  });

  describe('the whole self-service flow', () => {
    test('register → email → verify → login → 5 keys (6th 409) → list → delete → account', async () => {
      const p = person('ada');
      const reg = await register(p);
      expect(reg.user_id).toEqual(expect.any(String));
      expect(reg.token.split('.')).toHaveLength(3);

      // The verification mail arrives at the real SMTP server.
      const mail = await smtp.waitForMail('ada@example.test');
      expect(mail.text).toContain('Verify your Face Studio email address');
      const link = smtp.verifyLink(mail);
      expect(link.startsWith(srv.url)).toBe(true);

      // Before verification: account visible, key creation refused.
      let acct = await call('GET', '/v1/account', { jwt: reg.token });
      expect(acct.status).toBe(200);
      expect(acct.json).toMatchObject({ user_id: reg.user_id, email: 'ada@example.test', username: 'ada', email_verified: false, class: 'Basic' });
      const early = await createKey(reg.token, 'too early');
      expect(early.status).toBe(403);
      expect(early.json.detail).toMatch(/verify your email/i);

      // The link, as an API client (JSON) and as a browser (redirect to the account page).
      const verified = await call('GET', link.slice(srv.url.length));
      expect(verified.status).toBe(200);
      expect(verified.json).toMatchObject({ user_id: reg.user_id, email_verified: true });
      const again = await call('GET', link.slice(srv.url.length), { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      expect(again.status).toBe(303);
      expect(again.headers.get('location')).toBe('/account?email_verified=1');

      // Login, with the email in any case.
      const jwt = await login('ADA@example.TEST', p.password);

      const keys: Json[] = [];
      for (let i = 1; i <= 5; i++) {
        const res = await createKey(jwt, `key ${i}`);
        expect(res.status).toBe(201);
        expect(res.json.key).toMatch(/^sk-faces-[A-Za-z0-9]{20,}$/);
        expect(res.json.key_prefix).toBe(res.json.key.slice(0, 'sk-faces-'.length + 8));
        expect(res.json).toMatchObject({ id: expect.any(String), name: `key ${i}`, created_at: expect.any(String) });
        expect(res.headers.get('cache-control')).toBe('no-store');
        keys.push(res.json);
      }
      const sixth = await createKey(jwt, 'key 6');
      expect(sixth.status).toBe(409);
      expect(sixth.json.detail).toMatch(/5 active API keys/);

      const list = await call('GET', '/v1/auth/api-keys', { jwt });
      expect(list.status).toBe(200);
      expect(list.json).toHaveLength(5);
      expect(list.json.map((k: Json) => k.id)).toEqual(keys.map((k) => k.id));
      for (const k of list.json) expect(Object.keys(k).sort()).toEqual(['created_at', 'id', 'key_prefix', 'name']);
      for (const k of keys) expect(list.text).not.toContain(k.key);

      // Keys work on the generate endpoint...
      const ok = await fetch(`${srv.url}/v1/generate?resolution=128`, { headers: { Authorization: `Token ${keys[0].key}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-user-class')).toBe('Basic');
      // ...until deleted: then 401 at once.
      expect((await call('DELETE', `/v1/auth/api-keys/${keys[0].id}`, { jwt })).status).toBe(204);
      const gone = await fetch(`${srv.url}/v1/generate?resolution=128`, { headers: { Authorization: `Token ${keys[0].key}` } });
      expect(gone.status).toBe(401);
      expect(await gone.json()).toEqual({ detail: 'Invalid token.' });
      expect((await call('DELETE', `/v1/auth/api-keys/${keys[0].id}`, { jwt })).status).toBe(404);
      expect((await call('GET', '/v1/auth/api-keys', { jwt })).json).toHaveLength(4);
      // A freed slot can be used again.
      expect((await createKey(jwt, 'replacement')).status).toBe(201);

      // Account summary: class, limits from the configuration, usage today.
      acct = await call('GET', '/v1/account', { jwt });
      expect(acct.status).toBe(200);
      expect(acct.json).toMatchObject({
        class: 'Basic',
        email_verified: true,
        advanced_parameters: false,
        limits: { burst: { requests: 100000, window_seconds: 60 }, daily: { requests: 100000, window_seconds: 86400 } },
        usage_today: { requests: 1, date: new Date().toISOString().slice(0, 10), timezone: 'UTC' },
        api_keys: { active: 5, max: 5 },
      });
      // The same summary with an API key instead of the session token.
      const byKey = await call('GET', '/v1/account', { key: keys[1].key });
      expect(byKey.status).toBe(200);
      expect(byKey.json.user_id).toBe(reg.user_id);
      // A class change by an operator shows at once.
      await srv.store.setClass('ada@example.test', 'Professional');
      expect((await call('GET', '/v1/account', { jwt })).json).toMatchObject({ class: 'Professional', advanced_parameters: true, limits: { burst: { requests: 100000 } } });
    });

    test('concurrent requests cannot create a 6th key', async () => {
      const u = await verifiedUser();
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => createKey(u.jwt, `parallel ${i}`)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(5);
      expect(statuses.filter((s) => s === 409)).toHaveLength(7);
      expect((await call('GET', '/v1/auth/api-keys', { jwt: u.jwt })).json).toHaveLength(5);
      const [{ n }] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ? AND revoked_at IS NULL', u.userId);
      expect(Number(n)).toBe(5);
    });

    test('a deleted key stops working at once in another server process sharing the database', async () => {
      const other = await startServer({ ...db.env, RATE_LIMITS: NO_LIMITS });
      try {
        const u = await verifiedUser();
        const key = (await createKey(u.jwt, 'shared')).json;
        const gen = () => fetch(`${other.url}/v1/generate?resolution=128`, { headers: { Authorization: `Token ${key.key}` } });
        expect((await gen()).status).toBe(200);
        // The session token of one process is valid in the other (shared persisted JWT secret).
        expect((await call('GET', '/v1/auth/api-keys', { jwt: u.jwt, server: other })).json).toHaveLength(1);
        expect((await call('DELETE', `/v1/auth/api-keys/${key.id}`, { jwt: u.jwt })).status).toBe(204);
        expect((await gen()).status).toBe(401);
      } finally {
        await other.close();
      }
    });

    test('resend-verification sends a fresh link; the answer does not reveal unknown addresses', async () => {
      const p = person();
      const { token } = await register(p);
      await smtp.waitForMail(p.email);
      const byJwt = await call('POST', '/auth/resend-verification', { jwt: token });
      expect(byJwt.status).toBe(202);
      const byEmail = await call('POST', '/auth/resend-verification', { body: { email: p.email } });
      const unknown = await call('POST', '/auth/resend-verification', { body: { email: 'nobody-at-all@example.test' } });
      expect(byEmail.status).toBe(202);
      expect(unknown.status).toBe(202);
      expect(unknown.json).toEqual(byEmail.json);
      const link = smtp.verifyLink(await smtp.waitForMail(p.email));
      await smtp.waitForMail(p.email);
      expect((await fetch(link)).status).toBe(200);
      const after = await call('POST', '/auth/resend-verification', { jwt: token });
      expect(after.status).toBe(200);
      expect(after.json.detail).toMatch(/already verified/);
    });
  });

  describe('validation: clear 4xx JSON, never 5xx', () => {
    test('register: bad email, short password, bad username, missing fields, all listed at once', async () => {
      const res = await call('POST', '/auth/register-email', { body: { email: 'not-an-email', password: 'short', username: '-x' } });
      expect(res.status).toBe(400);
      expect(res.json.detail).toBe('Invalid request body.');
      const fields = res.json.errors.map((e: Json) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['email', 'password', 'username']));
      expect(res.json.errors.find((e: Json) => e.field === 'password').message).toBe('Must be at least 10 characters.');
      expect(res.json.errors.find((e: Json) => e.field === 'email').message).toMatch(/valid email/);

      const empty = await call('POST', '/auth/register-email', { body: {} });
      expect(empty.status).toBe(400);
      expect(empty.json.errors).toEqual(
        expect.arrayContaining([
          { field: 'email', message: 'Required.' },
          { field: 'password', message: 'Required.' },
          { field: 'username', message: 'Required.' },
        ]),
      );
      const nineChars = await call('POST', '/auth/register-email', { body: { ...person(), password: '123456789' } });
      expect(nineChars.status).toBe(400);
      expect(nineChars.json.errors).toEqual([{ field: 'password', message: 'Must be at least 10 characters.' }]);
      const wrongTypes = await call('POST', '/auth/register-email', { body: { name: 7, email: ['a@b.c'], password: 1234567890, username: null } });
      expect(wrongTypes.status).toBe(400);
      expect(wrongTypes.json.errors).toHaveLength(4);
    });

    test('register: a taken email (any case) or username is 409 naming the field', async () => {
      const p = person();
      await register(p);
      const sameEmail = await call('POST', '/auth/register-email', { body: { ...person(), email: p.email.toUpperCase() } });
      expect(sameEmail.status).toBe(409);
      expect(sameEmail.json).toMatchObject({ detail: 'That email is already registered.', errors: [{ field: 'email' }] });
      const sameUsername = await call('POST', '/auth/register-email', { body: { ...person(), username: p.username.toUpperCase() } });
      expect(sameUsername.status).toBe(409);
      expect(sameUsername.json).toMatchObject({ detail: 'That username is already registered.', errors: [{ field: 'username' }] });
      const both = await call('POST', '/auth/register-email', { body: { ...person(), email: p.email, username: p.username } });
      expect(both.status).toBe(409);
      expect(both.json).toEqual({
        detail: 'That email and username are already registered.',
        errors: [
          { field: 'email', message: 'That email is already registered.' },
          { field: 'username', message: 'That username is already registered.' },
        ],
      });
    });

    test('malformed JSON, non-object JSON, wrong content type and oversized bodies', async () => {
      for (const path of ['/auth/register-email', '/auth/login-email', '/auth/resend-verification']) {
        const bad = await call('POST', path, { raw: '{"email": "a@b.c",', headers: { 'Content-Type': 'application/json' } });
        expect(bad.status).toBe(400);
        expect(bad.json.detail).toBe('The request body is not valid JSON.');
        const arr = await call('POST', path, { raw: '[1,2]', headers: { 'Content-Type': 'application/json' } });
        expect(arr.status).toBe(400);
        expect(arr.json.detail).toBe('The request body must be a JSON object.');
        const scalar = await call('POST', path, { raw: '"x"', headers: { 'Content-Type': 'application/json' } });
        expect(scalar.status).toBe(400);
        const text = await call('POST', path, { raw: 'email=a@b.c', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
        expect(text.status).toBe(415);
        expect(text.json.detail).toMatch(/application\/json/);
        const big = await call('POST', path, { body: { email: 'a@b.c', password: 'x'.repeat(20_000) } });
        expect(big.status).toBe(413);
        expect(big.json.detail).toMatch(/too large/);
      }
      const u = await verifiedUser();
      const big = await call('POST', '/v1/auth/api-keys', { jwt: u.jwt, body: { name: 'n'.repeat(11_000) } });
      expect(big.status).toBe(413);
      const badName = await call('POST', '/v1/auth/api-keys', { jwt: u.jwt, body: { name: '   ' } });
      expect(badName.status).toBe(400);
      expect(badName.json.errors[0].field).toBe('name');
      const longName = await call('POST', '/v1/auth/api-keys', { jwt: u.jwt, body: { name: 'n'.repeat(65) } });
      expect(longName.status).toBe(400);
      const noBody = await call('POST', '/v1/auth/api-keys', { jwt: u.jwt });
      expect(noBody.status).toBe(415);
    });

    test('credentials: missing, malformed, forged, wrong purpose, API key on key management', async () => {
      const u = await verifiedUser();
      const key = (await createKey(u.jwt, 'k')).json.key as string;
      const none = await call('GET', '/v1/account');
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      for (const auth of ['Bearer', 'Bearer not.a.jwt', 'Basic dXNlcjpwYXNz', `Bearer ${u.jwt}x`, 'Token sk-faces-unknown', `Bearer ${u.jwt.split('.').slice(0, 2).join('.')}.AAAA`]) {
        const res = await call('GET', '/v1/account', { headers: { Authorization: auth } });
        expect(res.status).toBe(401);
        expect(res.json.detail).toBe('Invalid token.');
      }
      // An API key is fine for the account summary but cannot manage keys.
      expect((await call('GET', '/v1/account', { key })).status).toBe(200);
      const viaKey = await call('GET', '/v1/auth/api-keys', { key });
      expect(viaKey.status).toBe(401);
      expect(viaKey.json.detail).toMatch(/log in/i);
      // Someone else's key id is "not found", not deletable.
      const other = await verifiedUser();
      const otherKey = (await createKey(other.jwt, 'theirs')).json;
      expect((await call('DELETE', `/v1/auth/api-keys/${otherKey.id}`, { jwt: u.jwt })).status).toBe(404);
      expect((await call('GET', '/v1/auth/api-keys', { jwt: other.jwt })).json).toHaveLength(1);
      // A verification token is not a session token, and a session token does not verify email.
      const p = person();
      const { token } = await register(p);
      const verifyToken = new URL(smtp.verifyLink(await smtp.waitForMail(p.email))).searchParams.get('token')!;
      expect((await call('GET', '/v1/account', { jwt: verifyToken })).status).toBe(401);
      expect((await call('GET', `/auth/verify-email?token=${token}`)).status).toBe(400);
      const badLink = await call('GET', '/auth/verify-email?token=garbage');
      expect(badLink.status).toBe(400);
      expect(badLink.json.detail).toMatch(/invalid or has expired/);
      expect((await call('GET', '/auth/verify-email')).status).toBe(400);
      expect((await call('GET', '/auth/verify-email?token=a&token=b')).status).toBe(400);
      const browserBad = await call('GET', '/auth/verify-email?token=garbage', { headers: { Accept: 'text/html' } });
      expect(browserBad.status).toBe(303);
      expect(browserBad.headers.get('location')).toBe('/account?email_verified=invalid');
    });

    test('login does not reveal whether an email exists', async () => {
      const u = await verifiedUser();
      const wrongPassword = await call('POST', '/auth/login-email', { body: { email: u.email, password: 'definitely wrong' } });
      const unknownEmail = await call('POST', '/auth/login-email', { body: { email: 'no-such-user@example.test', password: 'definitely wrong' } });
      expect(wrongPassword.status).toBe(401);
      expect(unknownEmail.status).toBe(401);
      expect(unknownEmail.json).toEqual(wrongPassword.json);
      expect(wrongPassword.json).toEqual({ detail: 'Invalid email or password.' });
      // A user created by an operator without a password cannot log in, and reads the same.
      await srv.store.createUser({ email: 'cli-only@example.test', username: 'clionly', verified: true });
      const noPassword = await call('POST', '/auth/login-email', { body: { email: 'cli-only@example.test', password: 'anything at all' } });
      expect(noPassword.status).toBe(401);
      expect(noPassword.json).toEqual(wrongPassword.json);
      const malformed = await call('POST', '/auth/login-email', { body: { email: 'x' } });
      expect(malformed.status).toBe(400);
    });

    test('passwords are stored as scrypt hashes', async () => {
      const u = await verifiedUser();
      const hash = (await srv.store.passwordHash(u.userId))!;
      expect(hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
      expect(hash).not.toContain(u.password);
    });
  });

  describe('logs', () => {
    test('never contain a password, an API key or a token', () => {
      const logs = srv.logs.join('');
      expect(logs).toContain('user registered');
      expect(secrets.size).toBeGreaterThan(20);
      for (const s of secrets) expect(logs).not.toContain(s);
      expect(logs).not.toMatch(/sk-faces-[A-Za-z0-9]{20,}/);
    });
  });

  describe('what a new user is told about the verification link', () => {
    test('with SMTP_URL: the API and the sign-up page say the link was emailed', async () => {
      const p = person();
      const res = await call('POST', '/auth/register-email', { body: p });
      expect(res.status).toBe(201);
      secrets.add(res.json.token);
      expect(res.json.verification_link).toBe('emailed');
      expect(res.json.detail).toBe(`We sent a verification link to ${p.email.toLowerCase()}. Open it to verify your address, then create your API keys.`);
      await smtp.waitForMail(p.email.toLowerCase());
      const page = pageText(await (await fetch(`${srv.url}/signup`)).text());
      expect(page).toContain('Check your email');
      expect(page).toContain('Look in the spam folder');
      expect(page).not.toContain('server log');
    });

    test('without SMTP_URL: the API, the resend answer and the sign-up page point to the server log', async () => {
      const local = await startServer({ ...db.env, RATE_LIMITS: NO_LIMITS });
      try {
        const p = person();
        const res = await call('POST', '/auth/register-email', { body: p, server: local });
        expect(res.status).toBe(201);
        secrets.add(res.json.token);
        expect(res.json.verification_link).toBe('server_log');
        expect(res.json.detail).toMatch(/^This server has no mail configured \(development mode: SMTP_URL is not set\), so no email was sent\. The verification link is in the operator's server log/);
        const resent = await call('POST', '/auth/resend-verification', { jwt: res.json.token, server: local });
        expect(resent.status).toBe(202);
        expect(resent.json.detail).toMatch(/server log/);
        expect(resent.json.detail).not.toMatch(/email is on its way/);
        const page = pageText(await (await fetch(`${local.url}/signup`)).text());
        expect(page).toContain("The verification link for is in the operator's server log");
        expect(page).toContain('development mode: SMTP_URL is not set');
        expect(page).not.toMatch(/We sent|spam folder|Check your email/);
      } finally {
        await local.close();
      }
    });
  });

  describe('without SMTP_URL', () => {
    test('the verification link is written to the log, and works', async () => {
      const local = await startServer({ ...db.env, RATE_LIMITS: NO_LIMITS });
      try {
        const p = person();
        await register(p, local);
        let line: string | undefined;
        for (let i = 0; i < 50 && !line; i++) {
          line = local.logs.find((l) => l.includes('verifyUrl'));
          if (!line) await new Promise((r) => setTimeout(r, 50));
        }
        const url = JSON.parse(line!).verifyUrl as string;
        expect(url).toMatch(/\/auth\/verify-email\?token=/);
        expect((await fetch(url)).status).toBe(200);
        expect((await local.store.userByEmail(p.email.toLowerCase()))!.email_verified).toBe(true);
        expect(local.logs.join('')).not.toContain(p.password);
      } finally {
        await local.close();
      }
    });
  });

  describe('brute-force limits', () => {
    let limited: TestServer;
    beforeAll(async () => {
      limited = await startServer({ ...db.env, SMTP_URL: smtp.url });
    });
    afterAll(() => limited.close());

    test('failed logins for one account are limited (then even the right password waits)', async () => {
      const p = person();
      await register(p, limited);
      for (let i = 0; i < 10; i++) {
        const res = await call('POST', '/auth/login-email', { body: { email: p.email, password: `wrong password ${i}` }, server: limited });
        expect(res.status).toBe(401);
      }
      const blocked = await call('POST', '/auth/login-email', { body: { email: p.email, password: p.password }, server: limited });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(blocked.json.detail).toMatch(/Too many failed logins.*Try again in \d+ seconds?\./);
      // Another account from the same client is not locked out by that.
      const q = person();
      await register(q, limited);
      await login(q.email, q.password, limited);
    });

    test('registration attempts per client are limited', async () => {
      // Two registrations happened above; 18 more attempts (invalid ones count too) fill the 20.
      for (let i = 0; i < 18; i++) {
        const res = await call('POST', '/auth/register-email', { body: { email: 'bad' }, server: limited });
        expect(res.status).toBe(400);
      }
      const blocked = await call('POST', '/auth/register-email', { body: person(), server: limited });
      expect(blocked.status).toBe(429);
      expect(blocked.json.detail).toMatch(/Too many sign-ups/);
    });
  });
});
