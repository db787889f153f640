import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import sharp from 'sharp';
import { loadConfig } from '../server/config/config';
import { GENERATION_ASSERTION, verifyImage, type ImageFormat } from '../server/imaging/content-credentials';
import { DEV_CERT_FILE, DEV_KEY_FILE, loadSigningCredentials } from '../server/imaging/signing-credentials';
import { startContentCredentials } from '../server/imaging/start-credentials';
import { NO_LIMITS, startServer, userWithKey, type TestServer } from './helpers/server';

let srv: TestServer;
let pro: string;
/** The development root the server made for itself: what a verifier would be told to trust. */
let devRoot: string;

beforeAll(async () => {
  srv = await startServer({ RATE_LIMITS: NO_LIMITS });
  pro = (await userWithKey(srv.store, 'Professional')).key;
  const chain = fs.readFileSync(path.join(srv.config.c2paDevDir, DEV_CERT_FILE), 'utf8');
  devRoot = chain.slice(chain.lastIndexOf('-----BEGIN CERTIFICATE-----'));
});
afterAll(() => srv.close());

async function image(query: string): Promise<{ bytes: Buffer; res: Response }> {
  const res = await fetch(`${srv.url}/v1/generate?${query}`, { headers: { Authorization: `Token ${pro}` } });
  expect(res.status).toBe(200);
  return { bytes: Buffer.from(await res.arrayBuffer()), res };
}

/** Offset of a byte inside the compressed pixels: JPEG entropy-coded scan or WebP VP8 bitstream. */
function pixelByteOffset(bytes: Buffer, format: ImageFormat): number {
  if (format === 'jpeg') {
    const sos = bytes.lastIndexOf(Buffer.from([0xff, 0xda]));
    const eoi = bytes.lastIndexOf(Buffer.from([0xff, 0xd9]));
    // Middle of the scan, on a byte whose change cannot create or break a marker.
    let i = Math.floor((sos + eoi) / 2);
    while (bytes[i] === 0xff || bytes[i] === 0xfe || bytes[i - 1] === 0xff) i++;
    return i;
  }
  const vp8 = bytes.indexOf(Buffer.from('VP8 '));
  const length = bytes.readUInt32LE(vp8 + 4);
  return vp8 + 8 + Math.floor(length / 2);
}

