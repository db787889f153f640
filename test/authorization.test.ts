import { NO_LIMITS, startServer, userWithKey, type TestServer } from './helpers/server';

/** Spec §1 "Caller identity and class", as a client meets it: scheme case, the 401's challenge and hint. */
let srv: TestServer;
let key: string;
beforeAll(async () => {
  srv = await startServer({ RATE_LIMITS: NO_LIMITS });
  key = (await userWithKey(srv.store, 'Professional')).key;
});
afterAll(() => srv.close());

const generate = (authorization: string) => fetch(`${srv.url}/v1/generate?resolution=128&seed=7`, { headers: { Authorization: authorization } });

/** A real session JWT, from signing up (no SMTP: the verification link only goes to the log). */
async function sessionJwt(): Promise<string> {
  const tag = `auth${Date.now().toString(36)}`;
  const res = await fetch(`${srv.url}/auth/register-email`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: `${tag}@example.test`, username: tag, password: 'a long enough password' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

test.each(['Token', 'token', 'TOKEN', 'tOkEn'])('the scheme name is case-insensitive: "%s <key>" is the key owner', async (scheme) => {
  const res = await generate(`${scheme} ${key}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('x-user-class')).toBe('Professional');
});

test('a lower-case token scheme also works on /v1/account and /v1/embed-urls', async () => {
  const account = await fetch(`${srv.url}/v1/account`, { headers: { Authorization: `token ${key}` } });
  expect(account.status).toBe(200);
  expect((await account.json()).class).toBe('Professional');
  const embed = await fetch(`${srv.url}/v1/embed-urls`, { method: 'POST', headers: { Authorization: `token ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ params: { seed: 3 } }) });
  expect(embed.status).toBe(201);
});

test('a 401 from /v1/generate carries WWW-Authenticate: Token realm="Face Studio", and the exact detail', async () => {
  const res = await generate('Token sk-faces-doesnotexist');
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Token realm="Face Studio"');
  expect(res.headers.get('x-user-class')).toBe('Anon');
  // The right scheme with an unknown key: nothing to hint at.
  expect(await res.json()).toEqual({ detail: 'Invalid token.' });
});

test('a Bearer session JWT sent to /v1/generate is 401 "Invalid token." with a hint about the Token scheme', async () => {
  const jwt = await sessionJwt();
  const res = await generate(`Bearer ${jwt}`);
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Token realm="Face Studio"');
  const body = await res.json();
  expect(body.detail).toBe('Invalid token.');
  expect(body.hint).toMatch(/API keys use the Token scheme/);
  expect(body.hint).toContain('Authorization: Token sk-faces-');
  // The same JWT is good where sessions belong.
  expect((await fetch(`${srv.url}/v1/account`, { headers: { Authorization: `Bearer ${jwt}` } })).status).toBe(200);
});

test('an API key sent with the Bearer scheme, or with no scheme, is 401 with the same hint', async () => {
  for (const header of [`Bearer ${key}`, key]) {
    const res = await generate(header);
    expect([header, res.status]).toEqual([header, 401]);
    const body = await res.json();
    expect(body.detail).toBe('Invalid token.');
    expect(body.hint).toMatch(/API keys use the Token scheme/);
  }
});
