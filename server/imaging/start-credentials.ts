import type pino from 'pino';
import sharp from 'sharp';
import { version as SERVER_VERSION } from '../../package.json';
import type { Config } from '../config/config';
import { ContentCredentials, verifyImage } from './content-credentials';
import { loadSigningCredentials, type SigningCredentials } from './signing-credentials';

/** PEM of the chain's last certificate: the root we ask the self-check to trust. */
function lastCertificatePem(c: SigningCredentials): string {
  const der = c.chain[c.chain.length - 1];
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * The image signer the server starts with: the operator's C2PA_CERT/C2PA_KEY, or the development
 * chain beside the account database (made on first start). It signs a small image and reads it
 * back with c2pa-rs's reader before the server listens, so a chain that C2PA verifiers would
 * reject (wrong key usage, a self-signed signer, an expired certificate) stops the start here
 * instead of shipping invalid manifests. Throws a message naming the file and the problem.
 */
export async function startContentCredentials(config: Pick<Config, 'c2paCert' | 'c2paKey' | 'c2paDevDir'>, logger?: pino.Logger): Promise<ContentCredentials> {
  const { credentials, created } = await loadSigningCredentials({ certPath: config.c2paCert, keyPath: config.c2paKey, devDir: config.c2paDevDir });
  const signer = new ContentCredentials(credentials, SERVER_VERSION);
  const probe = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  const signed = await signer.sign(probe, 'jpeg', { modelName: 'self-check', modelVersion: 'self-check', seed: 1, params: '' });
  const check = await verifyImage(signed, 'jpeg', lastCertificatePem(credentials));
  if (check.state === 'Invalid') {
    const codes = check.failures.map((f) => `${f.code}${f.explanation ? ` (${f.explanation})` : ''}`).join('; ');
    throw new Error(`the C2PA signing certificate ${credentials.certPath} makes manifests that verifiers reject: ${codes}`);
  }
  if (credentials.development) {
    logger?.warn({ cert: credentials.certPath, created }, 'C2PA manifests are signed with a self-signed development certificate: verifiers will show them as untrusted. Set C2PA_CERT and C2PA_KEY for real use.');
  } else {
    logger?.info({ cert: credentials.certPath, subject: credentials.subject, alg: credentials.alg }, 'C2PA manifests are signed with the operator certificate');
  }
  return signer;
}
