import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { CallerAccount } from './identify';

/**
 * Signed embed URLs: `/v1/generate?...&key_id=<key prefix>&expires=<unix>&sig=<hex>`.
 *
 *   signing secret = HMAC-SHA256(key = the API key (UTF-8), message = "facestudio-url-signing-v1")   (32 raw bytes)
 *   canonical      = every query parameter except `sig`, name and value each percent-encoded per
 *                    RFC 3986 (all bytes of the UTF-8 encoding except A-Z a-z 0-9 - . _ ~, upper-case
 *                    hex), sorted by encoded name then encoded value, joined as `name=value` with `&`
 *   sig            = lower-case hex HMAC-SHA256(key = signing secret, message = canonical)
 *
 * The key holder derives the signing secret offline from the key. The server stores only that
 * derived secret (one-way: it cannot give back the API key) next to the key's SHA-256, so it
 * can verify without ever keeping the key itself.
 */
export const SIGNING_CONTEXT = 'facestudio-url-signing-v1';
/** The query parameters that carry the signature; everything else is a generate parameter. */
export const SIGNATURE_PARAMS = ['key_id', 'expires', 'sig'] as const;
/** Signed URLs may expire at most this far ahead (also the cap of POST /v1/embed-urls). */
export const MAX_EXPIRES_IN = 365 * 24 * 3600;
/** Allowance for clocks of signers that run a little ahead of the server. */
const CLOCK_SKEW = 300;
/** `sk-faces-` plus the first 8 characters of the secret part: the key's public prefix. */
const KEY_ID_LENGTH = 'sk-faces-'.length + 8;

export type ParamValue = string | number;

declare module 'express-serve-static-core' {
  interface Request {
    /** Seed derived from a verified signature, used when the signed URL names no `seed`. */
    signedSeed?: number;
  }
}

/** The 32-byte signing secret of an API key. */
export function deriveSigningSecret(key: string): Buffer {
  return crypto.createHmac('sha256', key).update(SIGNING_CONTEXT).digest();
}

/** The `key_id` of a key: its public prefix, as listed by GET /v1/auth/api-keys. */
export function keyIdOf(key: string): string {
  return key.slice(0, KEY_ID_LENGTH);
}

