import sharp from 'sharp';
import { loadConfig } from '../server/config/config';
import { FaceService } from '../server/generator/face-service';
import { OnnxUpscaler, upscalerInputSide } from '../server/generator/onnx-upscaler';
import { rgbToPlanar } from '../server/generator/planar';
import { resolveParams } from '../server/params/resolve';
import { modelFolder, upscalerEntry, UPSCALER_FIXTURE } from './helpers/model-folder';
import { NO_LIMITS, startServer, userWithKey, type TestServer } from './helpers/server';

/**
 * The learned upscaler as served (issue 16): it runs between the generator and the resize when
 * the manifest names it, its version joins the model's in X-Model-Version and ETags, UPSCALER=off
 * and a folder without one serve the Lanczos path, and a named file that is missing stops the
 * start. The fixture is an untrained export (test/fixtures/upscaler/README.md).
 */
const withUp = modelFolder('fixture');
const plain = modelFolder('none');
const missing = modelFolder('missing');
const upVersion = upscalerEntry().version;
const QUERY = 'seed=4242&resolution=256&stampless=yes';

afterAll(() => [withUp, plain, missing].forEach((f) => f.remove()));

describe('served over HTTP', () => {
  let learned: TestServer;
  let off: TestServer;
  let fallback: TestServer;
  const keys = new Map<TestServer, string>();

  beforeAll(async () => {
    learned = await startServer({ RATE_LIMITS: NO_LIMITS, MODEL_DIR: withUp.dir });
    off = await startServer({ RATE_LIMITS: NO_LIMITS, MODEL_DIR: withUp.dir, UPSCALER: 'off' });
    fallback = await startServer({ RATE_LIMITS: NO_LIMITS, MODEL_DIR: plain.dir });
    for (const s of [learned, off, fallback]) keys.set(s, (await userWithKey(s.store, 'Professional')).key);
  });
  afterAll(async () => {
    await Promise.all([learned, off, fallback].map((s) => s?.close()));
  });

  const get = async (s: TestServer, query = QUERY) => {
    const res = await fetch(`${s.url}/v1/generate?${query}`, { headers: { Authorization: `Token ${keys.get(s)}` } });
    expect(res.status).toBe(200);
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  test('X-Model-Version is "<model>+<upscaler>" with the upscaler, the plain model version without it', async () => {
    expect((await get(learned)).res.headers.get('x-model-version')).toBe(`${withUp.version}+${upVersion}`);
    expect((await get(off)).res.headers.get('x-model-version')).toBe(withUp.version);
    expect((await get(fallback)).res.headers.get('x-model-version')).toBe(plain.version);
  });

  test('the ETag of one seeded query changes when the upscaler is turned on, and only then', async () => {
    const [a, b, c] = await Promise.all([get(learned), get(off), get(fallback)]);
    expect(a.res.headers.get('etag')).toBeTruthy();
    expect(a.res.headers.get('etag')).not.toBe(b.res.headers.get('etag'));
    expect(b.res.headers.get('etag')).toBe(c.res.headers.get('etag'));
  });

  // Pixels, not file bytes: each server signs its own C2PA manifest (own development key, fresh salts).
  test('a folder without an upscaler entry serves exactly the UPSCALER=off (Lanczos) pixels; the learned path serves other pixels', async () => {
    const [a, b, c] = await Promise.all([get(learned), get(off), get(fallback)]);
    const pixels = (bytes: Buffer) => sharp(bytes).raw().toBuffer();
    expect((await pixels(c.bytes)).equals(await pixels(b.bytes))).toBe(true);
    expect((await pixels(a.bytes)).equals(await pixels(b.bytes))).toBe(false);
    const meta = await sharp(a.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 256, 256]);
  });

  test('the XMP provenance names the version that made the bytes', async () => {
    const { bytes } = await get(learned, 'seed=7&resolution=128');
    const xmp = String((await sharp(bytes).metadata()).xmp);
    expect(xmp).toContain(`${withUp.version}+${upVersion}`);
  });
});

