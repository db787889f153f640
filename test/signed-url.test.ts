import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import {
  MAX_EXPIRES_IN,
  canonicalize,
  deriveSigningSecret,
  keyIdOf,
  rfc3986,
  signQuery,
  signUrl,
  signatureMatches,
  verifySignedQuery,
} from '../server/auth/signed-url';
import { NO_LIMITS, startServer, userWithKey, type TestServer } from './helpers/server';
import type { SqliteAccountStore } from '../server/accounts/sqlite-store';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const now = () => Math.floor(Date.now() / 1000);

describe('signing algorithm (no server)', () => {
  test('canonical query: RFC 3986 encoding, sorted by name then value, sig left out', () => {
    expect(rfc3986("a b*!'()~-._/+é")).toBe('a%20b%2A%21%27%28%29~-._%2F%2B%C3%A9');
    expect(
      canonicalize([
        ['seed', '42'],
        ['age', '30'],
        ['sig', 'ignored'],
        ['a b', 'x'],
        ['age', '3'],
        ['gender', 'female'],
      ]),
    ).toBe('a%20b=x&age=3&age=30&gender=female&seed=42');
  });

  test('signing secret and signature follow the documented recipe', () => {
    const key = 'sk-faces-AbCd1234' + 'x'.repeat(32);
    const secret = crypto.createHmac('sha256', key).update('facestudio-url-signing-v1').digest();
    expect(deriveSigningSecret(key).equals(secret)).toBe(true);
    expect(keyIdOf(key)).toBe('sk-faces-AbCd1234');
    const q = signQuery({ seed: 42, gender: 'female', age: 30 }, key, 2000000000);
    const canonical = 'age=30&expires=2000000000&gender=female&key_id=sk-faces-AbCd1234&seed=42';
    expect(q).toBe(`${canonical}&sig=${crypto.createHmac('sha256', secret).update(canonical).digest('hex')}`);
    expect(signUrl({}, key, 5)).toMatch(/^\/v1\/generate\?expires=5&key_id=sk-faces-AbCd1234&sig=[0-9a-f]{64}$/);
    expect(() => signQuery({ sig: 'x' }, key, 5)).toThrow(/sig/);
  });

  test('signatures are compared with crypto.timingSafeEqual on equal-length buffers', () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    const secret = Buffer.alloc(32, 7);
    const good = crypto.createHmac('sha256', secret).update('a=1').digest('hex');
    expect(signatureMatches(secret, 'a=1', good)).toBe(true);
    expect(signatureMatches(secret, 'a=1', good.toUpperCase())).toBe(true);
    expect(signatureMatches(secret, 'a=2', good)).toBe(false);
    expect(signatureMatches(secret, 'a=1', good.slice(2))).toBe(false); // wrong length: rejected before comparing
    expect(signatureMatches(secret, 'a=1', `${good.slice(0, 62)}zz`)).toBe(false);
    expect(spy).toHaveBeenCalledTimes(3);
    for (const [a, b] of spy.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
    spy.mockRestore();
  });

  test('malformed signature fields are rejected before any key lookup', async () => {
    const lookup = { signingKeysByPrefix: jest.fn(() => []) };
    const sig = 'a'.repeat(64);
    const cases: [string, RegExp][] = [
      [`key_id=sk-faces-AbCd1234&expires=${now() + 60}`, /missing sig/],
      [`sig=${sig}`, /missing key_id, expires/],
      [`key_id=sk-faces-AbCd1234&expires=${now() + 60}&sig=${sig}&sig=${sig}`, /sig is given more than once/],
      [`key_id=sk-faces-AbCd1234&expires=1e10&sig=${sig}`, /expires must be a time in unix seconds/],
      [`key_id=sk-faces-AbCd1234&expires=${now() + 60}&sig=xyz`, /sig must be 64 hexadecimal digits/],
    ];
    for (const [q, detail] of cases) {
      const r = await verifySignedQuery(q, lookup);
      expect(r).toEqual({ ok: false, status: 401, detail: expect.stringMatching(detail) });
    }
    expect(lookup.signingKeysByPrefix).not.toHaveBeenCalled();
  });
});

