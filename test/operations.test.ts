import { PARAM_NAMES } from '../server/params/schema';
import { NO_LIMITS, startServer, type TestServer } from './helpers/server';

describe('health, metrics and OpenAPI', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({ RATE_LIMITS: NO_LIMITS });
  });
  afterAll(() => srv.close());

  test('/healthz and /readyz answer when the model is loaded', async () => {
    expect(await (await fetch(`${srv.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${srv.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks.model).toBe(srv.faces.modelVersion);
  });

  test('/readyz is 503 when the configured Redis is unreachable', async () => {
    const down = await startServer({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await fetch(`${down.url}/readyz`);
      expect(res.status).toBe(503);
      expect((await res.json()).checks.redis).toBe('unreachable');
    } finally {
      await down.close();
    }
  });

  test('/metrics counts requests by status and class and times generation', async () => {
    await fetch(`${srv.url}/v1/generate?resolution=128`);
    await fetch(`${srv.url}/v1/generate?age=300`);
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    expect(text).toMatch(/facestudio_http_requests_total\{route="\/v1\/generate",status="200",class="Anon"\} \d+/);
    expect(text).toMatch(/facestudio_http_requests_total\{route="\/v1\/generate",status="400",class="Anon"\} \d+/);
    expect(text).toMatch(/facestudio_generation_seconds_count\{stage="inference"\} [1-9]/);
  });

  test('/openapi.json documents every parameter from the zod schemas, with bounds', async () => {
    const doc = await (await fetch(`${srv.url}/openapi.json`)).json();
    const params = doc.paths['/v1/generate'].get.parameters;
    expect(params.map((p: { name: string }) => p.name).slice(0, PARAM_NAMES.length)).toEqual(PARAM_NAMES);
    const age = params.find((p: { name: string }) => p.name === 'age');
    expect(age.schema).toMatchObject({ type: 'integer', minimum: 0, maximum: 80 });
    const seed = params.find((p: { name: string }) => p.name === 'seed');
    expect(seed.schema).toMatchObject({ minimum: 1, maximum: 4294967296 });
    expect(seed['x-tier']).toBe('advanced');
    const gender = params.find((p: { name: string }) => p.name === 'gender');
    expect(gender.schema.enum).toEqual(['male', 'female']);
  });

  test('unknown routes are JSON 404s', async () => {
    const res = await fetch(`${srv.url}/nope`);
    expect(res.status).toBe(404);
    expect((await res.json()).detail).toContain('/nope');
  });
});

// The operator CLI is tested on both account backends in test/admin-cli.test.ts.
