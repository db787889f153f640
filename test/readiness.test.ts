import { adminQuery, createTestDatabase, type TestDatabase } from './helpers/database';
import { startServer, type TestServer } from './helpers/server';

/**
 * /readyz checks the account database: 503 while PostgreSQL refuses this server's connections,
 * 200 again once it accepts them; the log says why, with the URL's password redacted.
 */
let db: TestDatabase;
let srv: TestServer;
const PASSWORD = 'never-print-me';

beforeAll(async () => {
  db = await createTestDatabase('postgres', 'readiness');
  // Trust authentication ignores the password; it is here to prove it never reaches the logs.
  srv = await startServer({ DATABASE_URL: db.env.DATABASE_URL.replace('postgres@', `postgres:${PASSWORD}@`) });
});
afterAll(async () => {
  await srv.close();
  await db.drop();
});

const readyz = async () => {
  const res = await fetch(`${srv.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
};

test('/readyz is 503 while the database refuses connections and 200 when it is back', async () => {
  expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', checks: expect.objectContaining({ database: 'ok' }) } });
  const name = new URL(db.env.DATABASE_URL).pathname.slice(1);
  await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  try {
    await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
    const down = await readyz();
    expect(down).toEqual({ status: 503, body: { status: 'not ready', checks: expect.objectContaining({ database: 'unreachable' }) } });
    expect(JSON.stringify(down.body)).not.toMatch(/postgres:\/\//);
    const logs = srv.logs.join('');
    expect(logs).toContain('the account database does not answer');
    expect(logs).toContain('postgres:***@127.0.0.1');
    expect(logs).not.toContain(PASSWORD);
  } finally {
    await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
  }
  expect((await readyz()).status).toBe(200);
});
