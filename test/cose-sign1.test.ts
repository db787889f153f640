import crypto from 'node:crypto';
import { Decoder, encode, Tag } from 'cbor-x';
import { coseSign1, sign1ReserveSize } from '../server/imaging/cose-sign1';

const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = crypto.generateKeyPairSync('ed25519');
const chain = [crypto.randomBytes(600), crypto.randomBytes(500)];
const claim = crypto.randomBytes(900);
// Maps as Maps, so integer header labels stay integers.
const decoder = new Decoder({ mapsAsObjects: false });
const decode = (bytes: Uint8Array): unknown => decoder.decode(bytes);

/** Sig_structure of RFC 9052 section 4.4, as a verifier rebuilds it. */
function toBeSigned(protectedHeader: Uint8Array): Buffer {
  return encode(['Signature1', protectedHeader, Buffer.alloc(0), claim]);
}

test('the envelope is exactly the reserved size for every size that fits, across the pad length prefixes (24, 256 and 65536 bytes)', () => {
  const k = { alg: 'es256' as const, key: ec.privateKey, chain };
  let fitted = 0;
  // From too small, through the smallest envelope, to well past a 256-byte pad.
  for (let size = 1100; size < 1600; size++) {
    let bytes: Buffer;
    try {
      bytes = coseSign1(claim, k, size);
    } catch (err) {
      expect((err as Error).message).toMatch(`needs more than the ${size} bytes`);
      expect(fitted).toBe(0);
      continue;
    }
    expect(bytes.length).toBe(size);
    fitted++;
  }
  expect(fitted).toBeGreaterThan(300);
  expect(coseSign1(claim, k, 70_000).length).toBe(70_000);
  expect(sign1ReserveSize(chain)).toBeGreaterThan(1600 - 300);
});

test.each([
  ['es256', ec, 'sha256', -7],
  ['ed25519', ed, null, -8],
] as const)('a %s COSE_Sign1 carries the algorithm and chain protected, and its signature verifies over the detached claim', (alg, pair, hash, coseAlg) => {
  const bytes = coseSign1(claim, { alg, key: pair.privateKey, chain }, 4096);
  const tagged = decode(bytes) as Tag;
  expect(tagged.tag).toBe(18);
  const [protectedHeader, unprotected, payload, signature] = tagged.value as [Uint8Array, Map<string, Uint8Array>, null, Uint8Array];
  expect(payload).toBeNull();
  const header = decode(protectedHeader) as Map<number, unknown>;
  expect(header.get(1)).toBe(coseAlg);
  expect((header.get(33) as Uint8Array[]).map((c) => Buffer.from(c))).toEqual(chain);
  expect(unprotected.get('pad')!.every((b) => b === 0)).toBe(true);
  const ok = crypto.verify(hash, toBeSigned(protectedHeader), { key: pair.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  expect(ok).toBe(true);
  const other = Buffer.from(claim);
  other[0] ^= 1;
  expect(crypto.verify(hash, encode(['Signature1', protectedHeader, Buffer.alloc(0), other]), { key: pair.publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(false);
});
