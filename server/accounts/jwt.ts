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
  private constructor(private readonly key: Uint8Array) {}

  static fromConfig(config: Config, store: AccountStore, logger?: pino.Logger): JwtService {
    let secret = config.jwtSecret;
    if (!secret) {
      secret = store.settingOrInit('jwt_secret', crypto.randomBytes(32).toString('base64url'));
    } else if (Buffer.byteLength(secret) < 32) {
      logger?.warn('JWT_SECRET is shorter than 32 bytes; use a long random value in production');
    }
    // Hashing normalises any secret to exactly 256 bits, the HS256 key size.
    return new JwtService(crypto.createHash('sha256').update(`facestudio-jwt\n${secret}`).digest());
  }

  sign(purpose: TokenPurpose, userId: string, extra: { email?: string } = {}): Promise<string> {
    return new SignJWT({ purpose, ...extra })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(`${ISSUER}:${purpose}`)
      .setIssuedAt()
      .setJti(crypto.randomUUID())
      .setExpirationTime(LIFETIME[purpose])
      .sign(this.key);
  }

  /** The token's subject when it is valid, unexpired and of `purpose`; otherwise undefined. */
  async verify(purpose: TokenPurpose, token: string): Promise<VerifiedToken | undefined> {
    if (token.length > 4096) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.key, {
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
