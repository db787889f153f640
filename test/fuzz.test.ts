/**
 * Property-based fuzzing of GET /v1/generate (fast-check): random query strings and header
 * values, sent as raw bytes over TCP so that nothing a client library would refuse or repair
 * (non-UTF-8 bytes, invalid percent escapes, duplicate headers) is filtered out first.
 *
 * Property: every response is 200, 304, 400, 401 or 429 (never 5xx, never a hang), app
 * responses carry X-User-Class and a JSON `detail` when they are errors, nothing is logged as
 * an unhandled error, and the process still answers /healthz afterwards.
 *
 * Generation stays cheap: most cases are invalid, and valid ones ask for resolution=128.
 * Requests go out in batches of BATCH at once (bounded concurrency).
 */
import net from 'node:net';
import fc from 'fast-check';
import { signQuery } from '../server/auth/signed-url';
import { PARAM_NAMES } from '../server/params/schema';
import { NO_LIMITS, startServer, userWithKey, type TestServer } from './helpers/server';

jest.setTimeout(600_000);

const TOTAL_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const BATCH = 16;
const ALLOWED = new Set([200, 304, 400, 401, 429]);

let srv: TestServer;
let port: number;
const keys: Record<'basic' | 'pro' | 'enterprise' | 'revoked', string> = { basic: '', pro: '', enterprise: '', revoked: '' };

beforeAll(async () => {
  srv = await startServer({ RATE_LIMITS: NO_LIMITS, GENERATOR_QUEUE: '256', LOG_LEVEL: 'info' });
  port = Number(new URL(srv.url).port);
  keys.basic = (await userWithKey(srv.store, 'Basic')).key;
  keys.pro = (await userWithKey(srv.store, 'Professional')).key;
  keys.enterprise = (await userWithKey(srv.store, 'Enterprise')).key;
  const revoked = await userWithKey(srv.store, 'Professional');
  await srv.store.revokeKey(revoked.keyId);
  keys.revoked = revoked.key;
});
afterAll(() => srv.close());

