/**
 * `npm run lint:openapi [-- FILE.json] [--json]`: lints the OpenAPI document with Redocly's
 * `recommended` rules, the ones `npx @redocly/cli lint` applies when the project has no
 * redocly.yaml. Without FILE it lints the document the server generates (server/http/openapi.ts)
 * with the default configuration. Exits 1 on any error, and on any warning not listed in
 * ACCEPTED. `--json` prints {errors, warnings, accepted} for test/openapi-lint.test.ts.
 */
import fs from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { loadConfig } from '../../server/config/config';
import { openApiDocument } from '../../server/http/openapi';

export interface LintProblem {
  rule: string;
  severity: string;
  message: string;
  pointer: string;
}

/**
 * Warnings kept on purpose, each with why. Matched on rule and JSON pointer, so the same rule
 * anywhere else still fails.
 */
export const ACCEPTED: { rule: string; pointer: string; why: string }[] = [
  ...['/healthz', '/readyz', '/metrics'].map((path) => ({
    rule: 'operation-4xx-response',
    pointer: `#/paths/${path.replace(/\//g, '~1')}/get/responses`,
    why: 'Operational endpoints take no input and cannot answer 4xx; a made-up 4xx would make the contract lie.',
  })),
];

const isAccepted = (p: LintProblem) => ACCEPTED.some((a) => a.rule === p.rule && a.pointer === p.pointer);

export async function lintOpenApi(doc: unknown): Promise<{ errors: LintProblem[]; warnings: LintProblem[]; accepted: LintProblem[] }> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: JSON.stringify(doc, null, 2), absoluteRef: 'openapi.json', config });
  const all = problems.map((p) => ({ rule: p.ruleId, severity: p.severity, message: p.message, pointer: p.location[0]?.pointer ?? '' }));
  return {
    errors: all.filter((p) => p.severity === 'error'),
    warnings: all.filter((p) => p.severity !== 'error' && !isAccepted(p)),
    accepted: all.filter((p) => p.severity !== 'error' && isAccepted(p)),
  };
}

async function main() {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  const doc = file ? JSON.parse(fs.readFileSync(file, 'utf8')) : openApiDocument(loadConfig({}));
  const result = await lintOpenApi(doc);
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    for (const p of [...result.errors, ...result.warnings]) console.log(`${p.severity.padEnd(5)} ${p.rule}  ${p.pointer}\n      ${p.message}`);
    for (const p of result.accepted) console.log(`ok    ${p.rule}  ${p.pointer} (accepted: ${ACCEPTED.find((a) => a.rule === p.rule && a.pointer === p.pointer)?.why})`);
    console.log(`${file ?? 'generated document'}: ${result.errors.length} errors, ${result.warnings.length} warnings, ${result.accepted.length} accepted`);
  }
  process.exitCode = result.errors.length + result.warnings.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 2;
  });
}
