import type { NextFunction, Request, Response } from 'express';
import { apiKeyFrom, isBearerJwt, parseAuthorization } from './authorization-header';
import type { PaidClass, UserClass } from './classes';

/**
 * The account behind a credential, as far as identification and the routes after it use it.
 * auth/ names what it needs of accounts instead of importing them, so the import goes one way:
 * accounts/ (the store, the account routes) build on auth/, never the reverse.
 */
export interface CallerAccount {
  id: string;
  email: string;
  class: PaidClass;
}

/** What Token identification needs of the account store. */
export interface KeyOwners {
  userForKey(key: string): Promise<{ user: CallerAccount; keyId: string } | undefined>;
}

export interface Caller {
  cls: UserClass;
  user?: CallerAccount;
  keyId?: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
    /** Generate parameters of a verified signed URL (signature fields removed). */
    signedQuery?: string;
  }
}

/** The challenge of spec §1: which scheme this endpoint takes, and for which protection space. */
export const TOKEN_CHALLENGE = 'Token realm="Face Studio"';

/**
 * Why a rejected header may have been meant well: a login session (Bearer) or a bare key sent
 * where an API key belongs. Undefined when the scheme was right and the key is simply invalid.
 */
export function authorizationHint(header: string): string | undefined {
  const { scheme } = parseAuthorization(header);
  if (scheme === 'token') return undefined;
  if (isBearerJwt(header)) {
    return 'API keys use the Token scheme: send Authorization: Token sk-faces-…. This Bearer token is a login session, which only the account endpoints take; create an API key on /account or with POST /v1/auth/api-keys.';
  }
  return 'API keys use the Token scheme: send Authorization: Token sk-faces-….';
}

/** 401 of spec §1. `detail` stays exactly "Invalid token." (clients match on it); `hint` may add why. */
export function sendInvalidToken(res: Response, header?: string): void {
  const hint = header === undefined ? undefined : authorizationHint(header);
  res.setHeader('X-User-Class', 'Anon');
  res.setHeader('WWW-Authenticate', TOKEN_CHALLENGE);
  res.status(401).json(hint ? { detail: 'Invalid token.', hint } : { detail: 'Invalid token.' });
}

/**
 * Who is calling: no Authorization header is Anon; `Token <key>` (scheme in any case) is the key owner's class.
 * Anything else, or an unknown or revoked key, is 401: never a silent downgrade to Anon.
 * Keys are looked up on every request, so a revoked key stops working at once, in every
 * process that shares the database.
 */
export function identifyByToken(store: KeyOwners) {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.caller) return next();
    const header = req.headers.authorization;
    if (header === undefined) {
      req.caller = { cls: 'Anon' };
      return next();
    }
    const key = apiKeyFrom(header);
    const found = key ? await store.userForKey(key) : undefined;
    if (!found) return sendInvalidToken(res, header);
    req.caller = { cls: found.user.class, user: found.user, keyId: found.keyId };
    next();
  };
}
