import crypto from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type pino from 'pino';
import type { Config } from '../config/config';
import type { AccountStore } from './store';

/** What a token is for; a token of one kind is never accepted as another. */
export type TokenPurpose = 'session' | 'verify-email';

const ISSUER = 'facestudio';
const LIFETIME: Record<TokenPurpose, string> = { session: '24h', 'verify-email': '48h' };
export const SESSION_LIFETIME_SECONDS = 24 * 3600;
export const VERIFY_LIFETIME_SECONDS = 48 * 3600;

export interface VerifiedToken {
  userId: string;
  email?: string;
}

/**
 * HS256 JWTs (jose). The secret is JWT_SECRET, or else a random 256-bit secret generated on
 * first start and persisted in the database's settings table, so restarts and other server
 * processes sharing the database accept the same tokens.
 */
export class JwtService {
  private constructor(private readonly key: () => Promise<Uint8Array>) {}

  static fromConfig(config: Config, store: AccountStore, logger?: pino.Logger): JwtService {
    // Hashing normalises any secret to exactly 256 bits, the HS256 key size.
    const derive = (secret: string) => new Uint8Array(crypto.createHash('sha256').update(`facestudio-jwt\n${secret}`).digest());
    if (config.jwtSecret) {
      if (Buffer.byteLength(config.jwtSecret) < 32) logger?.warn('JWT_SECRET is shorter than 32 bytes; use a long random value in production');
      const key = Promise.resolve(derive(config.jwtSecret));
      return new JwtService(() => key);
    }
    // The stored secret is read once, on first use (the store is asynchronous). A failed read
    // (database briefly down) is not remembered, so the next request tries again.
    let pending: Promise<Uint8Array> | undefined;
    return new JwtService(() => {
      pending ??= store.settingOrInit('jwt_secret', crypto.randomBytes(32).toString('base64url')).then(derive, (err: unknown) => {
        pending = undefined;
        throw err;
      });
      return pending;
    });
  }

  async sign(purpose: TokenPurpose, userId: string, extra: { email?: string } = {}): Promise<string> {
    return new SignJWT({ purpose, ...extra })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(`${ISSUER}:${purpose}`)
      .setIssuedAt()
      .setJti(crypto.randomUUID())
      .setExpirationTime(LIFETIME[purpose])
      .sign(await this.key());
  }

  /** The token's subject when it is valid, unexpired and of `purpose`; otherwise undefined. */
  async verify(purpose: TokenPurpose, token: string): Promise<VerifiedToken | undefined> {
    if (token.length > 4096) return undefined;
    // Outside the try: a database failure while reading the secret is a server error, not a bad token.
    const key = await this.key();
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: `${ISSUER}:${purpose}`,
        requiredClaims: ['sub', 'exp'],
      });
      if (payload.purpose !== purpose || typeof payload.sub !== 'string') return undefined;
      return { userId: payload.sub, email: typeof payload.email === 'string' ? payload.email : undefined };
    } catch {
      // Bad signature, expired, malformed: all the same to the caller (a client-sent value
      // must never produce a 5xx).
      return undefined;
    }
  }
}
