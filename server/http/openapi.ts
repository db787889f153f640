import { z } from 'zod';
import { accountPaths, accountSecuritySchemes } from '../accounts/openapi';
import type { Config } from '../config/config';
import { embedPaths, signedUrlParameters, signedUrlResponses } from './embed-openapi';
import { describeValid } from '../params/parse';
import { PARAMS, PARAM_NAMES } from '../params/schema';

const errorBody = {
  type: 'object',
  properties: {
    detail: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { param: { type: 'string' }, message: { type: 'string' }, value: { type: 'string' } }, required: ['param', 'message'] } },
  },
  required: ['detail'],
};

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
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
  const limits = Object.entries(config.limits).map(([cls, l]) => `${cls}: ${l.burst}/burst window, ${l.daily}/day`).join('; ');
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
      description: `Generated faces of people who do not exist. Rate limits per class: ${limits}. Seeded requests are deterministic and cacheable.`,
    },
    components: { securitySchemes: { Token: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Authorization: Token sk-faces-...' }, ...accountSecuritySchemes } },
    paths: {
      '/v1/generate': {
        get: {
          summary: 'Generate one face image',
          security: [{}, { Token: [] }],
          parameters: [...parameters, ...signedUrlParameters],
          responses: {
            200: {
              description: 'The image',
              headers: {
                ...headers,
                'X-Seed': { schema: { type: 'integer' } },
                'X-Model-Version': { schema: { type: 'string' } },
                'X-Generation-Params': { schema: { type: 'string' }, description: 'Fully resolved parameters as a query string; replaying it reproduces the image.' },
                ETag: { schema: { type: 'string' } },
              },
              content: { 'image/jpeg': {}, 'image/webp': {} },
            },
            304: { description: 'Not modified (seeded request whose ETag matched If-None-Match)' },
            400: json('Invalid parameters; every problem is listed'),
            401: json('Malformed header, unknown or revoked key; invalid signed URL (the detail says why)'),
            ...signedUrlResponses,
            429: json('Rate limited; Retry-After says when to come back'),
            503: json('Generator at capacity; does not count against limits'),
          },
        },
      },
      ...accountPaths,
      ...embedPaths,
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'Alive' } } } },
      '/readyz': { get: { summary: 'Readiness (model loaded, account database answers, Redis reachable when configured)', responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text format' } } } },
    },
  };
}
