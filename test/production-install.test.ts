import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../scripts/tools/free-port';

/**
 * A production install that starts, the way the Dockerfile makes one: the repository as a
 * clone has it (tracked and unignored files, no node_modules), `npm install --omit=dev`, the
 * TypeScript compiled by the development install (the Dockerfile compiles before pruning),
 * then `node dist/server/main.js` must serve an image. Slow (a native module may compile from
 * source on a machine without its prebuilt binary), hence the generous timeout.
 */
jest.setTimeout(45 * 60_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('npm install --omit=dev of a clean copy starts the server and serves an image', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facestudio-prod-'));
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 64 << 20 });
  for (const rel of stdout.split('\0').filter(Boolean)) {
    if (!fs.existsSync(path.join(ROOT, rel))) continue; // deleted in the work tree, not yet committed
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, rel), path.join(dir, rel));
  }
  expect(fs.existsSync(path.join(dir, 'node_modules'))).toBe(false);

  await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, maxBuffer: 64 << 20, env: { ...process.env, NODE_ENV: 'production' } });
  // Only runtime packages arrived: no test runner, compiler or evaluation judge.
  for (const dev of ['jest', 'typescript', '@tensorflow/tfjs', '@vladmandic/face-api']) expect(fs.existsSync(path.join(dir, 'node_modules', dev))).toBe(false);
  for (const runtime of ['lru-cache', 'pg', 'better-sqlite3', 'onnxruntime-node']) expect(fs.existsSync(path.join(dir, 'node_modules', runtime))).toBe(true);

  await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', path.join(dir, 'dist')], { cwd: ROOT, maxBuffer: 64 << 20 });

  const port = await freePort();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', DATABASE_PATH: path.join(dir, 'data', 'prod.db'), LOG_LEVEL: 'warn' };
  const child = spawn(process.execPath, ['dist/server/main.js'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (c: Buffer) => output.push(String(c)));
  child.stderr!.on('data', (c: Buffer) => output.push(String(c)));
  try {
    const t0 = Date.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the production server exited at start:\n${output.join('')}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
      if (ready === 200) break;
      if (Date.now() - t0 > 180_000) throw new Error(`not ready after 180 s:\n${output.join('')}`);
      await sleep(250);
    }
    const res = await fetch(`http://127.0.0.1:${port}/v1/generate?gender=female&resolution=128`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  } finally {
    child.kill('SIGKILL');
  }
});
