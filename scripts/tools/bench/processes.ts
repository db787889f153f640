/** Child processes of the benchmark: the server under test (as production runs it) and a bare express baseline. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort } from '../free-port';
import { log, ROOT, sleep } from './options';

export interface Proc {
  name: string;
  child: ChildProcess;
  url: string;
  /** Milliseconds from spawn to the first 200 of the ready path. */
  readyMs: number;
  rss(): number;
  /** CPU time the process has used so far (user + system), ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}
const procs = new Set<Proc>();

export async function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

export async function startProc(name: string, args: string[], env: Record<string, string>, logFile: string, readyPath: string): Promise<Proc> {
  const port = await freePort();
  const out = fs.openSync(logFile, 'a');
  const t0 = performance.now();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' };
  for (const [k, v] of Object.entries(env)) if (v === '') delete childEnv[k]; // '' = unset it
  const child = spawn(process.execPath, args, { cwd: ROOT, env: childEnv, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (exited) throw new Error(`${name} exited during start; see ${logFile}:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    if ((await getStatus(url + readyPath)) === 200) break;
    if (performance.now() - t0 > 90_000) throw new Error(`${name} not ready after 90 s; see ${logFile}`);
    await sleep(50);
  }
  const proc: Proc = {
    name,
    child,
    url,
    readyMs: performance.now() - t0,
    rss: () => rssOf(child.pid!),
    cpuMs: () => cpuMsOf(child.pid!),
    stop: async () => {
      procs.delete(proc);
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
  procs.add(proc);
  return proc;
}

/** utime + stime of /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms on Linux). */
export function cpuMsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * Node's own flags in production, read from `npm start` (the Dockerfile's CMD carries the same),
 * so the benchmarked server runs as deployed.
 */
export const PRODUCTION_NODE_FLAGS: string[] = (() => {
  const start: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const command = /\bnode ((?:--\S+ )*)dist\/server\/main\.js/.exec(start);
  if (!command) throw new Error(`package.json's start script no longer runs node dist/server/main.js: ${start}`);
  return command[1].split(' ').filter(Boolean);
})();

export function serverArgs(runtime: 'dist' | 'tsx', nodeFlags = PRODUCTION_NODE_FLAGS): string[] {
  return [...nodeFlags, ...(runtime === 'dist' ? ['dist/server/main.js'] : ['--import', 'tsx', 'server/main.ts'])];
}

/** An express 5 app that answers one small JSON body: the cost of Node + express + HTTP alone. */
export const BASELINE_JS = `
const express = require('express');
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/hello', (_req, res) => { res.json({ status: 'ok' }); });
app.listen(Number(process.env.PORT), '127.0.0.1');
`;

export function buildIfStale(): string {
  const main = path.join(ROOT, 'dist', 'server', 'main.js');
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
      const p = path.join(dir, e.name);
      return Math.max(t, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
    }, 0);
  if (fs.existsSync(main) && fs.statSync(main).mtimeMs >= newest(path.join(ROOT, 'server'))) return 'dist/ up to date';
  log('building dist/ (npm run build)...');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
  return `built in ${((performance.now() - t0) / 1000).toFixed(0)} s`;
}

/** Stops every child process still running (on exit, error or signal). */
export async function cleanup() {
  await Promise.all([...procs].map((p) => p.stop().catch(() => undefined)));
}
