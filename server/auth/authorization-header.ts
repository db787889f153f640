/**
 * Parsing of the Authorization header, shared by every route that reads it.
 *
 * RFC 9110 §11.1: the scheme name is case-insensitive, so `token sk-faces-…` is `Token
 * sk-faces-…`, and `bearer` is `Bearer`. One or more spaces separate scheme and credentials.
 */

export type AuthScheme = 'token' | 'bearer';

export interface ParsedAuthorization {
  /** The scheme, lower-cased; `other` for a scheme this server does not use. */
  scheme: AuthScheme | 'other';
  /** The credentials after the scheme (may be empty or malformed; callers validate). */
  credentials: string;
}

const SCHEME = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/;

export function parseAuthorization(header: string): ParsedAuthorization {
  const m = SCHEME.exec(header.trim());
  if (!m) return { scheme: 'other', credentials: '' };
  const name = m[1].toLowerCase();
  return { scheme: name === 'token' || name === 'bearer' ? name : 'other', credentials: (m[2] ?? '').trim() };
}

/** An API key as sent: token68-like characters only, bounded length. */
const API_KEY = /^[A-Za-z0-9_-]{1,200}$/;
/** A session JWT: three base64url parts. */
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/** The API key of a `Token <key>` header, or undefined for anything else. */
export function apiKeyFrom(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const { scheme, credentials } = parseAuthorization(header);
  return scheme === 'token' && API_KEY.test(credentials) ? credentials : undefined;
}

/** The JWT of a `Bearer <jwt>` header (at most 4096 characters), or undefined. */
export function bearerTokenFrom(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const { scheme, credentials } = parseAuthorization(header);
  return scheme === 'bearer' && credentials.length <= 4096 && /^[A-Za-z0-9_.-]+$/.test(credentials) ? credentials : undefined;
}

/** Whether a header looks like a session token sent where an API key belongs. */
export function isBearerJwt(header: string | undefined): boolean {
  const jwt = bearerTokenFrom(header);
  return jwt !== undefined && JWT.test(jwt);
}