describe('every image carries a signed C2PA manifest', () => {
  test.each(['jpeg', 'webp'] as const)('a %s manifest validates in c2pa-rs\'s reader, signature and data hash included, and says what made it', async (format) => {
    const { bytes, res } = await image(`seed=31&resolution=256&image_format=${format}`);
    const trusted = await verifyImage(bytes, format, devRoot);
    expect(trusted.failures).toEqual([]);
    expect(trusted.state).toBe('Trusted');
    const codes = JSON.stringify(trusted.store.validation_results);
    for (const code of ['claimSignature.validated', 'assertion.dataHash.match']) expect(codes).toContain(code);

    const manifest = trusted.store.manifests[trusted.store.active_manifest!];
    const actions = manifest.assertions.find((a: { label: string }) => a.label.startsWith('c2pa.actions')).data.actions;
    expect(actions[0]).toMatchObject({
      action: 'c2pa.created',
      digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia',
      softwareAgent: { version: srv.faces.modelVersion },
    });
    expect(actions[0].softwareAgent.name).toMatch(/^Face Studio /);
    const generation = manifest.assertions.find((a: { label: string }) => a.label === GENERATION_ASSERTION).data;
    expect(generation).toMatchObject({ seed: 31, model_version: srv.faces.modelVersion, params: res.headers.get('x-generation-params') });
    expect(manifest.claim_generator_info[0]).toMatchObject({ name: 'Face Studio' });
    expect(manifest.claim_generator_info[0].signing_certificate).toMatch(/^development: self-signed/);
  });

  test.each(['jpeg', 'webp'] as const)('without a trust anchor a %s manifest is still valid, and the only complaint is the untrusted development certificate', async (format) => {
    const { bytes } = await image(`seed=32&resolution=128&image_format=${format}`);
    const plain = await verifyImage(bytes, format);
    expect(plain.failures.map((f) => f.code)).toEqual(['signingCredential.untrusted']);
  });

  test.each(['jpeg', 'webp'] as const)('changing one pixel byte of a %s breaks the data hash and the manifest no longer validates', async (format) => {
    const { bytes } = await image(`seed=33&resolution=256&image_format=${format}`);
    const altered = Buffer.from(bytes);
    altered[pixelByteOffset(altered, format)] ^= 0x01;
    const result = await verifyImage(altered, format, devRoot);
    expect(result.state).toBe('Invalid');
    expect(result.failures.map((f) => f.code)).toContain('assertion.dataHash.mismatch');
  });

  test.each(['jpeg', 'webp'] as const)('stampless=yes keeps the manifest, and the XMP stays beside it (%s)', async (format) => {
    const { bytes } = await image(`seed=34&resolution=128&image_format=${format}&stampless=yes`);
    expect((await verifyImage(bytes, format, devRoot)).state).toBe('Trusted');
    const xmp = (await sharp(bytes).metadata()).xmp?.toString('utf8') ?? '';
    expect(xmp).toContain('Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"');
    expect(xmp).toContain('facestudio:Seed="34"');
  });

  test('a seeded image is signed once: repeating it returns the very same signed bytes and ETag', async () => {
    const a = await image('seed=35&resolution=128');
    const b = await image('seed=35&resolution=128');
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(b.res.headers.get('etag')).toBe(a.res.headers.get('etag'));
  });
});

