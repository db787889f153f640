import { z } from 'zod';

/**
 * Request bodies of the account endpoints. The routes validate with these and the OpenAPI
 * document is generated from them, so the docs cannot drift from the checks.
 */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;
export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const NAME_MAX = 100;
export const KEY_NAME_MAX = 64;

const required = (what: string) => (iss: { input?: unknown }) => (iss.input === undefined ? 'Required.' : `Must be ${what}.`);
// No control characters (tabs, newlines, NUL, bidi overrides...) in names shown to people.
const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;

export const emailSchema = z
  .string({ error: required('a string') })
  .trim()
  .toLowerCase()
  .max(254, 'Must be at most 254 characters.')
  .pipe(z.email({ error: 'Must be a valid email address, like name@example.com.' }))
  .meta({ description: 'Email address (case-insensitive).', format: 'email', example: 'ada@example.com' });

export const registerBody = z.object({
  name: z
    .string({ error: required('a string') })
    .trim()
    .max(NAME_MAX, `Must be at most ${NAME_MAX} characters.`)
    .regex(PRINTABLE, 'Must not contain control characters.')
    .default('')
    .meta({ description: 'Display name (optional).', example: 'Ada Lovelace' }),
  email: emailSchema,
  password: z
    .string({ error: required('a string') })
    .min(PASSWORD_MIN, `Must be at least ${PASSWORD_MIN} characters.`)
    .max(PASSWORD_MAX, `Must be at most ${PASSWORD_MAX} characters.`)
    .meta({ description: `Password, ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.` }),
  username: z
    .string({ error: required('a string') })
    .trim()
    .min(USERNAME_MIN, `Must be at least ${USERNAME_MIN} characters.`)
    .max(USERNAME_MAX, `Must be at most ${USERNAME_MAX} characters.`)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'May contain only letters, digits, ".", "_" and "-", and must start with a letter or digit.')
    .meta({ description: 'Public username, unique (case-insensitive).', example: 'ada' }),
});

export const loginBody = z.object({
  email: emailSchema,
  password: z.string({ error: required('a string') }).min(1, 'Required.').max(PASSWORD_MAX, `Must be at most ${PASSWORD_MAX} characters.`),
});

export const resendBody = z.object({ email: emailSchema });

export const createKeyBody = z.object({
  name: z
    .string({ error: required('a string') })
    .trim()
    .min(1, 'Required: give the key a name, like "production" or "laptop".')
    .max(KEY_NAME_MAX, `Must be at most ${KEY_NAME_MAX} characters.`)
    .regex(PRINTABLE, 'Must not contain control characters.')
    .meta({ description: 'A name for the key, to recognise it later.', example: 'production' }),
});

export interface FieldError {
  field: string;
  message: string;
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : '(body)', message: i.message }));
}
