import fs from 'node:fs';
import { frechetDistance } from './stats';
let s = 12345; const r = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
const g = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const mk = (n: number, sh: number, sc: number) => Array.from({ length: n }, () => Array.from({ length: 128 }, (_, j) => sh + g() * sc * (1 + j / 128)));
const a = mk(200, 0, 1), b = mk(210, 0.1, 1.3);
fs.writeFileSync('/tmp/fd.json', JSON.stringify({ a, b }));
const t = performance.now();
console.log(frechetDistance(a, b), frechetDistance(a, a), performance.now() - t);
