import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * deploy/compose.yaml, the reference multi-replica deployment: a valid compose file (checked by
 * the compose tool where one is installed; .ci/run does the same), and a proxy set-up in which
 * Anon limits key on the real client address.
 */
const run = promisify(execFile);
const DEPLOY = path.resolve(__dirname, '..', 'deploy');

function composeTool(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    try {
      execFileSync(cmd[0], [...cmd.slice(1), 'version'], { stdio: 'ignore' });
      return cmd;
    } catch {
      // not installed (or docker without the compose plugin)
    }
  }
  return undefined;
}

const tool = composeTool();
(tool ? test : test.skip)(`the compose file validates (${tool?.join(' ') ?? 'no compose tool installed'})`, async () => {
  const { stdout } = await run(tool![0], [...tool!.slice(1), '-f', path.join(DEPLOY, 'compose.yaml'), 'config'], { env: { ...process.env, POSTGRES_PASSWORD: 'validation-only' } });
  for (const service of ['facestudio:', 'nginx:', 'postgres:', 'redis:']) expect(stdout).toContain(service);
  expect(stdout).toMatch(/DATABASE_URL: postgres:\/\/facestudio:validation-only@postgres:5432\/facestudio/);
  expect(stdout).toMatch(/REDIS_URL: redis:\/\/redis:6379/);
  expect(stdout).toMatch(/replicas: 3/);
});

test('the compose file refuses to start without a database password', async () => {
  if (!tool) return;
  const env = { ...process.env };
  delete env.POSTGRES_PASSWORD;
  await expect(run(tool[0], [...tool.slice(1), '-f', path.join(DEPLOY, 'compose.yaml'), 'config'], { env })).rejects.toMatchObject({ stderr: expect.stringMatching(/POSTGRES_PASSWORD/) });
});

test('one trusted hop: replicas trust exactly nginx, and nginx overwrites X-Forwarded-For with the address it saw', () => {
  const compose = fs.readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8');
  const nginx = fs.readFileSync(path.join(DEPLOY, 'nginx.conf'), 'utf8');
  expect(compose).toMatch(/^\s+TRUST_PROXY: "1"$/m);
  expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
  expect(nginx).not.toMatch(/\$proxy_add_x_forwarded_for/);
  // Only the proxy is published: a client cannot bypass it and speak to a replica directly.
  const published = [...compose.matchAll(/^ {2}(\w+):\n(?:(?! {2}\w).*\n)*? {4}ports:/gm)].map((m) => m[1]);
  expect(published).toEqual(['nginx']);
});
