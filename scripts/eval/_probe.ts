import fs from 'node:fs';
import sharp from 'sharp';
import { Judge, padForDetector } from './judge';
async function main() {
  const t0 = performance.now();
  const j = await Judge.load({ padFraction: Number(process.argv[2]), minConfidence: Number(process.argv[3] ?? 0.5) });
  console.log('load', performance.now() - t0, j.backend);
  const utk = fs.readFileSync('../shared/datasets/utkface/labels.csv', 'utf8').trim().split('\n').slice(1).map(l => l.split(','));
  const pick = (a: string[][], n: number) => Array.from({ length: n }, (_, i) => a[Math.floor((i * 7919) % a.length)]);
  const u = pick(utk, 30);
  const cel = fs.readdirSync('../shared/datasets/celebahq/images').slice(0, 30);
  for (const frac of [Number(process.argv[2] ?? 0.3)]) {
    let det = 0, g = 0, ae = 0, n = 0; const t1 = performance.now();
    for (const [f, age, gender] of u) {
      const r = await j.judgeEncoded('../shared/datasets/utkface/images/' + f);
      if (r.detected) { det++; if (r.gender === gender) g++; ae += Math.abs(r.age! - Number(age)); n++; }
    }
    console.log('utk det', det, 'gender', g, 'mae', ae / n, 'ms/img', (performance.now() - t1) / u.length);
    let dc = 0; const t2 = performance.now();
    for (const f of cel) { const r = await j.judgeEncoded('../shared/datasets/celebahq/images/' + f); if (r.detected) dc++; }
    console.log('celeb det', dc, 'ms/img', (performance.now() - t2) / cel.length);
  }
}
main();
