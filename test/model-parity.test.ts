import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../server/config/config';
import { loadManifest } from '../server/generator/manifest';
import { OnnxGenerator } from '../server/generator/onnx-generator';

/**
 * scripts/training/export.py stores PyTorch's output for fixed (z, c) next to the ONNX file; the
 * server's onnxruntime output for the same inputs must match it. Every model folder in models/
 * is checked, not only the default one: an older version stays loadable (MODEL_DIR) and must
 * keep drawing what it was trained to draw.
 */
const MODELS = path.join(__dirname, '..', 'models');
const folders = fs
  .readdirSync(MODELS)
  .map((name) => path.join(MODELS, name))
  .filter((dir) => fs.existsSync(path.join(dir, 'reference.json')));

const floats = (b64: string) => {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
};

test('the default model folder is one of the checked folders', () => {
  expect(folders).toContain(loadConfig({}).modelDir);
});

describe.each(folders.map((dir) => [path.basename(dir), dir]))('%s', (_name, modelDir) => {
  const reference = JSON.parse(fs.readFileSync(path.join(modelDir, 'reference.json'), 'utf8')) as {
    version: string;
    cases: Array<{ z: string; c: string; image: string }>;
  };

  test('is the version its parity reference was made from', () => {
    expect(loadManifest(modelDir).version).toBe(reference.version);
  });

  test('onnxruntime output equals the PyTorch output for the same z and c', async () => {
    const manifest = loadManifest(modelDir);
    const gen = await OnnxGenerator.load(modelDir, manifest);
    try {
      expect(reference.cases.length).toBeGreaterThanOrEqual(2);
      for (const ref of reference.cases) {
        const c = floats(ref.c);
        expect(c.length).toBe(manifest.condition_dim);
        const out = await gen.runRaw(floats(ref.z), c);
        const want = floats(ref.image);
        expect(out.length).toBe(want.length);
        let maxDiff = 0;
        for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - want[i]));
        expect(maxDiff).toBeLessThan(1e-3);
      }
    } finally {
      await gen.close();
    }
  });
});
