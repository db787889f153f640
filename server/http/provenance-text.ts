import { GENERATION_ASSERTION } from '../imaging/content-credentials';

/**
 * What a reader of an image's provenance will find, in the words the OpenAPI document (and so
 * /docs) and the home page use. Kept beside the code that writes it (imaging/xmp.ts,
 * imaging/content-credentials.ts) so the description follows the bytes.
 */
export const PROVENANCE_TEXT =
  'Every image, stamped or not, carries two provenance records. XMP: IPTC DigitalSourceType ' +
  'trainedAlgorithmicMedia, the model version, seed and resolved parameters. Content Credentials (C2PA): a manifest ' +
  'signed by this server and bound to the image bytes by a hash, which any C2PA verifier (c2patool, ' +
  'contentcredentials.org/verify, the c2pa SDKs) checks: a c2pa.actions assertion with c2pa.created, ' +
  'digitalSourceType trainedAlgorithmicMedia and the software agent (Face Studio, the model and its version), ' +
  `and the custom assertion ${GENERATION_ASSERTION} with the seed and resolved parameters. ` +
  'Changing any pixel, or cropping, re-encoding or resizing the file, makes the manifest fail validation. ' +
  'The claim generator info names the signing certificate: "operator-supplied", or "development" when the server ' +
  'signs with the self-signed certificate it made for itself, which verifiers report as untrusted (signingCredential.untrusted).';
