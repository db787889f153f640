import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Every relative import (type-only ones too) of every .ts file under `dir`, as repository paths. */
function importGraph(dir: string): Map<string, string[]> {
  const files = fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const deps = [...src.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)]
      .map((m) => path.normalize(path.join(path.dirname(file), m[1])))
      .map((p) => (fs.existsSync(path.join(ROOT, `${p}.ts`)) ? `${p}.ts` : path.join(p, 'index.ts')));
    graph.set(file, deps);
  }
  return graph;
}

/** One import cycle as a path a -> b -> ... -> a, or undefined when there is none. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (f: string): string[] | undefined => {
    if (state.get(f) === 'done') return undefined;
    if (state.get(f) === 'open') return [...trail.slice(trail.indexOf(f)), f];
    state.set(f, 'open');
    trail.push(f);
    for (const d of graph.get(f) ?? []) {
      const cycle = visit(d);
      if (cycle) return cycle;
    }
    trail.pop();
    state.set(f, 'done');
    return undefined;
  };
  for (const f of graph.keys()) {
    const cycle = visit(f);
    if (cycle) return cycle;
  }
  return undefined;
}

test.each([['server'], ['scripts']])('no module under %s/ imports itself through others (no import cycles)', (dir) => {
  expect(findCycle(importGraph(dir))).toBeUndefined();
});

test('imports between server/accounts and server/auth go one way: accounts build on auth', () => {
  const graph = importGraph('server');
  const authToAccounts = [...graph].flatMap(([f, deps]) => (f.startsWith(path.join('server', 'auth')) ? deps.filter((d) => d.startsWith(path.join('server', 'accounts'))).map((d) => `${f} -> ${d}`) : []));
  expect(authToAccounts).toEqual([]);
});

test('the cycle finder finds a cycle', () => {
  expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual(['a', 'b', 'c', 'a']);
});
