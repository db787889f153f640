import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../server/config/config';
import { loadManifest } from '../server/generator/manifest';
import { FaceService } from '../server/generator/face-service';
import { OnnxUpscaler } from '../server/generator/onnx-upscaler';
import { rescaleRange } from '../server/generator/planar';
import { resolveParams } from '../server/params/resolve';

/**
 * scripts/training/train_upscaler.py --init continues training from the bundled upscaler.onnx, read back
 * into PyTorch by upscaler_from_onnx (convolutions by name; per-channel PReLU slopes or the
 * per-layer LeakyRelu alphas they export as). That PyTorch net must compute what onnxruntime
 * serves, or a fine-tune would start from a different network than the one users see.
 */
const modelDir = loadConfig({}).modelDir;
const manifest = loadManifest(modelDir);
const ROOT = path.resolve(__dirname, '..');

const readBack = `
import sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from train_upscaler import upscaler_from_onnx
net = upscaler_from_onnx(sys.argv[2]).eval()
side = int(sys.argv[4])
x = torch.from_numpy(np.fromfile(sys.argv[3], dtype=np.float32).reshape(-1, 3, side, side))
with torch.no_grad():
    net(x).numpy().astype(np.float32).tofile(sys.argv[5])
`;

const maybe = manifest.upscaler ? test : test.skip;

maybe('the PyTorch net read back from upscaler.onnx equals onnxruntime on generated faces', async () => {
  const spec = manifest.upscaler!;
  const side = manifest.resolution;
  const faces = await FaceService.load(modelDir, { upscaler: false });
  const up = await OnnxUpscaler.load(modelDir, spec, side);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'upscaler-parity-'));
  try {
    const inputs: Float32Array[] = [];
    for (const [i, age] of [8, 35, 70].entries()) {
      const p = resolveParams({ age }, 9100 + i, manifest.priors);
      const raw = await faces.nativeOutput(p);
      inputs.push(rescaleRange(raw, manifest.output.range, spec.range));
    }
    const inFile = path.join(tmp, 'x.f32');
    const outFile = path.join(tmp, 'y.f32');
    fs.writeFileSync(inFile, Buffer.concat(inputs.map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength))));
    execFileSync('/usr/bin/python3', ['-c', readBack, path.join(ROOT, 'scripts', 'training'), path.join(modelDir, spec.file), inFile, String(side), outFile], { stdio: 'pipe' });
    const buf = fs.readFileSync(outFile);
    const torchOut = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    const per = 3 * (2 * side) ** 2;
    expect(torchOut.length).toBe(inputs.length * per);
    for (const [i, x] of inputs.entries()) {
      const { chw } = await up.run(x);
      let maxDiff = 0;
      for (let j = 0; j < per; j++) maxDiff = Math.max(maxDiff, Math.abs(chw[j] - torchOut[i * per + j]));
      // float32 in both; the tolerance covers summation order only (a wrong slope is ~1e-2).
      expect(maxDiff).toBeLessThan(1e-3);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await Promise.all([faces.close(), up.close()]);
  }
}, 120_000);
