import type { NextFunction, Request, Response } from 'express';
import type { AccountStore, User } from '../accounts/store';
import type { UserClass } from './classes';

export interface Caller {
  cls: UserClass;
  user?: User;
  keyId?: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
    /** Generate parameters of a verified signed URL (signature fields removed). */
    signedQuery?: string;
  }
}

const TOKEN_HEADER = /^Token ([A-Za-z0-9_-]{1,200})$/;

export function sendInvalidToken(res: Response): void {
  res.setHeader('X-User-Class', 'Anon');
  res.status(401).json({ detail: 'Invalid token.' });
}

/**
 * Who is calling: no Authorization header is Anon; `Token <key>` is the key owner's class.
 * Anything else, or an unknown or revoked key, is 401: never a silent downgrade to Anon.
 * Keys are looked up on every request, so a revoked key stops working at once, in every
 * process that shares the database.
 */
export function identifyByToken(store: AccountStore) {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.caller) return next();
    const header = req.headers.authorization;
    if (header === undefined) {
      req.caller = { cls: 'Anon' };
      return next();
    }
    const m = TOKEN_HEADER.exec(header);
    const found = m ? await store.userForKey(m[1]) : undefined;
    if (!found) return sendInvalidToken(res);
    req.caller = { cls: found.user.class, user: found.user, keyId: found.keyId };
    next();
  };
}
