import { html, type Html } from './layout';

/**
 * What the code and the model may be used for. The code is MIT (LICENSE); the weights are not:
 * they were trained on data sets whose terms allow non-commercial research only, and weights
 * derived from them carry that restriction (models/facestudio-v2/MODEL_CARD.md). The README
 * says the same in words; keep the two in step.
 */
export const CODE_LICENSE = 'MIT';

export const TRAINING_DATA = [
  { name: 'UTKFace', terms: 'non-commercial research only' },
  { name: 'CelebA-HQ', terms: 'non-commercial research and education only' },
  { name: 'FairFace', terms: 'CC BY 4.0' },
] as const;

/** One sentence on the model's terms, for the OpenAPI description and anywhere plain text fits. */
export const MODEL_TERMS_TEXT =
  `The server code is ${CODE_LICENSE}-licensed. The face model is for non-commercial use only: its weights were trained on ` +
  `UTKFace and CelebA-HQ, which are licensed for non-commercial research only, and FairFace (CC BY 4.0); ` +
  `the images it generates inherit that restriction.`;

/** The same, for the pages. */
export function modelTermsNote(): Html {
  return html`<p class="notice warn terms" id="model-terms"><strong>Non-commercial use only.</strong>
  The server code is ${CODE_LICENSE}-licensed, but the face model is not: its weights were trained on
  ${TRAINING_DATA.map((d, i) => html`${i ? (i === TRAINING_DATA.length - 1 ? ' and ' : ', ') : ''}${d.name} (${d.terms})`)},
  so the model and the images it generates are for non-commercial use.</p>`;
}
