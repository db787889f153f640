import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

/**
 * Runtime dependencies are exactly what serving needs: every package server/ loads is in
 * `dependencies` (a devDependency there breaks `npm install --omit=dev`, as lru-cache once did),
 * and the evaluation judge's packages stay out of it. Fast static check; the real install is
 * test/production-install.test.ts.
 */
const ROOT = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.(ts|js)$/.test(e.name) ? [p] : [];
  });
}

/** Packages a file loads at run time (type-only imports are erased by the compiler). */
function runtimeImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [
    ...[...text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]),
    ...[...text.matchAll(/^import\s+'([^']+)'/gm)].map((m) => m[1]),
    ...[...text.matchAll(/\b(?:require|import)\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]),
  ];
  return specs
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

const serverImports = new Map<string, string[]>();
for (const file of sources(path.join(ROOT, 'server'))) {
  for (const name of runtimeImports(file)) serverImports.set(name, [...(serverImports.get(name) ?? []), path.relative(ROOT, file)]);
}

test('every package the server imports is a runtime dependency', () => {
  expect(serverImports.size).toBeGreaterThan(5);
  const missing = [...serverImports].filter(([name]) => !pkg.dependencies[name]).map(([name, files]) => `${name} (${files[0]})`);
  expect(missing).toEqual([]);
  expect(serverImports.has('lru-cache')).toBe(true);
  expect(serverImports.has('pg')).toBe(true);
});

test('the evaluation judge (tfjs, face-api) is development-only and serving never imports it', () => {
  for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@vladmandic/face-api']) {
    expect(serverImports.get(name)).toBeUndefined();
    expect(pkg.dependencies[name]).toBeUndefined();
    expect(pkg.devDependencies[name]).toBeDefined();
  }
});