describe('signed URLs against the real server', () => {
  let srv: TestServer;
  let pro: Awaited<ReturnType<typeof userWithKey>>;
  let basic: Awaited<ReturnType<typeof userWithKey>>;

  beforeAll(async () => {
    srv = await startServer({ RATE_LIMITS: NO_LIMITS });
    pro = await userWithKey(srv.store, 'Professional');
    basic = await userWithKey(srv.store, 'Basic');
  });
  afterAll(() => srv.close());

  const signed = (params: Record<string, string | number>, key: string, expiresIn = 600) => `${srv.url}${signUrl(params, key, now() + expiresIn)}`;
  const json = async (res: Response) => ({ status: res.status, cls: res.headers.get('x-user-class'), body: (await res.json()) as { detail: string } });

  test('a signed URL is served with the key owner class, cacheable, and counted as the owner', async () => {
    const before = await srv.store.usageToday(pro.userId);
    const url = signed({ gender: 'female', age: 30, seed: 42, resolution: 128 }, pro.key);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-user-class')).toBe('Professional');
    expect(res.headers.get('x-seed')).toBe('42');
    expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.format, meta.width]).toEqual(['jpeg', 128]);
    const again = await fetch(url, { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await srv.store.usageToday(pro.userId)).toBe(before + 2);
  });

  test('the same face as the equivalent Token request', async () => {
    const params = { gender: 'male', seed: 7, resolution: 128, mood: 'happy' };
    const viaSig = Buffer.from(await (await fetch(signed(params, pro.key))).arrayBuffer());
    const viaToken = await fetch(`${srv.url}/v1/generate?gender=male&seed=7&resolution=128&mood=happy`, { headers: { Authorization: `Token ${pro.key}` } });
    expect(viaToken.status).toBe(200);
    expect(Buffer.from(await viaToken.arrayBuffer()).equals(viaSig)).toBe(true);
  });

  test('parameters are validated for the owner class: a Basic key cannot sign a seed', async () => {
    const r = await json(await fetch(signed({ seed: 42, resolution: 128 }, basic.key)));
    expect(r.status).toBe(400);
    expect(r.cls).toBe('Basic');
    expect(r.body).toEqual({ detail: 'Invalid request parameters.', errors: [{ param: 'seed', message: 'Requires the Professional plan or higher; your class is Basic.' }] });
    const unknown = await json(await fetch(signed({ colour: 'red' }, basic.key)));
    expect(unknown.status).toBe(400);
  });

  test('an unseeded signed URL names one fixed face: same bytes and ETag every time', async () => {
    const url = signed({ gender: 'female', resolution: 128 }, basic.key);
    const a = await fetch(url);
    const b = await fetch(url);
    expect(a.status).toBe(200);
    expect(a.headers.get('x-user-class')).toBe('Basic');
    expect(a.headers.get('cache-control')).toContain('immutable');
    expect(a.headers.get('x-seed')).toBe(b.headers.get('x-seed'));
    expect(a.headers.get('etag')).toBe(b.headers.get('etag'));
    expect(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(await b.arrayBuffer()))).toBe(true);
    // Another signature (here: another expiry) is another face.
    const other = await fetch(signed({ gender: 'female', resolution: 128 }, basic.key, 1200));
    expect(other.headers.get('x-seed')).not.toBe(a.headers.get('x-seed'));
  });

  test('equivalent spellings of the same signed query are accepted', async () => {
    const url = new URL(signed({ gender: 'female', seed: 9, resolution: 128 }, pro.key));
    const pairs = url.search.slice(1).split('&');
    const variants = [
      pairs.slice().reverse().join('&'), // any order
      pairs.map((p) => (p.startsWith('sig=') ? p.toUpperCase().replace('SIG=', 'sig=') : p)).join('&'), // upper-case hex
      pairs.map((p) => p.replace('gender=female', 'gender=fem%61le')).join('&'), // percent-encoded letter
    ];
    for (const q of variants) expect((await fetch(`${srv.url}/v1/generate?${q}`)).status).toBe(200);
  });

  describe('tampering with any part of the URL is rejected', () => {
    let pairs: string[];
    beforeAll(() => {
      const url = new URL(signed({ gender: 'female', age: 30, seed: 42, resolution: 128 }, pro.key));
      pairs = url.search.slice(1).split('&');
    });
    const go = async (q: string) => json(await fetch(`${srv.url}/v1/generate?${q}`));
    const replace = (name: string, value: string) => pairs.map((p) => (p.startsWith(`${name}=`) ? `${name}=${value}` : p)).join('&');

    test.each([
      ['gender', 'male'],
      ['age', '31'],
      ['seed', '43'],
      ['resolution', '256'],
    ])('changing %s', async (name, value) => {
      const r = await go(replace(name, value));
      expect(r).toEqual({ status: 401, cls: 'Anon', body: { detail: expect.stringMatching(/signature does not match/) } });
    });

    test('adding, duplicating or removing a generate parameter', async () => {
      for (const q of [
        `${pairs.join('&')}&stampless=yes`,
        `${pairs.join('&')}&age=30`,
        pairs.filter((p) => !p.startsWith('age=')).join('&'),
      ]) {
        expect((await go(q)).body.detail).toMatch(/signature does not match/);
      }
    });

    test('changing expires (later or earlier)', async () => {
      const expires = Number(pairs.find((p) => p.startsWith('expires='))!.slice(8));
      for (const e of [expires + 1, expires + 86400, expires - 1]) {
        const r = await go(replace('expires', String(e)));
        expect([r.status, r.body.detail]).toEqual([401, expect.stringMatching(/signature does not match/)]);
      }
    });

    test('changing key_id to another key (same class) or to no key', async () => {
      const other = await userWithKey(srv.store, 'Professional');
      const r = await go(replace('key_id', keyIdOf(other.key)));
      expect([r.status, r.body.detail]).toEqual([401, expect.stringMatching(/signature does not match/)]);
      const none = await go(replace('key_id', 'sk-faces-00000000'));
      expect([none.status, none.body.detail]).toEqual([401, expect.stringMatching(/key_id names no API key/)]);
      const full = await go(replace('key_id', pro.key)); // the whole key is not a key_id (and must never be sent)
      expect(full.status).toBe(401);
    });

    test('changing, truncating or removing sig', async () => {
      const sig = pairs.find((p) => p.startsWith('sig='))!.slice(4);
      const flipped = sig.slice(0, 10) + (sig[10] === '0' ? '1' : '0') + sig.slice(11);
      expect((await go(replace('sig', flipped))).body.detail).toMatch(/signature does not match/);
      expect((await go(replace('sig', sig.slice(0, 63)))).body.detail).toMatch(/64 hexadecimal digits/);
      expect((await go(pairs.filter((p) => !p.startsWith('sig=')).join('&'))).body.detail).toMatch(/missing sig/);
      expect((await go(pairs.filter((p) => !p.startsWith('expires=')).join('&'))).body.detail).toMatch(/missing expires/);
    });

    test('a failed signature does not count against anyone', async () => {
      const before = await srv.store.usageToday(pro.userId);
      await go(replace('seed', '1'));
      expect(await srv.store.usageToday(pro.userId)).toBe(before);
    });
  });

  test('signed with another key than key_id names (wrong key)', async () => {
    const other = await userWithKey(srv.store, 'Professional');
    const q = signQuery({ seed: 3, resolution: 128 }, other.key, now() + 600).replace(keyIdOf(other.key), keyIdOf(pro.key));
    const r = await json(await fetch(`${srv.url}/v1/generate?${q}`));
    expect([r.status, r.body.detail]).toEqual([401, expect.stringMatching(/signature does not match/)]);
  });

  test('expired URLs are 403 with the expiry time; expiry too far ahead is 403', async () => {
    const expired = await json(await fetch(`${srv.url}${signUrl({ resolution: 128 }, pro.key, now() - 5)}`));
    expect(expired.status).toBe(403);
    expect(expired.cls).toBe('Anon');
    expect(expired.body.detail).toMatch(/^This signed URL expired at \d{4}-\d\d-\d\dT/);
    const far = await json(await fetch(`${srv.url}${signUrl({ resolution: 128 }, pro.key, now() + MAX_EXPIRES_IN + 3600)}`));
    expect([far.status, far.body.detail]).toEqual([403, expect.stringMatching(/at most 31536000 seconds/)]);
    expect((await fetch(`${srv.url}${signUrl({ resolution: 128 }, pro.key, now() + MAX_EXPIRES_IN)}`)).status).toBe(200);
  });

  test('revoking the key stops its URLs at once; the owner other keys keep working', async () => {
    const u = await userWithKey(srv.store, 'Professional');
    const second = await srv.store.createKey(u.userId, 'second');
    const url = signed({ seed: 5, resolution: 128 }, u.key);
    const url2 = signed({ seed: 5, resolution: 128 }, second.key);
    expect((await fetch(url)).status).toBe(200);
    expect(await srv.store.revokeKey(u.keyId)).toBe(true);
    const r = await json(await fetch(url));
    expect(r).toEqual({ status: 401, cls: 'Anon', body: { detail: expect.stringMatching(/has been revoked/) } });
    expect((await fetch(url2)).status).toBe(200);
  });

  test('a key created before signed URLs (no signing secret) is rejected with a clear reason', async () => {
    const u = await userWithKey(srv.store, 'Professional');
    (srv.store as SqliteAccountStore).db.prepare('UPDATE api_keys SET signing_secret = NULL WHERE id = ?').run(u.keyId);
    const r = await json(await fetch(signed({ seed: 5 }, u.key)));
    expect([r.status, r.body.detail]).toEqual([401, expect.stringMatching(/created before signed URLs existed/)]);
  });

  test('a request with both Authorization and a signature is 400', async () => {
    const r = await json(await fetch(signed({ seed: 5 }, pro.key), { headers: { Authorization: `Token ${pro.key}` } }));
    expect(r).toEqual({ status: 400, cls: 'Anon', body: { detail: expect.stringMatching(/either an Authorization header or a signed URL/) } });
  });

  test('the signing secret is stored, the API key is not', () => {
    const row = (srv.store as SqliteAccountStore).db.prepare('SELECT * FROM api_keys WHERE id = ?').get(pro.keyId) as Record<string, unknown>;
    expect(row.signing_secret).toBe(deriveSigningSecret(pro.key).toString('hex'));
    expect(JSON.stringify(row)).not.toContain(pro.key);
  });

  test('scripts/tools/sign-url.ts prints a URL that works', async () => {
    const { stdout } = await run(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      ['scripts/tools/sign-url.ts', '--key', pro.key, '--expires-in', '120', '--base', srv.url, 'gender=female', 'age=30', 'seed=42', 'resolution=128'],
      { cwd: ROOT },
    );
    const url = stdout.trim();
    expect(url).toMatch(new RegExp(`^${srv.url}/v1/generate\\?age=30&expires=\\d+&gender=female&key_id=sk-faces-\\w{8}&resolution=128&seed=42&sig=[0-9a-f]{64}$`));
    const res = await fetch(url);
    expect([res.status, res.headers.get('x-seed')]).toEqual([200, '42']);
    await expect(run(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/tools/sign-url.ts', 'gender=female'], { cwd: ROOT, env: { ...process.env, FACES_API_KEY: '' } })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/--key .* is required/),
    });
  });

  describe('the README examples produce URLs the server accepts', () => {
    const readme = fs.existsSync(path.join(ROOT, 'README.md')) ? fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8') : '';
    const section = readme.split(/^## Signed embed URLs\s*$/m)[1]?.split(/^## /m)[0] ?? '';
    const block = (lang: string) => new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section)?.[1];
    const adapt = (code: string) => code.replaceAll('sk-faces-...', pro.key).replaceAll('https://faces.example.com', srv.url).replaceAll('"seed": 42', '"seed": 42, "resolution": 128').replaceAll('seed: 42', 'seed: 42, resolution: 128');

    test('JavaScript', async () => {
      const code = block('js');
      expect(code).toBeDefined();
      expect(code!.trim().split('\n').length).toBeLessThanOrEqual(12);
      const { stdout } = await run(process.execPath, ['-e', adapt(code!)]);
      const res = await fetch(stdout.trim());
      expect([res.status, res.headers.get('x-user-class'), res.headers.get('x-seed')]).toEqual([200, 'Professional', '42']);
    });

    const python = (() => {
      try {
        require('node:child_process').execFileSync('python3', ['-c', 'pass']);
        return true;
      } catch {
        return false;
      }
    })();
    (python ? test : test.skip)('Python', async () => {
      const code = block('python');
      expect(code).toBeDefined();
      expect(code!.trim().split('\n').length).toBeLessThanOrEqual(12);
      const { stdout } = await run('nice', ['-n', '10', 'python3', '-c', adapt(code!)]);
      const res = await fetch(stdout.trim());
      expect([res.status, res.headers.get('x-user-class'), res.headers.get('x-seed')]).toEqual([200, 'Professional', '42']);
    });
  });
});

describe('signed requests count against the owner limits', () => {
  let srv: TestServer;
  afterAll(() => srv?.close());

  test('burst limit shared between signed URLs and Token requests of the same account', async () => {
    srv = await startServer({ RATE_LIMITS: JSON.stringify({ Professional: { burst: 2, daily: 100 }, Anon: { burst: 100, daily: 100 } }) });
    const u = await userWithKey(srv.store, 'Professional');
    const url = `${srv.url}${signUrl({ seed: 11, resolution: 128 }, u.key, now() + 600)}`;
    const first = await fetch(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toMatch(/"burst"; q=2;/);
    expect((await fetch(`${srv.url}/v1/generate?seed=11&resolution=128`, { headers: { Authorization: `Token ${u.key}` } })).status).toBe(200);
    const third = await fetch(url);
    expect(third.status).toBe(429);
    expect(third.headers.get('x-user-class')).toBe('Professional');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    // Anonymous callers from the same address are not affected: the limit is the account's.
    expect((await fetch(`${srv.url}/v1/generate?resolution=128`)).status).toBe(200);
  });
});
