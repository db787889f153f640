import { MAX_EXPIRES_IN } from '../auth/signed-url';
import { DEFAULT_EXPIRES_IN } from './embed-urls';

/** OpenAPI pieces of signed embed URLs, spread into the document by openapi.ts. */
const signed = 'Signed embed URL (see README, "Signed embed URLs"); give key_id, expires and sig together, and no Authorization header.';

export const signedUrlParameters = [
  { name: 'key_id', in: 'query', required: false, description: `${signed} The signing key's public prefix (sk-faces- and 8 characters).`, schema: { type: 'string' } },
  { name: 'expires', in: 'query', required: false, description: `${signed} Unix seconds; at most ${MAX_EXPIRES_IN} s ahead.`, schema: { type: 'integer' } },
  {
    name: 'sig',
    in: 'query',
    required: false,
    description: `${signed} Hex HMAC-SHA256 of the canonical query (all other parameters, RFC 3986-encoded, sorted) with the key's signing secret HMAC-SHA256(key, "facestudio-url-signing-v1").`,
    schema: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
  },
];

export const signedUrlResponses = {
  403: { description: 'Signed URL expired, or expires more than one year ahead', content: { 'application/json': { schema: { type: 'object', properties: { detail: { type: 'string' } } } } } },
};

export const embedPaths = {
  '/v1/embed-urls': {
    post: {
      operationId: 'createEmbedUrl',
      summary: 'Sign a /v1/generate URL with the calling key, for <img> embeds',
      security: [{ Token: [] }],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              additionalProperties: false,
              properties: {
                params: { type: 'object', additionalProperties: { type: ['string', 'integer'] }, description: 'Generate parameters, validated as GET /v1/generate validates them for the key class.' },
                expires_in: { type: 'integer', minimum: 1, maximum: MAX_EXPIRES_IN, default: DEFAULT_EXPIRES_IN },
              },
            },
          },
        },
      },
      responses: {
        201: {
          description: 'The signed URL (relative to the server) and its expiry',
          content: { 'application/json': { schema: { type: 'object', properties: { url: { type: 'string' }, expires_at: { type: 'integer' } }, required: ['url', 'expires_at'] } } },
        },
        400: { description: 'Bad body or invalid parameters (every problem listed)' },
        401: { description: 'Missing, malformed, unknown or revoked key' },
      },
    },
  },
};