describe('signing credentials at start', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facestudio-c2pa-'));
  });

  test('without C2PA_CERT the server makes a development chain beside the database once, and reuses it', async () => {
    const config = loadConfig({ DATABASE_PATH: path.join(dir, 'accounts.db') } as NodeJS.ProcessEnv);
    expect(config.c2paDevDir).toBe(dir);
    const first = await startContentCredentials(config);
    const chain = fs.readFileSync(path.join(dir, DEV_CERT_FILE), 'utf8');
    expect(chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(fs.statSync(path.join(dir, DEV_KEY_FILE)).mode & 0o077).toBe(0);
    const second = await startContentCredentials(config);
    expect(fs.readFileSync(path.join(dir, DEV_CERT_FILE), 'utf8')).toBe(chain);
    expect(second.credentials.chain[0].equals(first.credentials.chain[0])).toBe(true);
    expect(first.credentials.development).toBe(true);
  });

  test('servers starting at once on an empty directory all sign with one development chain', async () => {
    // Replicas on one data directory: each makes a chain, exactly one is kept and all use it.
    const starts = await Promise.all(Array.from({ length: 4 }, () => loadSigningCredentials({ devDir: dir })));
    expect(starts.filter((s) => s.created)).toHaveLength(1);
    const kept = fs.readFileSync(path.join(dir, DEV_CERT_FILE), 'utf8');
    const keptLeaf = new crypto.X509Certificate(kept).raw;
    for (const s of starts) expect(s.credentials.chain[0].equals(keptLeaf)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual([DEV_CERT_FILE, DEV_KEY_FILE].sort());
  });

  test('a start that finds the key before its chain waits for the chain; a key left alone is named', async () => {
    const made = await loadSigningCredentials({ devDir: dir });
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'facestudio-c2pa-'));
    fs.copyFileSync(path.join(dir, DEV_KEY_FILE), path.join(other, DEV_KEY_FILE));
    setTimeout(() => fs.copyFileSync(path.join(dir, DEV_CERT_FILE), path.join(other, DEV_CERT_FILE)), 300);
    const late = await loadSigningCredentials({ devDir: other });
    expect(late.created).toBe(false);
    expect(late.credentials.chain[0].equals(made.credentials.chain[0])).toBe(true);
    fs.rmSync(path.join(other, DEV_CERT_FILE));
    await expect(loadSigningCredentials({ devDir: other })).rejects.toThrow(/the development C2PA key .* has no certificate beside it .*delete the key to make a new development chain/);
  }, 30_000);

  test('an operator chain and key (C2PA_CERT, C2PA_KEY) sign, and the manifest calls them operator-supplied', async () => {
    await startContentCredentials({ c2paDevDir: dir });
    const env = { DATABASE_PATH: path.join(dir, 'other', 'accounts.db'), C2PA_CERT: path.join(dir, DEV_CERT_FILE), C2PA_KEY: path.join(dir, DEV_KEY_FILE) } as NodeJS.ProcessEnv;
    const signer = await startContentCredentials(loadConfig(env));
    expect(signer.credentials.development).toBe(false);
    const jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#336699' } }).jpeg().toBuffer();
    const signed = await signer.sign(jpeg, 'jpeg', { modelName: 'm', modelVersion: 'v', seed: 7, params: 'seed=7' });
    const { store } = await verifyImage(signed, 'jpeg');
    expect(store.manifests[store.active_manifest!].claim_generator_info[0].signing_certificate).toBe('operator-supplied');
    expect(fs.existsSync(path.join(dir, 'other', DEV_CERT_FILE))).toBe(false);
  });

  test('C2PA_CERT without C2PA_KEY is refused when the configuration is read', () => {
    expect(() => loadConfig({ C2PA_CERT: '/x/chain.pem' } as NodeJS.ProcessEnv)).toThrow(/C2PA_CERT and C2PA_KEY go together: C2PA_KEY is not set/);
  });

  test('a missing key file stops the start with a message naming it', async () => {
    await startContentCredentials({ c2paDevDir: dir });
    const missing = path.join(dir, 'nope.pem');
    await expect(startContentCredentials({ c2paCert: path.join(dir, DEV_CERT_FILE), c2paKey: missing, c2paDevDir: dir })).rejects.toThrow(`C2PA_KEY ${missing} cannot be read (ENOENT)`);
  });

  test('a broken key file stops the start with a message naming it', async () => {
    await startContentCredentials({ c2paDevDir: dir });
    const broken = path.join(dir, 'broken.pem');
    fs.writeFileSync(broken, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
    await expect(startContentCredentials({ c2paCert: path.join(dir, DEV_CERT_FILE), c2paKey: broken, c2paDevDir: dir })).rejects.toThrow(new RegExp(`C2PA_KEY ${broken} is not a PEM private key`));
  });

  test('a key that does not belong to the signing certificate stops the start', async () => {
    const other = path.join(dir, 'other');
    await startContentCredentials({ c2paDevDir: dir });
    await startContentCredentials({ c2paDevDir: other });
    await expect(startContentCredentials({ c2paCert: path.join(dir, DEV_CERT_FILE), c2paKey: path.join(other, DEV_KEY_FILE), c2paDevDir: dir })).rejects.toThrow(/is not the key of the first certificate/);
  });

  test('a self-signed signing certificate, which C2PA verifiers reject, stops the start with their reason', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await crypto.webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '0a', name: 'CN=self-signed signer', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86400_000), keys, signingAlgorithm: alg,
      extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.4'])],
    });
    const certPath = path.join(dir, 'self.pem');
    const keyPath = path.join(dir, 'self-key.pem');
    fs.writeFileSync(certPath, cert.toString('pem'));
    const pkcs8 = Buffer.from(await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    fs.writeFileSync(keyPath, crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }));
    await expect(startContentCredentials({ c2paCert: certPath, c2paKey: keyPath, c2paDevDir: dir })).rejects.toThrow(new RegExp(`the C2PA signing certificate ${certPath} makes manifests that verifiers reject: signingCredential`));
  });
});