/** RFC 3986 percent-encoding: only unreserved characters stay as they are. */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The canonical query of decoded (name, value) pairs; `sig` pairs are left out. */
export function canonicalize(entries: Iterable<[string, string]>): string {
  return [...entries]
    .filter(([name]) => name !== 'sig')
    .map(([n, v]) => [rfc3986(n), rfc3986(v)] as const)
    .sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

function hmacHex(secret: Buffer, canonical: string): string {
  return crypto.createHmac('sha256', secret).update(canonical).digest('hex');
}

/**
 * Signs generate parameters with an API key: returns the query string (canonical order,
 * `sig` last) that, appended to `/v1/generate?`, is a URL valid until `expires` (unix seconds).
 */
export function signQuery(params: Record<string, ParamValue>, key: string, expires: number): string {
  for (const name of SIGNATURE_PARAMS) {
    if (name in params) throw new Error(`${name} is set by the signer, not a generate parameter`);
  }
  const entries: [string, string][] = Object.entries(params).map(([n, v]) => [n, String(v)]);
  entries.push(['key_id', keyIdOf(key)], ['expires', String(expires)]);
  const canonical = canonicalize(entries);
  return `${canonical}&sig=${hmacHex(deriveSigningSecret(key), canonical)}`;
}

/** A signed URL: `base` (default the path `/v1/generate`) plus the signed query. */
export function signUrl(params: Record<string, ParamValue>, key: string, expires: number, base = '/v1/generate'): string {
  return `${base}?${signQuery(params, key, expires)}`;
}

/** Whether a query carries any signature field (key_id, expires or sig): a signed request. */
export function hasSignature(rawQuery: string): boolean {
  for (const [name] of new URLSearchParams(rawQuery)) {
    if ((SIGNATURE_PARAMS as readonly string[]).includes(name)) return true;
  }
  return false;
}

/** Timing-safe check of a presented `sig` (64 hex digits) against the expected HMAC. */
export function signatureMatches(secret: Buffer, canonical: string, sig: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(sig)) return false;
  const expected = crypto.createHmac('sha256', secret).update(canonical).digest();
  const given = Buffer.from(sig, 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/** The seed of a signed URL that names none: fixed per URL, so its image is cacheable. */
export function seedFromSignature(sig: string): number {
  const h = crypto.createHash('sha256').update(`facestudio-signed-seed-v1\n${sig.toLowerCase()}`).digest();
  return h.readUInt32BE(0) + 1;
}

export type VerifyResult =
  | { ok: true; keyId: string; userId: string; query: string; seed: number; expires: number }
  | { ok: false; status: 400 | 401 | 403; detail: string };

/** A key as signed-URL verification sees it (the account store keeps these). */
export interface SigningKeyRow {
  keyId: string;
  userId: string;
  signingSecret: string | null;
  revoked: boolean;
}

export interface SigningKeyLookup {
  signingKeysByPrefix(prefix: string): SigningKeyRow[] | Promise<SigningKeyRow[]>;
}

/** What signed-URL identification needs of the account store: keys by prefix, and their owners. */
export interface SigningKeyOwners extends SigningKeyLookup {
  userById(id: string): Promise<CallerAccount | undefined>;
}

const fail = (status: 400 | 401 | 403, detail: string): VerifyResult => ({ ok: false, status, detail });

/**
 * Verifies the signature fields of a raw query string. On success returns the owner and the
 * generate parameters with the signature fields removed (still to be validated as usual).
 * Checks, in order: form, key, signature, expiry; so "expired" is only said of authentic URLs.
 */
export async function verifySignedQuery(rawQuery: string, keys: SigningKeyLookup, nowMs = Date.now()): Promise<VerifyResult> {
  const entries = [...new URLSearchParams(rawQuery)];
  const fields: Partial<Record<(typeof SIGNATURE_PARAMS)[number], string>> = {};
  for (const [name, value] of entries) {
    if (!(SIGNATURE_PARAMS as readonly string[]).includes(name)) continue;
    const f = name as (typeof SIGNATURE_PARAMS)[number];
    if (fields[f] !== undefined) return fail(401, `Malformed signed URL: ${f} is given more than once.`);
    fields[f] = value;
  }
  const missing = SIGNATURE_PARAMS.filter((f) => fields[f] === undefined);
  if (missing.length) return fail(401, `Incomplete signed URL: key_id, expires and sig are all required; missing ${missing.join(', ')}.`);
  const { key_id: keyId, expires: expiresRaw, sig } = fields as Record<(typeof SIGNATURE_PARAMS)[number], string>;
  if (!/^(0|[1-9][0-9]{0,11})$/.test(expiresRaw)) return fail(401, 'Malformed signed URL: expires must be a time in unix seconds (plain decimal).');
  if (!/^[0-9a-fA-F]{64}$/.test(sig)) return fail(401, 'Malformed signed URL: sig must be 64 hexadecimal digits (HMAC-SHA256).');

  const candidates = keyId.length === KEY_ID_LENGTH ? await keys.signingKeysByPrefix(keyId) : [];
  if (candidates.length === 0) return fail(401, 'Invalid signed URL: key_id names no API key (it must be the key prefix, e.g. sk-faces-AbCd1234).');
  const active = candidates.filter((k) => !k.revoked);
  if (active.length === 0) return fail(401, 'Invalid signed URL: the API key that signed it has been revoked.');
  const signable = active.filter((k) => k.signingSecret);
  if (signable.length === 0) {
    return fail(
      401,
      'Invalid signed URL: this API key was created before signed URLs existed and has no signing secret. Create a new key, or call POST /v1/embed-urls once with this key to enable signing.',
    );
  }
  const canonical = canonicalize(entries);
  // Every candidate is checked (no early exit), so timing does not depend on which one matched.
  let owner: (typeof signable)[number] | undefined;
  for (const k of signable) {
    if (signatureMatches(Buffer.from(k.signingSecret!, 'hex'), canonical, sig) && !owner) owner = k;
  }
  if (!owner) return fail(401, 'Invalid signed URL: the signature does not match; the URL was altered or signed with another key.');

  const expires = Number(expiresRaw);
  const now = Math.floor(nowMs / 1000);
  if (expires <= now) return fail(403, `This signed URL expired at ${new Date(expires * 1000).toISOString()} (expires=${expires}); ask its issuer for a new one.`);
  if (expires > now + MAX_EXPIRES_IN + CLOCK_SKEW) return fail(403, `Signed URLs may expire at most ${MAX_EXPIRES_IN} seconds (one year) ahead; this one expires later.`);

  const query = entries
    .filter(([name]) => !(SIGNATURE_PARAMS as readonly string[]).includes(name))
    .map(([n, v]) => `${rfc3986(n)}=${rfc3986(v)}`)
    .join('&');
  return { ok: true, keyId: owner.keyId, userId: owner.userId, query, seed: seedFromSignature(sig), expires };
}

function rawQuery(req: Request): string {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? '' : req.originalUrl.slice(i + 1);
}

function reject(res: Response, status: number, detail: string): void {
  res.setHeader('X-User-Class', 'Anon');
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).json({ detail });
}

/**
 * GET /v1/generate with `key_id`/`expires`/`sig`: a verified URL acts as its key's owner
 * (class, limits, usage), exactly like `Authorization: Token` would. Requests without any
 * signature field pass through untouched to Token/Anon identification.
 */
export function signedUrlAuth(store: SigningKeyOwners, now: () => number = Date.now) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const raw = rawQuery(req);
    if (!hasSignature(raw)) return next();
    if (req.headers.authorization !== undefined) {
      return reject(res, 400, 'Use either an Authorization header or a signed URL (key_id, expires, sig), not both.');
    }
    const result = await verifySignedQuery(raw, store, now());
    if (!result.ok) return reject(res, result.status, result.detail);
    const user = await store.userById(result.userId);
    if (!user) return reject(res, 401, 'Invalid signed URL: the account of its key no longer exists.');
    req.caller = { cls: user.class, user, keyId: result.keyId };
    req.signedQuery = result.query;
    req.signedSeed = result.seed;
    next();
  };
}
