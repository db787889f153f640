import { z } from 'zod';

/** Brute-force limits of the unauthenticated account endpoints (per client IP unless noted). */
export interface AuthLimits {
  /** Failed logins per (IP, email) and per IP, within `loginWindowSeconds`. */
  loginPerEmail: number;
  loginPerIp: number;
  loginWindowSeconds: number;
  /** Registration attempts per IP (all of them, so that probing for taken emails is slow too). */
  register: number;
  registerWindowSeconds: number;
  /** Verification mail requests per IP, and per recipient address, within `resendWindowSeconds`. */
  resend: number;
  resendPerAddress: number;
  resendWindowSeconds: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  loginPerEmail: 10,
  loginPerIp: 50,
  loginWindowSeconds: 15 * 60,
  register: 20,
  registerWindowSeconds: 3600,
  resend: 10,
  resendPerAddress: 3,
  resendWindowSeconds: 3600,
};

const positiveInt = z.number().int().positive();

/** AUTH_RATE_LIMITS: JSON overriding any of the defaults, e.g. {"register":100}. */
export const authLimitsOverride = z
  .strictObject(Object.fromEntries(Object.keys(DEFAULT_AUTH_LIMITS).map((k) => [k, positiveInt])) as Record<keyof AuthLimits, typeof positiveInt>)
  .partial();

export function parseAuthLimits(raw: unknown): AuthLimits {
  const parsed = authLimitsOverride.safeParse(raw ?? {});
  if (!parsed.success) throw new Error(`AUTH_RATE_LIMITS is invalid: ${parsed.error.message}`);
  return { ...DEFAULT_AUTH_LIMITS, ...parsed.data };
}