// ------------------------------------------------------------------ raw HTTP/1.1 over TCP

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** One request on its own connection; `target` and header values are sent as latin1 bytes. */
function rawGet(target: string, headers: Array<[string, string]>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no response within 60 s for GET ${target.slice(0, 200)}`));
    }, 60_000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (err) => {
      // A server may reset after answering a request it refused; what it answered still counts.
      if (chunks.length === 0) {
        clearTimeout(timer);
        reject(err);
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, end < 0 ? all.length : end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
      if (!m) return reject(new Error(`no HTTP response for GET ${target.slice(0, 200)}: ${JSON.stringify(all.subarray(0, 200).toString('latin1'))}`));
      const h = new Map<string, string>();
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) h.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
      resolve({ status: Number(m[1]), headers: h, body: end < 0 ? Buffer.alloc(0) : all.subarray(end + 4) });
    });
    const lines = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...headers.map(([k, v]) => `${k}: ${v}`)];
    // write, not end: a half-closed socket makes Node drop a response that is still being made.
    sock.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
  });
}

// ------------------------------------------------------------------ arbitraries

const PROTO_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', '__lookupGetter__', 'isPrototypeOf', 'then'];
const SIGNATURE_NAMES = ['key_id', 'expires', 'sig'];
const JUNK_ESCAPES = ['%', '%%', '%E0%A4%A', '%FF', '%C3%28', '%ED%A0%80', '%F4%90%80%80', '%C0%AF', '%zz', '%0', '%00', '%2', '%u0041', '%25', '%26', '%3D', '%5B%5D', 'a', '=', '+', '[', ']'];

/** Percent-encodes what may not appear raw in a request target, keeping & = % [ ] as they are. */
function asTarget(s: string): string {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => (b > 0x20 && b < 0x7f && b !== 0x23 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

const junkEscapes = fc.array(fc.constantFrom(...JUNK_ESCAPES), { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
/** Long, but the whole request stays under Node's 16 KB header limit (431 is test/security's subject). */
const MAX_QUERY = 7000;
const MAX_LONG_HEADER = 3000;
const longValue = fc.tuple(fc.constantFrom('a', '9', '%FF', '%41', '-', '%E0%A4%A', '&', '[]'), fc.integer({ min: 1000, max: MAX_QUERY })).map(([c, n]) => c.repeat(Math.ceil(n / c.length)));

const paramName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...PARAM_NAMES) },
  { weight: 3, arbitrary: fc.constantFrom(...PROTO_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom(...SIGNATURE_NAMES) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...PARAM_NAMES, ...PROTO_NAMES), fc.constantFrom('[]', '[a]', '[__proto__]', '[constructor][prototype]', '[0]', '.x', '%5B%5D', '[]=')).map(([a, b]) => a + b) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }).map(asTarget) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map(asTarget) },
  { weight: 2, arbitrary: junkEscapes },
);

const validValues: Record<string, string[]> = {
  gender: ['male', 'female'],
  ethnicity: ['european', 'african', 'west_asian', 'south_asian', 'east_asian', 'southeast_asian', 'latin_american'],
  age: ['0', '1', '35', '80'],
  resolution: ['128', '129'],
  image_format: ['jpeg', 'webp'],
  seed: ['1', '42', '4294967296'],
  skintone: ['0', '5', '10'],
  eyewear: ['auto', 'none', 'eyeglasses', 'sunglasses'],
  hair_length: ['0', '10'],
  facial_hair: ['0', '10'],
  lighting: ['auto', 'studio', 'natural', 'artistic'],
  zoom_level: ['standard', 'closeup'],
  mood: ['auto', 'neutral', 'happy', 'sad', 'angry', 'surprised'],
  view_profile: ['-60', '0', '60'],
  stampless: ['yes', 'no'],
};
const anyValid = fc.constantFrom(...Object.values(validValues).flat());

const paramValue = fc.oneof(
  { weight: 4, arbitrary: anyValid },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('', '07', '1e3', '3.0', '%205', '+5', '-0', '0x10', 'NaN', 'Infinity', '4294967297', '99999999999999999999999', 'null', 'undefined', '[]', '{}', 'true', '127', '1025', '81', '-61') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, ''))) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map(asTarget) },
  { weight: 2, arbitrary: junkEscapes },
  { weight: 1, arbitrary: longValue },
);

const pair = fc.tuple(paramName, paramValue, fc.constantFrom('=', '=', '=', '=', '', '==')).map(([k, v, eq]) => (eq === '' ? k : `${k}${eq}${v}`));

/** Junk queries, pinned to resolution=128 unless they name a resolution themselves (keeps generation cheap). */
const junkQuery = fc
  .tuple(fc.array(pair, { maxLength: 8 }), fc.constantFrom('&', '&', '&', '&&', ';', '&&&'), fc.nat(8))
  .map(([pairs, sep, at]) => {
    if (!pairs.some((p) => p.startsWith('resolution'))) pairs.splice(at % (pairs.length + 1), 0, 'resolution=128');
    return pairs.join(sep).slice(0, MAX_QUERY);
  });

/** Mostly-valid queries: real parameters and values, duplicates and advanced ones sometimes. */
const validishQuery = fc
  .tuple(fc.subarray(PARAM_NAMES.filter((n) => n !== 'resolution')), fc.nat(), fc.boolean())
  .map(([names, salt, dup]) => {
    const pick = (n: string, i: number) => validValues[n][(salt + i) % validValues[n].length];
    const pairs = ['resolution=128', ...names.map((n, i) => `${n}=${pick(n, i)}`)];
    if (dup && names.length) pairs.push(`${names[0]}=${pick(names[0], 1)}`);
    return pairs.join('&');
  });

type KeyName = keyof typeof keys;
/** Signed URLs made with a real key, then sometimes tampered with. */
const signedQuery = fc
  .tuple(fc.constantFrom<KeyName>('basic', 'pro', 'revoked'), fc.constantFrom('none', 'sig', 'param', 'expires', 'dup', 'drop'), fc.integer({ min: 0, max: 80 }))
  .map(([who, tamper, age]) => {
    const q = signQuery({ resolution: 128, age }, keys[who], Math.floor(Date.now() / 1000) + 3600);
    switch (tamper) {
      case 'sig':
        return q.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'a' ? 'b' : 'a'}`);
      case 'param':
        return q.replace(`age=${age}`, `age=${(age + 1) % 81}`);
      case 'expires':
        return q.replace(/expires=\d+/, 'expires=99999999999');
      case 'dup':
        return `${q}&sig=${'0'.repeat(64)}`;
      case 'drop':
        return q.replace(/&?key_id=[^&]*/, '');
      default:
        return q;
    }
  });

const query = fc.oneof({ weight: 8, arbitrary: junkQuery }, { weight: 2, arbitrary: validishQuery }, { weight: 1, arbitrary: signedQuery });

/** Header values as latin1 strings: printable ASCII, obs-text bytes, tabs, the odd control byte. */
const latin1 = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x09, max: 0xff }).map((c) => String.fromCharCode(c === 0x0a || c === 0x0d ? 0x20 : c)), maxLength });

const authorization = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.constantFrom<KeyName>('basic', 'pro', 'enterprise').map((k) => `Token ${keys[k]}`) },
  { weight: 1, arbitrary: fc.constant('revoked').map(() => `Token ${keys.revoked}`) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => `Token ${s}`) },
  { weight: 1, arbitrary: fc.constantFrom('Bearer x', 'Token', 'token sk-faces-x', 'Basic dXNlcjpwYXNz', '', ' ', 'Token  sk-faces-abc', 'Token sk-faces-\u00ff\u00fe') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom<KeyName>('basic', 'pro'), latin1(8)).map(([k, junk]) => `Token ${keys[k]}${junk}`) },
  { weight: 1, arbitrary: latin1(100) },
  { weight: 1, arbitrary: fc.integer({ min: 500, max: MAX_LONG_HEADER }).map((n) => `Token ${'A'.repeat(n)}`) },
);

