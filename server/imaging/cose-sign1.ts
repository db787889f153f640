import crypto from 'node:crypto';
import { Encoder, Tag } from 'cbor-x';

/** COSE algorithm identifiers (RFC 9053) of the keys we sign with, by their C2PA names. */
export const COSE_ALGORITHMS = { es256: -7, es384: -35, es512: -36, ed25519: -8 } as const;
export type SigningAlg = keyof typeof COSE_ALGORITHMS;

// Plain byte strings and integer map keys, as COSE wants them (no typed-array tags, no records).
const cbor = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: false });

const COSE_SIGN1_TAG = 18;
const HEADER_ALG = 1;
const HEADER_X5CHAIN = 33;

export interface Sign1Key {
  alg: SigningAlg;
  key: crypto.KeyObject;
  /** DER certificates, signer first. */
  chain: Buffer[];
}

/**
 * A detached-payload COSE_Sign1 (RFC 9052 section 4) over `payload`, padded to exactly `size`
 * bytes. Why this exists: @contentauth/c2pa-wasm 0.15 (c2pa-rs) hands its signer callback the
 * claim and expects the whole COSE_Sign1 back ("direct COSE handling"; the certificate-chain
 * signer of newer c2pa-rs is not in a published wasm build yet). c2pa-rs writes and checks
 * everything else (claim, JUMBF, hash binding) and its reader verifies this structure; CBOR
 * comes from cbor-x. The envelope is C2PA's: algorithm and x5chain protected, zero padding in
 * the unprotected `pad` header so the signature box keeps the size c2pa-rs reserved for it.
 */
export function coseSign1(payload: Uint8Array, k: Sign1Key, size: number): Buffer {
  const protectedHeader = cbor.encode(new Map<number, unknown>([[HEADER_ALG, COSE_ALGORITHMS[k.alg]], [HEADER_X5CHAIN, k.chain]]));
  const toBeSigned = cbor.encode(['Signature1', protectedHeader, Buffer.alloc(0), Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)]);
  const signature = k.alg === 'ed25519'
    ? crypto.sign(null, toBeSigned, k.key)
    // COSE wants r|s (IEEE P1363), not the DER that crypto.sign gives by default.
    : crypto.sign(k.alg === 'es256' ? 'sha256' : k.alg === 'es384' ? 'sha384' : 'sha512', toBeSigned, { key: k.key, dsaEncoding: 'ieee-p1363' });
  // The pad's own length prefix grows at 24, 256 and 65536 bytes, so one pad cannot reach the
  // size just past each step; then a second, empty pad shifts the count (as c2pa-rs does, "pad2").
  for (const pad2 of [false, true]) {
    const envelope = (pad: number) => {
      const unprotected = new Map([['pad', Buffer.alloc(pad)]]);
      if (pad2) unprotected.set('pad2', Buffer.alloc(0));
      return cbor.encode(new Tag([protectedHeader, unprotected, null, signature], COSE_SIGN1_TAG));
    };
    let pad = 0;
    for (let round = 0; round < 4 && pad >= 0; round++) {
      const bytes = envelope(pad);
      if (bytes.length === size) return bytes;
      pad += size - bytes.length;
    }
  }
  if (envelopeSize(protectedHeader, signature) > size) throw new Error(`the COSE signature needs more than the ${size} bytes reserved for it`);
  throw new Error(`could not pad the COSE signature to exactly ${size} bytes`);
}

function envelopeSize(protectedHeader: Buffer, signature: Buffer): number {
  return cbor.encode(new Tag([protectedHeader, new Map([['pad', Buffer.alloc(0)]]), null, signature], COSE_SIGN1_TAG)).length;
}

/** Bytes to reserve for coseSign1 with this chain: the certificates plus headers, signature and slack. */
export function sign1ReserveSize(chain: Buffer[]): number {
  return chain.reduce((n, c) => n + c.length + 8, 0) + 512;
}
