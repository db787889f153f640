import { z } from 'zod';
import { SESSION_LIFETIME_SECONDS, VERIFY_LIFETIME_SECONDS } from './jwt';
import { DEFAULT_AUTH_LIMITS } from './auth-limits';
import { JSON_BODY_LIMIT } from './routes';
import { createKeyBody, loginBody, registerBody, resendBody } from './schemas';
import { MAX_ACTIVE_KEYS } from './store';

function schemaOf(s: z.ZodType) {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: 'input' }) as Record<string, unknown>;
  return rest;
}

const detail = { type: 'object', properties: { detail: { type: 'string' } }, required: ['detail'] };
const fieldErrors = {
  type: 'object',
  properties: {
    detail: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } }, required: ['field', 'message'] } },
  },
  required: ['detail'],
};
const tokenBody = { type: 'object', properties: { token: { type: 'string', description: `Session JWT (HS256), valid ${SESSION_LIFETIME_SECONDS / 3600} hours` }, user_id: { type: 'string' } }, required: ['token', 'user_id'] };
const keyInfo = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, key_prefix: { type: 'string', example: 'sk-faces-abc12345' }, created_at: { type: 'string', format: 'date-time' } },
  required: ['id', 'name', 'key_prefix', 'created_at'],
};
const limit = { type: 'object', properties: { requests: { type: 'integer' }, window_seconds: { type: 'integer' } } };
const account = {
  type: 'object',
  properties: {
    user_id: { type: 'string' },
    email: { type: 'string' },
    username: { type: 'string' },
    name: { type: 'string' },
    email_verified: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
    class: { type: 'string', enum: ['Basic', 'Professional', 'Enterprise'] },
    advanced_parameters: { type: 'boolean' },
    limits: { type: 'object', properties: { burst: limit, daily: limit } },
    usage_today: { type: 'object', properties: { requests: { type: 'integer' }, date: { type: 'string', format: 'date' }, timezone: { type: 'string', const: 'UTC' } } },
    api_keys: { type: 'object', properties: { active: { type: 'integer' }, max: { type: 'integer' } } },
  },
};

const json = (description: string, schema: unknown) => ({ description, content: { 'application/json': { schema } } });
const body = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schemaOf(s) } } });
const common = {
  400: json('Invalid body (every problem listed in errors) or malformed JSON', fieldErrors),
  413: json(`Body larger than ${JSON_BODY_LIMIT}`, detail),
  415: json('Body is not JSON', detail),
};
const unauthorized = { 401: json('Missing, malformed, expired or unknown credentials', detail) };
const L = DEFAULT_AUTH_LIMITS;

/** Security schemes and paths of the account endpoints, merged into the OpenAPI document. */
export const accountSecuritySchemes = {
  Bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: `Session token from POST /auth/login-email or /auth/register-email; valid ${SESSION_LIFETIME_SECONDS / 3600} hours.`,
  },
};

export const accountPaths = {
  '/auth/register-email': {
    post: {
      operationId: 'registerEmail',
      summary: 'Create an account',
      description: `Creates a Basic account and emails a verification link (valid ${VERIFY_LIFETIME_SECONDS / 3600} hours). Returns a session token right away; creating API keys needs the verified email. Limited to ${L.register} attempts per IP per hour.`,
      security: [],
      requestBody: body(registerBody),
      responses: { 201: json('Account created', tokenBody), ...common, 409: json('Email or username already registered', fieldErrors), 429: json('Too many attempts; see Retry-After', detail) },
    },
  },
  '/auth/login-email': {
    post: {
      operationId: 'loginEmail',
      summary: 'Log in',
      description: `Returns a session token. A wrong password and an unknown email get the same 401. After ${L.loginPerEmail} failed attempts for one email (or ${L.loginPerIp} in all) from one IP within ${L.loginWindowSeconds / 60} minutes, further attempts get 429.`,
      security: [],
      requestBody: body(loginBody),
      responses: { 200: json('Logged in', tokenBody), ...common, 401: json('Invalid email or password', detail), 429: json('Too many failed attempts; see Retry-After', detail) },
    },
  },
  '/auth/verify-email': {
    get: {
      operationId: 'verifyEmail',
      summary: 'Verify an email address',
      description: 'The link from the verification email. Browsers (Accept: text/html) are redirected to /account; other clients get JSON.',
      security: [],
      parameters: [{ name: 'token', in: 'query', required: true, schema: { type: 'string' }, description: 'The token from the emailed link.' }],
      responses: {
        200: json('Verified (idempotent)', { type: 'object', properties: { detail: { type: 'string' }, user_id: { type: 'string' }, email_verified: { type: 'boolean' } } }),
        303: { description: 'Browser: redirect to /account?email_verified=1 (or =invalid)' },
        400: json('Invalid or expired token', detail),
      },
    },
  },
  '/auth/resend-verification': {
    post: {
      operationId: 'resendVerification',
      summary: 'Send the verification email again',
      description: `With a Bearer token: for that account, no body needed. Without: body {"email"}, and the answer is the same whether or not the address has an account. At most ${L.resendPerAddress} per address and ${L.resend} per IP per hour.`,
      security: [{}, { Bearer: [] }],
      requestBody: { required: false, content: { 'application/json': { schema: schemaOf(resendBody) } } },
      responses: { 200: json('Already verified', detail), 202: json('Email on its way', detail), ...common, ...unauthorized, 429: json('Too many requests; see Retry-After', detail) },
    },
  },
  '/v1/auth/api-keys': {
    post: {
      operationId: 'createApiKey',
      summary: 'Create an API key',
      description: `Verified email required. The full key is in this response only; the server stores a hash. At most ${MAX_ACTIVE_KEYS} active keys.`,
      security: [{ Bearer: [] }],
      requestBody: body(createKeyBody),
      responses: {
        201: json('Key created', { ...keyInfo, properties: { ...keyInfo.properties, key: { type: 'string', example: 'sk-faces-…' } }, required: [...keyInfo.required, 'key'] }),
        ...common,
        ...unauthorized,
        403: json('Email address not verified', detail),
        409: json(`Already ${MAX_ACTIVE_KEYS} active keys`, detail),
      },
    },
    get: {
      operationId: 'listApiKeys',
      summary: 'List active API keys',
      description: 'Names and public prefixes only; never the keys.',
      security: [{ Bearer: [] }],
      responses: { 200: json('Active keys, oldest first', { type: 'array', items: keyInfo }), ...unauthorized },
    },
  },
  '/v1/auth/api-keys/{id}': {
    delete: {
      operationId: 'deleteApiKey',
      summary: 'Delete (revoke) an API key',
      description: 'The key stops working at once, in every server process sharing the database.',
      security: [{ Bearer: [] }],
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The key id from the list.' }],
      responses: { 204: { description: 'Deleted' }, ...unauthorized, 404: json('No active key with that id for this account', detail) },
    },
  },
  '/v1/account': {
    get: {
      operationId: 'getAccount',
      summary: 'Class, limits and usage today',
      description: 'Usage counts generate requests that counted against the limits, per UTC day.',
      security: [{ Bearer: [] }, { Token: [] }],
      responses: { 200: json('The account', account), ...unauthorized },
    },
  },
};
