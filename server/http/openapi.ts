import { z } from 'zod';
import { accountPaths, accountSecuritySchemes } from '../accounts/openapi';
import { TOKEN_CHALLENGE } from '../auth/identify';
import type { Config } from '../config/config';
import { limitsSummary } from '../limits/describe';
import { MODEL_TERMS_TEXT } from '../web/model-terms';
import { embedPaths, signedUrlParameters, signedUrlResponses } from './embed-openapi';
import { describeValid } from '../params/parse';
import { PARAMS, PARAM_NAMES } from '../params/schema';
import { PROVENANCE_TEXT } from './provenance-text';

const errorBody = {
  type: 'object',
  properties: {
    detail: { type: 'string' },
    hint: { type: 'string', description: 'On a 401: what was probably meant, e.g. that API keys use the Token scheme.' },
    errors: { type: 'array', items: { type: 'object', properties: { param: { type: 'string' }, message: { type: 'string' }, value: { type: 'string' } }, required: ['param', 'message'] } },
  },
  required: ['detail'],
};

const plain = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
const status = (description: string, properties: Record<string, unknown>) => ({
  description,
  content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string' }, ...properties }, required: ['status'] } } },
});

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests.
 * `npm run lint:openapi` and test/openapi-lint.test.ts keep it clean under Redocly's rules.
 */
export function openApiDocument(config: Config) {
  const parameters = PARAM_NAMES.map((name) => {
    const def = PARAMS[name];
    const { $schema: _ignored, ...schema } = z.toJSONSchema(def.schema) as Record<string, unknown>;
    return {
      name,
      in: 'query',
      required: false,
      description: `${def.description} ${describeValid(name)} Default: ${def.default}.${def.tier === 'advanced' ? ' Professional and Enterprise only.' : ''}`,
      schema,
      'x-tier': def.tier,
    };
  });
  const limits = limitsSummary(config);
  const headers = {
    'X-User-Class': { schema: { type: 'string', enum: ['Anon', 'Basic', 'Professional', 'Enterprise'] } },
    RateLimit: { schema: { type: 'string' }, description: 'IETF draft-8 RateLimit header, one item per policy (burst, daily).' },
    'RateLimit-Policy': { schema: { type: 'string' } },
  };
  const json = (description: string) => ({ description, headers, content: { 'application/json': { schema: errorBody } } });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Face Studio API',
      version: '1.0.0',
      description: `Generated faces of people who do not exist. Rate limits per class: ${limits}. Seeded requests are deterministic and cacheable. ${MODEL_TERMS_TEXT}`,
      license: { name: 'MIT (server code; the model weights are for non-commercial use only)', identifier: 'MIT' },
    },
    // Relative to where this document is served, unless PUBLIC_URL names the server.
    servers: [{ url: config.publicUrl?.replace(/\/+$/, '') || '/', description: 'This server' }],
    components: {
      securitySchemes: {
        Token: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'Send the header as Authorization: Token sk-faces-… (the scheme name is case-insensitive). Create keys on /account or with POST /v1/auth/api-keys.',
        },
        ...accountSecuritySchemes,
      },
    },
    paths: {
      '/v1/generate': {
        get: {
          operationId: 'generateFace',
          summary: 'Generate one face image',
          description: PROVENANCE_TEXT,
          security: [{}, { Token: [] }],
          parameters: [...parameters, ...signedUrlParameters],
          responses: {
            200: {
              description: 'The image, with its XMP and its signed C2PA manifest',
              headers: {
                ...headers,
                'X-Seed': { schema: { type: 'integer' } },
                'X-Model-Version': { schema: { type: 'string' }, description: 'The generator version, joined by "+<upscaler version>" when the learned upscaler made the image; it is part of the ETag.' },
                'X-Generation-Params': { schema: { type: 'string' }, description: 'Fully resolved parameters as a query string; replaying it reproduces the image (the same pixels and XMP; the C2PA manifest is signed anew, with fresh salts, where the image is not cached).' },
                ETag: { schema: { type: 'string' } },
              },
              content: { 'image/jpeg': {}, 'image/webp': {} },
            },
            304: { description: 'Not modified (seeded request whose ETag matched If-None-Match)' },
            400: json('Invalid parameters; every problem is listed'),
            401: {
              ...json('Malformed header, unknown or revoked key ("Invalid token.", maybe with a hint); invalid signed URL (the detail says why)'),
              // A 401 never reaches the limiters, so it carries no RateLimit headers.
              headers: { 'X-User-Class': headers['X-User-Class'], 'WWW-Authenticate': { schema: { type: 'string', const: TOKEN_CHALLENGE } } },
            },
            ...signedUrlResponses,
            429: json('Rate limited; Retry-After says when to come back'),
            503: json('Generator at capacity; does not count against limits'),
          },
        },
      },
      ...accountPaths,
      ...embedPaths,
      '/healthz': { get: { operationId: 'getLiveness', summary: 'Liveness', security: [], responses: { 200: status('Alive', {}) } } },
      '/readyz': {
        get: {
          operationId: 'getReadiness',
          summary: 'Readiness (model loaded, account database answers, Redis reachable when configured)',
          security: [],
          responses: {
            200: status('Ready', { checks: { type: 'object', additionalProperties: { type: 'string' } } }),
            503: status('Not ready (the checks say which part)', { checks: { type: 'object', additionalProperties: { type: 'string' } } }),
          },
        },
      },
      '/metrics': { get: { operationId: 'getMetrics', summary: 'Prometheus metrics', security: [], responses: { 200: plain('Prometheus text format') } } },
    },
  };
}
