import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer, type TestServer } from './helpers/server';

/**
 * /openapi.json passes Redocly's recommended rules (what `npx @redocly/cli lint` checks) with no
 * error and no warning beyond the few listed, with reasons, in scripts/tools/lint-openapi.ts.
 * @redocly/openapi-core is ESM-only, so the linter runs as its own process (tsx), exactly
 * as `npm run lint:openapi` runs it.
 */
const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

type Problem = { rule: string; severity: string; message: string; pointer: string };
type Result = { errors: Problem[]; warnings: Problem[]; accepted: Problem[] };

async function lint(doc: unknown): Promise<{ code: number; result: Result }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-lint-')), 'openapi.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  try {
    const { stdout } = await run(TSX, ['scripts/tools/lint-openapi.ts', file, '--json'], { cwd: ROOT });
    return { code: 0, result: JSON.parse(stdout) };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (!e.stdout) throw new Error(`linter failed to run: ${e.stderr}`);
    return { code: e.code ?? 1, result: JSON.parse(e.stdout) };
  }
}

let srv: TestServer;
let served: Record<string, unknown> & { paths: Record<string, Record<string, { operationId?: string }>> };
beforeAll(async () => {
  srv = await startServer();
  served = await (await fetch(`${srv.url}/openapi.json`)).json();
});
afterAll(() => srv.close());

test('the served /openapi.json has no lint error and no unaccepted warning', async () => {
  const { code, result } = await lint(served);
  expect(result.errors).toEqual([]);
  expect(result.warnings).toEqual([]);
  expect(code).toBe(0);
});

test('the lint fails a document with the faults the generator used to have', async () => {
  // What the issue found: no servers, no license, no operationId, health without a security requirement.
  const broken = structuredClone(served) as typeof served & { info: Record<string, unknown> };
  broken.servers = [];
  delete broken.info.license;
  delete broken.paths['/v1/generate'].get.operationId;
  delete (broken.paths['/healthz'].get as { security?: unknown }).security;
  const { code, result } = await lint(broken);
  expect(code).toBe(1);
  const rules = [...result.errors, ...result.warnings].map((p) => p.rule);
  expect(rules).toEqual(expect.arrayContaining(['no-empty-servers', 'info-license', 'operation-operationId', 'security-defined']));
});

test('every operation has a unique operationId', () => {
  const ids = Object.values(served.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
  expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
});