const ifNoneMatch = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('*', '"abc"', 'W/"abc"', '""', '"', ',,,', 'W/', '*, "x"', 'null') },
  { weight: 1, arbitrary: latin1(80) },
  { weight: 1, arbitrary: fc.array(fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => `"${s}"`), { maxLength: 60 }).map((a) => a.join(', ').slice(0, MAX_LONG_HEADER)) },
  { weight: 1, arbitrary: fc.integer({ min: 500, max: MAX_LONG_HEADER }).map((n) => `"${'e'.repeat(n)}"`) },
);

const otherHeaders = fc.array(
  fc.tuple(fc.constantFrom('Origin', 'X-Forwarded-For', 'Accept', 'Accept-Encoding', 'Cookie', 'X-Fuzz', 'If-None-Match', 'Authorization', 'Range', 'If-Modified-Since'), latin1(60)),
  { maxLength: 3 },
);

const request = fc.record({ query, authorization, ifNoneMatch, otherHeaders });
type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

function headersOf(r: FuzzRequest): Array<[string, string]> {
  const h: Array<[string, string]> = [];
  if (r.authorization !== undefined) h.push(['Authorization', r.authorization]);
  if (r.ifNoneMatch !== undefined) h.push(['If-None-Match', r.ifNoneMatch]);
  return [...h, ...r.otherHeaders];
}

// ------------------------------------------------------------------ the property

let sent = 0;
const statusCounts = new Map<number, number>();

async function check(r: FuzzRequest): Promise<void> {
  const res = await rawGet(`/v1/generate?${r.query}`, headersOf(r));
  sent++;
  statusCounts.set(res.status, (statusCounts.get(res.status) ?? 0) + 1);
  const where = `GET /v1/generate?${r.query.slice(0, 300)} with ${JSON.stringify(headersOf(r)).slice(0, 300)}`;
  if (!ALLOWED.has(res.status)) throw new Error(`status ${res.status} for ${where}: ${res.body.subarray(0, 300).toString('latin1')}`);
  // Node's own parser answers malformed requests with a bare 400 before the app sees them;
  // everything the app answers names the caller class, and its errors explain themselves.
  if (res.headers.has('content-type')) {
    if (!res.headers.has('x-user-class')) throw new Error(`no X-User-Class on ${res.status} for ${where}`);
    if (res.status >= 400) {
      const detail = (JSON.parse(res.body.toString('utf8')) as { detail?: unknown }).detail;
      if (typeof detail !== 'string' || !detail) throw new Error(`no detail on ${res.status} for ${where}`);
    }
  }
}

test(`${TOTAL_REQUESTS} random queries and headers: only 200/304/400/401/429, never a 5xx`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
      await Promise.all(batch.map(check));
    }),
    { numRuns: Math.ceil(TOTAL_REQUESTS / BATCH) },
  );
  expect(sent).toBeGreaterThanOrEqual(TOTAL_REQUESTS);
  // The mix really did exercise both sides: images and refusals.
  expect(statusCounts.get(200) ?? 0).toBeGreaterThan(TOTAL_REQUESTS / 100);
  expect(statusCounts.get(400) ?? 0).toBeGreaterThan(TOTAL_REQUESTS / 4);
  expect(statusCounts.get(401) ?? 0).toBeGreaterThan(TOTAL_REQUESTS / 50);
  console.log(`fuzz: ${sent} requests; statuses ${JSON.stringify(Object.fromEntries([...statusCounts].sort((a, b) => a[0] - b[0])))}`);
});

const OTHER_PATHS = ['/healthz', '/readyz', '/openapi.json', '/v1/account', '/v1/auth/api-keys', '/auth/verify-email', '/docs', '/', '/login', '/playground', '/assets/app.css', '/assets/..%2f..%2fpackage.json', '/v1/generate/', '/v1/GENERATE', '/nope', '/v1/embed-urls'];
const otherRequest = fc.record({ path: fc.constantFrom(...OTHER_PATHS), query: junkQuery, authorization, ifNoneMatch, otherHeaders });

test('the other GET routes never answer 5xx to the same junk', async () => {
  let count = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(otherRequest, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
      await Promise.all(
        batch.map(async (r) => {
          const res = await rawGet(`${r.path}?${r.query}`, headersOf(r));
          count++;
          if (res.status >= 500) throw new Error(`status ${res.status} for GET ${r.path}?${r.query.slice(0, 300)} with ${JSON.stringify(headersOf(r)).slice(0, 300)}`);
        }),
      );
    }),
    { numRuns: Math.ceil(TOTAL_REQUESTS / 5 / BATCH) },
  );
  expect(count).toBeGreaterThanOrEqual(TOTAL_REQUESTS / 5);
});

test('the process is still healthy and logged no unhandled error', async () => {
  const health = await fetch(`${srv.url}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });
  const ok = await fetch(`${srv.url}/v1/generate?resolution=128`);
  expect(ok.status).toBe(200);
  expect(srv.logs.filter((l) => /unhandled error|"level":50|"level":60/.test(l))).toEqual([]);
});
