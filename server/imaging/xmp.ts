/** IPTC digital source type of media made by a trained model; the XMP and the C2PA manifest both state it. */
export const TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export interface Provenance {
  modelName: string;
  modelVersion: string;
  seed: number;
  params: string;
}

/**
 * XMP packet declaring the image AI generated (IPTC DigitalSourceType
 * trainedAlgorithmicMedia), with the model version, seed and resolved parameters.
 */
export function provenanceXmp(p: Provenance): string {
  return [
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    '<rdf:Description rdf:about=""',
    ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"',
    ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"',
    ' xmlns:facestudio="https://facestudio.dev/ns/xmp/1.0/"',
    ` Iptc4xmpExt:DigitalSourceType="${TRAINED_ALGORITHMIC_MEDIA}"`,
    ` xmp:CreatorTool="${escapeXml(`Face Studio ${p.modelName}`)}"`,
    ` facestudio:ModelVersion="${escapeXml(p.modelVersion)}"`,
    ` facestudio:Seed="${p.seed}"`,
    ` facestudio:Params="${escapeXml(p.params)}">`,
    '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">AI-generated face; this person does not exist.</rdf:li></rdf:Alt></dc:description>',
    '</rdf:Description>',
    '</rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
  ].join('');
}
