import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import type { Sign1Key, SigningAlg } from './cose-sign1';

x509.cryptoProvider.set(crypto.webcrypto as Crypto);

/** The certificate chain and key that sign every image's C2PA manifest. */
export interface SigningCredentials extends Sign1Key {
  /** true: the self-signed chain the server made for itself (no verifier trusts it). */
  development: boolean;
  /** Subject of the signing certificate, for logs. */
  subject: string;
  /** Where the PEM files are. */
  certPath: string;
  keyPath: string;
}

export interface CredentialSource {
  /** C2PA_CERT and C2PA_KEY: the operator's PEM chain (signer first) and private key. */
  certPath?: string;
  keyPath?: string;
  /** Where the development chain is kept when the operator gives none. */
  devDir: string;
}

export const DEV_CERT_FILE = 'c2pa-dev-chain.pem';
export const DEV_KEY_FILE = 'c2pa-dev-key.pem';

// The extended key usage C2PA accepts for claim signing (c2pa-rs checks for one of its list).
const EKU_EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';
const EKU_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';
const DEV_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DEV_VALIDITY_DAYS = 3650;

/**
 * The operator's chain and key when C2PA_CERT/C2PA_KEY are set; otherwise the development chain
 * in `devDir`, made on first start. Any problem with the files throws a message naming the file.
 */
export async function loadSigningCredentials(src: CredentialSource): Promise<{ credentials: SigningCredentials; created: boolean }> {
  if (src.certPath && src.keyPath) return { credentials: readCredentials(src.certPath, src.keyPath, false), created: false };
  const certPath = path.join(src.devDir, DEV_CERT_FILE);
  const keyPath = path.join(src.devDir, DEV_KEY_FILE);
  let created = false;
  if (!fs.existsSync(certPath) && !fs.existsSync(keyPath)) created = await writeDevelopmentChain(certPath, keyPath);
  // Another process may have claimed the key a moment ago and not yet placed its chain.
  await waitForFile(certPath, keyPath);
  return { credentials: readCredentials(certPath, keyPath, true), created };
}

// Replicas sharing a data directory start at once; the winner places its chain microseconds after
// its key, so a short wait covers it. A key left alone for this long is a crashed first start.
const CHAIN_WAIT_MS = 10_000;

async function waitForFile(certPath: string, keyPath: string): Promise<void> {
  const deadline = Date.now() + CHAIN_WAIT_MS;
  while (!fs.existsSync(certPath) && fs.existsSync(keyPath) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!fs.existsSync(certPath) && fs.existsSync(keyPath)) {
    throw new Error(`the development C2PA key ${keyPath} has no certificate beside it (${certPath} is missing); delete the key to make a new development chain`);
  }
}

function readFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Reads and cross-checks a PEM chain and key; exported for the operator's files and tests. */
export function readCredentials(certPath: string, keyPath: string, development: boolean): SigningCredentials {
  const certWhat = development ? 'the development C2PA certificate' : 'C2PA_CERT';
  const keyWhat = development ? 'the development C2PA key' : 'C2PA_KEY';
  const pemChain = readFile(certPath, certWhat);
  const blocks = pemChain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${certWhat} ${certPath} holds no PEM certificate (expected the signing certificate first, then its issuers)`);
  let chain: crypto.X509Certificate[];
  try {
    chain = blocks.map((b) => new crypto.X509Certificate(b));
  } catch (err) {
    throw new Error(`${certWhat} ${certPath} has a certificate that cannot be parsed: ${(err as Error).message}`);
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(readFile(keyPath, keyWhat));
  } catch (err) {
    if ((err as Error).message.includes('cannot be read')) throw err;
    throw new Error(`${keyWhat} ${keyPath} is not a PEM private key: ${(err as Error).message}`);
  }
  const leaf = chain[0];
  if (!leaf.checkPrivateKey(key)) throw new Error(`${keyWhat} ${keyPath} is not the key of the first certificate in ${certPath} (${leaf.subject.replace(/\n/g, ', ')})`);
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now || Date.parse(leaf.validFrom) > now) {
    const fix = development ? `; delete it and ${keyPath} to make a new development chain` : '';
    throw new Error(`the C2PA signing certificate in ${certPath} is not valid now (valid ${leaf.validFrom} to ${leaf.validTo})${fix}`);
  }
  return { alg: algorithmOf(key, keyPath), key, chain: chain.map((c) => c.raw), development, subject: leaf.subject.replace(/\n/g, ', '), certPath, keyPath };
}

/** The C2PA signing algorithm of a key; RSA would need PS256, which this server does not implement. */
function algorithmOf(key: crypto.KeyObject, keyPath: string): SigningAlg {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'es256';
    if (curve === 'secp384r1') return 'es384';
    if (curve === 'secp521r1') return 'es512';
  }
  throw new Error(`C2PA_KEY ${keyPath} is a ${key.asymmetricKeyType} key; use an EC key on P-256, P-384 or P-521, or Ed25519`);
}

/**
 * A development CA and a signing certificate it issued, both P-256. c2pa-rs refuses a
 * self-signed signing certificate, so the signer is a separate end-entity certificate with the
 * key usage and extended key usage C2PA requires. Node's crypto reads certificates but cannot
 * issue them, hence @peculiar/x509. Returns false when another process placed its chain first.
 */
async function writeDevelopmentChain(certPath: string, keyPath: string): Promise<boolean> {
  const subtle = crypto.webcrypto.subtle;
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + DEV_VALIDITY_DAYS * 86400_000);
  const org = 'O=Face Studio development (untrusted)';
  const caKeys = (await subtle.generateKey(DEV_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=Face Studio development CA, ${org}`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: DEV_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await subtle.generateKey(DEV_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: crypto.randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    subject: `CN=Face Studio development signer, ${org}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: DEV_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([EKU_EMAIL_PROTECTION, EKU_DOCUMENT_SIGNING], false),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  const pkcs8 = Buffer.from(await subtle.exportKey('pkcs8', leafKeys.privateKey));
  const keyPem = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
  fs.mkdirSync(path.dirname(certPath), { recursive: true });
  // Several processes may make a chain at once (replicas on one data directory). Each writes its
  // own temporary files; the one whose key link succeeds (link fails if the name exists) owns the
  // name and renames its chain into place, the others drop theirs and read the winner's.
  const tmp = `.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(keyPath + tmp, keyPem, { mode: 0o600 });
  fs.writeFileSync(certPath + tmp, `${leaf.toString('pem')}\n${ca.toString('pem')}\n`);
  try {
    fs.linkSync(keyPath + tmp, keyPath);
  } catch (err) {
    fs.rmSync(keyPath + tmp, { force: true });
    fs.rmSync(certPath + tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  fs.rmSync(keyPath + tmp, { force: true });
  fs.renameSync(certPath + tmp, certPath);
  return true;
}
