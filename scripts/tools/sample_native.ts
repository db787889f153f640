/**
 * Writes the generator's native faces for the upscaler's training to fit its degradations to:
 *
 *   npx tsx scripts/tools/sample_native.ts --n 1024 --out runs/native64.f32
 *
 * Seeds 1..n with every attribute drawn by the seed (what a caller with no parameters gets),
 * straight from the generator (no upscaler, no 8-bit rounding). The file is float32 N x 3 x S x S
 * in [0, 1], S the model's native side; a JSON line beside it (<out>.json) says N, S and the
 * model version. MODEL_DIR picks the model, default the served one (DEFAULT_MODEL).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODEL } from '../../server/config/config';
import { FaceService } from '../../server/generator/face-service';
import { rescaleRange } from '../../server/generator/planar';
import { resolveParams } from '../../server/params/resolve';

async function main() {
  const argv = process.argv.slice(2);
  const opt = (name: string, dflt: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
  const n = Number(opt('--n', '1024'));
  const out = opt('--out', 'runs/native64.f32');
  const service = await FaceService.load(process.env.MODEL_DIR ?? path.join('models', DEFAULT_MODEL), { upscaler: false });
  const m = service.manifest;
  const side = m.resolution;
  const all = new Float32Array(n * 3 * side * side);
  for (let i = 0; i < n; i++) {
    const p = resolveParams({ resolution: 128, image_format: 'jpeg' }, i + 1, m.priors);
    const chw = rescaleRange(await service.nativeOutput(p), m.output.range, [0, 1]);
    all.set(chw.map((v) => Math.min(1, Math.max(0, v))), i * chw.length);
  }
  fs.writeFileSync(out, Buffer.from(all.buffer));
  fs.writeFileSync(`${out}.json`, JSON.stringify({ n, side, channels: 3, layout: 'NCHW', range: [0, 1], model: m.version }) + '\n');
  await service.close();
  console.log(`${n} faces of ${side} px from ${m.version} -> ${out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