describe('the learned pipeline in-process', () => {
  let a: FaceService;
  let b: FaceService;
  const params = (resolution: number) => resolveParams({ resolution, image_format: 'jpeg', stampless: 'yes' }, 4242, a.manifest.priors);

  beforeAll(async () => {
    a = await FaceService.load(withUp.dir);
    b = await FaceService.load(withUp.dir);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  test('one seed renders byte-identical images from two separately loaded services, at 128, 512 and 1024 px', async () => {
    for (const resolution of [128, 512, 1024]) {
      const [x, y] = await Promise.all([a.render(params(resolution)), b.render(params(resolution))]);
      expect(x.equals(y)).toBe(true);
    }
  });

  test('the resize starts from twice the native side, and a 128 px request is that face itself', async () => {
    expect(a.pipeline).toBe('learned');
    const source = await a.sourceFace(params(128));
    expect(source.size).toBe(2 * a.manifest.resolution);
    const { data } = await sharp(await a.render(params(128))).raw().toBuffer({ resolveWithObject: true });
    let err = 0;
    for (let i = 0; i < data.length; i++) err += Math.abs(data[i] - source.data[i]);
    // JPEG q90 rounding only: no resize or sharpening in between.
    expect(err / data.length).toBeLessThan(3);
  });
});

describe('start-up', () => {
  test('a manifest that names a missing upscaler file stops the start with a message naming the file and the way out', async () => {
    await expect(FaceService.load(missing.dir)).rejects.toThrow(/upscaler\.onnx.*is missing.*UPSCALER=off/);
  });

  test('UPSCALER=off starts that folder anyway, on the Lanczos path with the plain version', async () => {
    const faces = await FaceService.load(missing.dir, { upscaler: loadConfig({ UPSCALER: 'off' } as NodeJS.ProcessEnv).upscaler });
    try {
      expect(faces.pipeline).toBe('lanczos');
      expect(faces.modelVersion).toBe(missing.version);
    } finally {
      await faces.close();
    }
  });

  test('UPSCALER is on by default, and a value other than on/off is refused', () => {
    expect(loadConfig({} as NodeJS.ProcessEnv).upscaler).toBe(true);
    expect(loadConfig({ UPSCALER: 'on' } as NodeJS.ProcessEnv).upscaler).toBe(true);
    expect(() => loadConfig({ UPSCALER: 'no' } as NodeJS.ProcessEnv)).toThrow(/UPSCALER must be "on" or "off"/);
  });
});

describe('input size from the generator, not a constant', () => {
  test('symbolic spatial axes take the generator native side; fixed ones must equal it', () => {
    expect(upscalerInputSide([1, 3, 'height', 'width'], 96)).toBe(96);
    expect(upscalerInputSide([1, 3, 64, 64], 64)).toBe(64);
    expect(() => upscalerInputSide([1, 3, 64, 64], 96)).toThrow(/reads 64 x 64 px but the generator draws 96 px/);
    expect(() => upscalerInputSide([1, 1, 64, 64], 64)).toThrow(/1 channels/);
  });

  test('the exported upscaler enlarges a natively larger (96 px) face to 192 px', async () => {
    const up = await OnnxUpscaler.load(UPSCALER_FIXTURE, { ...upscalerEntry(), scale: 2, input: 'x', output: 'y', range: [-1, 1] }, 96);
    try {
      expect([up.inputSide, up.outputSide]).toEqual([96, 192]);
      const face = { data: Buffer.alloc(96 * 96 * 3, 128), size: 96 };
      const out = await up.run(rgbToPlanar(face, [-1, 1]));
      expect(out.side).toBe(192);
      expect(out.chw.length).toBe(3 * 192 * 192);
    } finally {
      await up.close();
    }
  });
});
