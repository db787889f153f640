import fs from 'node:fs';
import { initSync, WasmBuilder, WasmReader } from '@contentauth/c2pa-wasm';
import { coseSign1, sign1ReserveSize } from './cose-sign1';
import type { SigningCredentials } from './signing-credentials';
import { TRAINED_ALGORITHMIC_MEDIA, type Provenance } from './xmp';

export type ImageFormat = 'jpeg' | 'webp';

/** Label of our custom assertion: the generation parameters (reverse domain, as C2PA asks). */
export const GENERATION_ASSERTION = 'dev.facestudio.generation';
export const SOFTWARE_NAME = 'Face Studio';

/**
 * c2pa-rs settings for signing: no read-back validation of every image we just wrote (the
 * start-up self-check and the tests do that), and no thumbnail (the image is its own preview).
 */
const SIGN_SETTINGS = JSON.stringify({ verify: { verify_after_sign: false }, builder: { thumbnail: { enabled: false } } });

let wasmReady = false;

/** Instantiates the c2pa-rs WebAssembly module once per process (about half a second). */
function initWasm(): void {
  if (wasmReady) return;
  initSync({ module: fs.readFileSync(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm')) });
  wasmReady = true;
}

/**
 * The wasm build reads its input as a browser Blob through FileReaderSync, which Node lacks.
 * It only calls size, slice() and readAsArrayBuffer(), so the image in memory answers those.
 */
class BytesBlob {
  constructor(readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  slice(start = 0, end = this.bytes.length): BytesBlob {
    return new BytesBlob(this.bytes.subarray(start, end));
  }
}
class BytesFileReaderSync {
  readAsArrayBuffer(blob: BytesBlob): ArrayBuffer {
    const b = blob.bytes;
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
}
const g = globalThis as { FileReaderSync?: unknown };
if (!g.FileReaderSync) g.FileReaderSync = BytesFileReaderSync;

export interface ManifestFacts {
  provenance: Provenance;
  /** package.json version of this server. */
  serverVersion: string;
  development: boolean;
}

/** The manifest definition c2pa-rs turns into a claim: what a verifier will see. */
export function manifestDefinition(f: ManifestFacts, format: ImageFormat): object {
  const p = f.provenance;
  return {
    claim_generator_info: [{
      name: SOFTWARE_NAME,
      version: f.serverVersion,
      // c2pa-rs keeps extra fields of a claim generator; verifiers show them beside the name.
      signing_certificate: f.development
        ? 'development: self-signed by this server at first start; no verifier trusts it'
        : 'operator-supplied',
    }],
    title: `face.${format === 'jpeg' ? 'jpg' : 'webp'}`,
    format: `image/${format}`,
    assertions: [
      {
        label: 'c2pa.actions',
        data: {
          actions: [{
            action: 'c2pa.created',
            digitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
            softwareAgent: { name: `${SOFTWARE_NAME} ${p.modelName}`, version: p.modelVersion },
            description: 'AI-generated face; this person does not exist.',
          }],
        },
      },
      {
        label: GENERATION_ASSERTION,
        data: { model: p.modelName, model_version: p.modelVersion, seed: p.seed, params: p.params },
      },
    ],
  };
}

/**
 * Signs images with a C2PA manifest (c2pa-rs compiled to WebAssembly): a c2pa.actions
 * assertion (created, trainedAlgorithmicMedia, the software agent), the generation parameters,
 * and a data hash that binds the manifest to every other byte of the file.
 */
export class ContentCredentials {
  private readonly reserveSize: number;
  /** Signing runs one at a time: the wasm builder awaits our callback, and one instance is not re-entrant by contract. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly credentials: SigningCredentials, private readonly serverVersion: string) {
    initWasm();
    this.reserveSize = sign1ReserveSize(credentials.chain);
  }

  /** `image` with its manifest embedded (JPEG: APP11 segments; WebP: a C2PA chunk). */
  sign(image: Uint8Array, format: ImageFormat, provenance: Provenance): Promise<Buffer> {
    const run = this.tail.then(() => this.signNow(image, format, provenance));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async signNow(image: Uint8Array, format: ImageFormat, provenance: Provenance): Promise<Buffer> {
    const def = manifestDefinition({ provenance, serverVersion: this.serverVersion, development: this.credentials.development }, format);
    const builder = WasmBuilder.fromJson(JSON.stringify(def), SIGN_SETTINGS);
    try {
      const signer: Parameters<WasmBuilder['sign']>[0] = {
        alg: this.credentials.alg,
        reserveSize: this.reserveSize,
        sign: async (claim) => new Uint8Array(coseSign1(claim, this.credentials, this.reserveSize)),
      };
      const out = await builder.sign(signer, [], `image/${format}`, new BytesBlob(image) as unknown as Blob);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    } finally {
      builder.free();
    }
  }
}

export interface VerifyResult {
  /** c2pa-rs: Invalid, Valid (signature and bindings hold) or Trusted (and the chain ends in a trust anchor). */
  state: 'Invalid' | 'Valid' | 'Trusted';
  failures: { code: string; explanation?: string }[];
  store: { active_manifest?: string; manifests: Record<string, any>; validation_results?: unknown };
}

/**
 * Reads and validates a manifest with c2pa-rs's reader, as any verifier would. `trustAnchors`
 * (PEM) makes those roots trusted; without any, a valid chain still reports
 * signingCredential.untrusted, which is the only failure ignored when deciding "valid".
 */
export async function verifyImage(image: Uint8Array, format: ImageFormat, trustAnchors?: string): Promise<VerifyResult> {
  initWasm();
  const settings = trustAnchors ? JSON.stringify({ trust: { user_anchors: trustAnchors }, verify: { verify_trust: true } }) : undefined;
  const reader = await WasmReader.fromBytes(`image/${format}`, image, settings);
  try {
    const store = JSON.parse(reader.json());
    const failures = (store.validation_results?.activeManifest?.failure ?? []) as VerifyResult['failures'];
    return { state: store.validation_state, failures, store };
  } finally {
    reader.free();
  }
}
