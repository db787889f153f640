import { ETHNICITIES } from '../../server/params/schema';
import type { CriterionRow } from './criteria';
import type { DistinctEthnicities } from './distinct-ethnicities';
import { CROPS } from './crop-sheet';
import {
  CHILD_AGES, GRID_AGES, IDENTITY_ATTRIBUTES, PROBE_MOODS,
  type AttributeIdentityMetrics, type ChildrenMetrics, type GridMetrics, type IdentityMetrics, type ProbeMetrics, type RealMetrics,
} from './metrics';
import { EXPRESSION_TO_MOOD, MOODS, type moodAccuracy } from './mood';
import type { PipelineRow } from './pipelines';
import { FACE_BOX } from './sharpness';

export interface EvalResult extends ProbeMetrics {
  model: {
    dir: string;
    name: string;
    version: string;
    native_resolution: number;
    pipeline: 'learned' | 'lanczos';
    upscaler: { version: string; scale: number; training?: Record<string, unknown> } | null;
  };
  judge: { package: string; backend: string; min_confidence: number; pad_fraction: number; same_person_distance: number };
  command: string;
  date: string;
  runtime_s: number;
  options: {
    grid_size: number;
    grid_ages: number[];
    probe_seeds: number;
    probe_age: number;
    real_per_sample: number;
    judge_resolution: number;
    probe_faces: number;
    base_seed: number;
    utkface: string;
    celebahq: string;
  };
  criteria: CriterionRow[];
  baseline?: { file: string; version: string };
  grid: GridMetrics;
  identity: IdentityMetrics;
  attribute_identity: AttributeIdentityMetrics;
  children: ChildrenMetrics;
  mood: ReturnType<typeof moodAccuracy>;
  ethnicities_distinct: DistinctEthnicities;
  frechet: { generated_vs_real: number; real_vs_real: number; n_generated: number; n_real_per_sample: number };
  pipelines: { resolutions: number[]; rows: PipelineRow[]; real128_sharpness: Record<number, number> };
  ethnicity_classifier: { present: boolean; files: string[]; note: string };
  real_reference: RealMetrics;
  contact_sheet: { file: string; bytes: number; faces: number };
  crop_sheet: { file: string; bytes: number; seeds: number[] } | null;
}

const pct = (v: number | null) => (v === null || !Number.isFinite(v) ? 'n/a' : `${(v * 100).toFixed(1)} %`);
const num = (v: number | null, d = 2) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

/** EVAL.md: the thresholds table first (what the issue asks), then every number behind it. */
export function renderReport(r: EvalResult): string {
  const g = r.grid;
  const id = r.identity;
  const out: string[] = [];
  const allPass = r.criteria.every((t) => t.pass);
  const perCell = g.n / (2 * ETHNICITIES.length * GRID_AGES.length);
  out.push(`# Evaluation of ${r.model.name}`);
  out.push('');
  out.push(`- Model version: \`${r.model.version}\` (native ${r.model.native_resolution} px, \`${r.model.dir}\`)`);
  out.push(`- Date: ${r.date}`);
  out.push(`- Command: \`${r.command}\``);
  out.push(`- Runtime: ${r.runtime_s.toFixed(0)} s`);
  out.push(
    `- Judge: ${r.judge.package} on the tfjs \`${r.judge.backend}\` backend, offline (weights from the npm package; network access is disabled during the run). ` +
      `SSD MobileNet v1 detector (confidence ≥ ${r.judge.min_confidence}), 68-point landmarks, age/gender, expression and 128-d recognition nets. ` +
      `The generator is not trained against any of these networks.`,
  );
  out.push(
    `- Faces: ${g.n} in a balanced grid (2 genders × ${ETHNICITIES.length} ethnicities × ages ${GRID_AGES.join(', ')} × ${perCell} seed${perCell === 1 ? '' : 's'}; ` +
      `each seed keeps its gender and ethnicity across the ages), plus ${r.options.probe_faces} attribute-probe faces (mood, yaw, skin tone and the attribute sweeps) and ${r.children.n} children. ` +
      `Every face goes through \`FaceService.render\` (the API's code path) at ${r.options.judge_resolution} px JPEG with \`stampless=yes\`; ` +
      `attributes not named are drawn from the seed as the API would.`,
  );
  out.push(
    `- Undetected faces count as failures in every rate (detection, gender, expression, identity pairs). Age MAE, correlations and mean distances can only use detected faces; their counts are given. ` +
      `For the Fréchet distance an undetected image (generated or real) contributes the descriptor of its whole frame, so non-faces still weigh in.`,
  );
  out.push(`- Images are given a ${Math.round(r.judge.pad_fraction * 100)} % grey border per side before detection, real and generated alike: SSD MobileNet misses most tight crops (UTKFace-style) without it.`);
  out.push('');
  out.push(`## Resolution criteria (issue 15): ${allPass ? '**all pass**' : '**not all pass**'}`);
  out.push('');
  const withBase = r.criteria.some((t) => t.baseline !== undefined);
  out.push(row(['Metric', 'Value', 'Required', 'Result', ...(withBase ? [`Baseline \`${r.baseline?.version ?? '?'}\``] : [])]));
  out.push(row(['---', '---:', '---:', ':---:', ...(withBase ? ['---:'] : [])]));
  for (const t of r.criteria) {
    const f = (v: number | undefined) => (v === undefined ? '' : t.percent ? pct(v) : num(v, 2));
    const op = t.higherIsBetter ? '≥' : '≤';
    out.push(row([t.metric, f(t.value), `${op} ${f(t.threshold)}`, t.pass ? 'PASS' : 'FAIL', ...(withBase ? [f(t.baseline)] : [])]));
  }
  out.push('');
  if (r.baseline) out.push(`Baseline column: \`${r.baseline.file}\` (n/a where that evaluation did not measure the figure).`, '');
  out.push(`The model is served on the **${r.model.pipeline}** pipeline${r.model.upscaler ? ` (learned upscaler \`${r.model.upscaler.version}\`, x${r.model.upscaler.scale})` : ''}; every figure above comes from that pipeline unless a table says otherwise.`, '');
  out.push(`Gender agreement counts undetected faces as disagreeing; among detected faces it is ${pct(g.gender_agreement_of_detected)}. Age MAE is over the ${g.detected} detected grid faces (mean signed error ${num(g.age_bias, 1)} years).`);
  out.push('');

  out.push('## All metrics');
  out.push('');
  out.push(row(['Metric', 'Value', 'Notes']));
  out.push(row(['---', '---:', '---']));
  out.push(row(['Face detected', pct(g.detected_rate), `${g.detected} / ${g.n} grid faces`]));
  out.push(row(['Gender agreement', pct(g.gender_agreement), `of all grid faces; ${pct(g.gender_agreement_of_detected)} of detected`]));
  out.push(row(['Age MAE', `${num(g.age_mae, 1)} y`, `detected grid faces; bias ${num(g.age_bias, 1)} y (judged − requested)`]));
  out.push(row(['Expression: happy/neutral accuracy', pct(r.expression.happy_neutral_accuracy), `judge's top expression = requested mood, ${r.expression.happy_neutral_n} faces`]));
  out.push(row(['Expression: paired happier', pct(r.expression.paired_happier_rate), 'same seed: judge\'s "happy" higher for mood=happy than for mood=neutral']));
  out.push(row(['Yaw: r(view_profile, judged yaw)', num(r.yaw.r), `${r.yaw.judged} detected of ${r.yaw.n}, requested ${r.yaw.requested.join('/')}°; slope ${num(r.yaw.slope)} judged°/requested°`]));
  out.push(row(['Yaw: paired order', pct(r.yaw.ordered_rate), `same seed: judged yaw at ${r.yaw.requested[r.yaw.requested.length - 1]}° > at ${r.yaw.requested[0]}°`]));
  out.push(row(['Yaw: r on grid (seed-drawn yaw)', num(g.yaw_r_seed_drawn), 'mostly near-frontal, so a weak test']));
  out.push(row(['Skin: r(skintone, cheek L*)', num(r.skintone.r_lightness), `${r.skintone.judged} detected of ${r.skintone.n}, requested ${r.skintone.requested.join('/')}; expected negative (higher skintone = darker)`]));
  out.push(row(['Skin: r(skintone, cheek ITA tone)', num(r.skintone.r_ita_tone), 'the labeller\'s ITA scale measured by the judge; expected positive']));
  out.push(row(['Skin: paired order', pct(r.skintone.ordered_rate), `same seed: cheeks darker at skintone ${r.skintone.requested[r.skintone.requested.length - 1]} than at ${r.skintone.requested[0]}`]));
  out.push(row(['Skin: r on grid (seed-drawn tone)', num(g.skintone_r_seed_drawn), 'skintone vs judged ITA tone']));
  out.push(row(['Identity: neighbouring ages same person', pct(id.same_seed_neighbouring_rate), `${id.seeds} seeds × ${id.same_seed_neighbouring_pairs / id.seeds} pairs, distance < ${r.judge.same_person_distance}`]));
  out.push(row(['Identity: different seeds different people', pct(id.different_seeds_rate), `${id.different_seeds_pairs} same-age pairs, mean distance ${num(id.different_seeds_mean_distance, 3)}`]));
  out.push(row(['… same gender and ethnicity only', pct(id.different_seeds_same_gender_ethnicity_rate), `${id.different_seeds_same_gender_ethnicity_pairs} pairs, mean distance ${num(id.different_seeds_same_gender_ethnicity_mean_distance, 3)}`]));
  for (const a of id.different_seeds_by_age) {
    out.push(row([`… at age ${a.age} only`, pct(a.rate), `${a.pairs} pairs`]));
  }
  const ed = r.ethnicities_distinct;
  const identical = ed.identical_pairs.length ? `; pixel-identical: ${[...new Set(ed.identical_pairs.map((p) => `${p.a} = ${p.b}`))].join(', ')}` : '';
  out.push(row(['Seven ethnicities distinct for one seed', pct(ed.distinct_rate), `${ed.seeds} seeds × ${ETHNICITIES.length} ethnicities, nothing else asked; smallest mean pixel difference ${num(ed.min_mean_abs_diff, 1)}/255${identical}`]));
  out.push(row(['Fréchet distance, generated vs real', num(r.frechet.generated_vs_real, 4), `128-d descriptors, ${r.frechet.n_generated} generated (random subset of the grid) vs ${r.frechet.n_real_per_sample} real, half UTKFace, half CelebA-HQ`]));
  out.push(row(['Fréchet distance, real vs real (floor)', num(r.frechet.real_vs_real, 4), `two disjoint samples of ${r.frechet.n_real_per_sample} real photos`]));
  out.push('');

  out.push('### Identity: one seed at every pair of ages');
  out.push('');
  out.push(row(['Ages', 'Same person (d < 0.6)', 'Mean distance', 'Judged pairs']));
  out.push(row(['---', '---:', '---:', '---:']));
  for (const [k, p] of Object.entries(id.pairs)) {
    out.push(row([`${k}${p.neighbouring ? ' (neighbouring)' : ''}`, pct(p.same_rate), num(p.mean_distance, 3), `${p.judged} / ${p.n}`]));
  }
  out.push('');

  out.push('### By requested age (grid)');
  out.push('');
  out.push(row(['Age', 'Detected', 'Gender agreement', 'Age MAE', 'Bias']));
  out.push(row(['---:', '---:', '---:', '---:', '---:']));
  for (const a of GRID_AGES) {
    const s = g.by_age[a];
    out.push(row([a, pct(s.detected_rate), pct(s.gender_agreement), num(s.age_mae, 1), num(s.age_bias, 1)]));
  }
  out.push('');
  out.push('### By requested ethnicity and gender (grid)');
  out.push('');
  out.push(row(['Group', 'Detected', 'Gender agreement', 'Age MAE']));
  out.push(row(['---', '---:', '---:', '---:']));
  for (const e of ETHNICITIES) {
    const s = g.by_ethnicity[e];
    out.push(row([e, pct(s.detected_rate), pct(s.gender_agreement), num(s.age_mae, 1)]));
  }
  for (const gd of ['male', 'female'] as const) {
    const s = g.by_gender[gd];
    out.push(row([gd, pct(s.detected_rate), pct(s.gender_agreement), num(s.age_mae, 1)]));
  }
  out.push('');

  out.push('### Expression by requested mood (probe)');
  out.push('');
  out.push(row(['Mood', "Judge's top expression matches", 'Mean probability of that expression']));
  out.push(row(['---', '---:', '---:']));
  for (const m of PROBE_MOODS) {
    const s = r.expression.per_mood[m];
    out.push(row([m, pct(s.top_match_rate), num(s.mean_probability, 3)]));
  }
  out.push('');
  out.push(`Mean judged yaw by requested view_profile: ${r.yaw.mean_by_requested.map((x) => `${x.requested}° → ${num(x.mean, 1)}°`).join(', ')}. ` +
    `The judge's yaw is positive when the nose points to the image's left (the subject's right), the sign of the training labels; a strongly negative r would mean the model's yaw is mirrored.`);
  out.push('');
  out.push(`Mean cheek L* by requested skintone: ${r.skintone.mean_lightness_by_requested.map((x) => `${x.requested} → ${num(x.mean, 1)}`).join(', ')}.`);
  out.push('');

  out.push('### Identity across one attribute at a time (issue 15)');
  out.push('');
  out.push(`One seed per probe (${r.options.probe_seeds} seeds, age ${r.options.probe_age}); every pair of values of one attribute on one seed should be judged the same person (d < ${r.judge.same_person_distance}). Other attributes are what the seed draws. The criterion pools ${r.attribute_identity.criterion_attributes.join(', ')}: ${pct(r.attribute_identity.criterion.same_rate)} of ${r.attribute_identity.criterion.n} pairs.`);
  out.push('');
  out.push(row(['Attribute', 'Same person', 'Mean distance', 'Judged pairs']));
  out.push(row(['---', '---:', '---:', '---:']));
  for (const a of IDENTITY_ATTRIBUTES) {
    const p = r.attribute_identity.per_attribute[a];
    out.push(row([a, pct(p.same_rate), num(p.mean_distance, 3), `${p.judged} / ${p.n}`]));
  }
  out.push('');

  const ch = r.children;
  out.push('### Children (ages 3–12)');
  out.push('');
  out.push(`${ch.n} faces (${ch.n / CHILD_AGES.length} seeds × ages ${CHILD_AGES.join(', ')}): detected ${pct(ch.detected_rate)}, age MAE ${num(ch.age_mae, 1)} y (bias ${num(ch.age_bias, 1)} y, detected faces). Same seed at 5 and 10 judged the same person: ${pct(ch.same_seed_5_10.same_rate)} of ${ch.same_seed_5_10.n} (mean distance ${num(ch.same_seed_5_10.mean_distance, 3)}).`);
  out.push('');
  out.push(row(['Age', 'Detected', 'Age MAE', 'Bias']));
  out.push(row(['---:', '---:', '---:', '---:']));
  for (const a of CHILD_AGES) {
    const x = ch.by_age[a];
    out.push(row([a, pct(x.detected_rate), num(x.age_mae, 1), num(x.age_bias, 1)]));
  }
  out.push('');

  out.push('### Mood, 5-way');
  out.push('');
  const mapping = Object.entries(EXPRESSION_TO_MOOD).filter(([e, m]) => e !== m).map(([e, m]) => `${e} → ${m}`).join(', ');
  out.push(`face-api's seven expression probabilities are summed into the API's five moods (${mapping}; the other five map to themselves) and the largest is the judged mood; undetected faces count as wrong. Accuracy ${pct(r.mood.accuracy)} over ${r.mood.n} probe faces.`);
  out.push('');
  out.push(row(['Requested \\ judged', ...MOODS, 'undetected', 'accuracy']));
  out.push(row(['---', ...MOODS.map(() => '---:'), '---:', '---:']));
  for (const m of MOODS) out.push(row([m, ...MOODS.map((k) => r.mood.confusion[m][k]), r.mood.confusion[m].undetected, pct(r.mood.per_mood[m].accuracy)]));
  out.push('');

  out.push('### Per ethnicity (independent classifier)');
  out.push('');
  out.push(r.ethnicity_classifier.note);
  out.push('');

  out.push('## Learned upscaler vs Lanczos (issue 16)');
  out.push('');
  if (!r.model.upscaler) {
    out.push('This model has no learned upscaler in its manifest: only the Lanczos pipeline exists. Its figures at each size are below.');
    out.push('');
  } else {
    out.push(`The same ${r.pipelines.rows[0]?.n ?? 0} grid faces (same seeds and parameters) rendered at each size through both pipelines, stampless JPEG as served. *lanczos*: the ${r.model.native_resolution} px face → Lanczos-3 + unsharp mask; *learned*: → x${r.model.upscaler.scale} upscaler → Lanczos-3 + a narrower unsharp mask (server/imaging/encode.ts).`);
    out.push('');
  }
  out.push(
    `Sharpness: variance of the 4-neighbour Laplacian of luma over the face box (x ${FACE_BOX.x0}–${FACE_BOX.x1}, y ${FACE_BOX.y0}–${FACE_BOX.y1} of the side), mean over faces; higher is sharper, but noise and artefacts raise it too. ` +
      `*Real via this pipeline*: the ${r.frechet.n_real_per_sample} real 128 px faces of the Fréchet sample reduced to ${r.model.native_resolution} px and enlarged the same way; *real 128 px*: the same faces enlarged from 128 px by the resize alone (what a perfect x2 would give). Fréchet distance against the same real sample as above (floor ${num(r.frechet.real_vs_real, 4)}).`,
  );
  out.push('');
  out.push(
    '*Age MAE* is over the faces each pipeline detected, *bias* its signed mean (judged − requested); *paired* is over the faces that both pipelines at that size detected, the like-for-like comparison (n in brackets).',
  );
  out.push('');
  out.push(row(['Size', 'Pipeline', 'Detected', 'Gender agreement', 'Age MAE', 'Age bias', 'Age MAE, paired', 'Fréchet', 'Sharpness', 'Real via this pipeline', 'Real 128 px']));
  out.push(row(['---:', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
  for (const p of r.pipelines.rows) {
    out.push(row([`${p.resolution} px`, p.pipeline, pct(p.detected_rate), pct(p.gender_agreement), num(p.age_mae, 1), num(p.age_bias, 1), `${num(p.age_mae_paired, 1)} (${p.n_paired})`, num(p.frechet, 4), num(p.sharpness, 1), num(p.real_sharpness, 1), num(r.pipelines.real128_sharpness[p.resolution], 1)]));
  }
  out.push('');
  const against = r.pipelines.rows.filter((p) => p.vs_lanczos);
  if (against.length) {
    out.push('Face by face against Lanczos at the same size (sampling noise: with ~200 faces a one-face difference is 0.5 %):');
    out.push('');
    out.push(row(['Size', 'Pipeline', 'Gender right only here', 'Gender right only with Lanczos', 'McNemar p', 'Age error − Lanczos\'s (paired, 95 % CI)']));
    out.push(row(['---:', '---', '---:', '---:', '---:', '---']));
    for (const p of against) {
      const v = p.vs_lanczos!;
      out.push(row([`${p.resolution} px`, p.pipeline, v.gender_only_this, v.gender_only_lanczos, num(v.gender_p, 2), `${num(v.age_error_diff.mean, 2)} y (${num(v.age_error_diff.ci95[0], 2)} to ${num(v.age_error_diff.ci95[1], 2)}), n ${v.age_error_diff.n}`]));
    }
    out.push('');
  }
  if (r.crop_sheet) {
    out.push(
      `Crop sheet: [\`${r.crop_sheet.file}\`](${r.crop_sheet.file}): seeds ${r.crop_sheet.seeds.join(', ')} (grid faces at age 35), 512 px, eyes (x ${CROPS.eyes.x0}–${CROPS.eyes.x1}, y ${CROPS.eyes.y0}–${CROPS.eyes.y1}) and mouth (x ${CROPS.mouth.x0}–${CROPS.mouth.x1}, y ${CROPS.mouth.y0}–${CROPS.mouth.y1}) cut at 1:1 from the served JPEGs, Lanczos beside learned.`,
    );
    out.push('');
    out.push(`![Lanczos vs learned at 512 px](${r.crop_sheet.file})`);
    out.push('');
  }

  out.push('## The judge on real photos (its own error, for scale)');
  out.push('');
  out.push('The same judge, same settings, on the real photos drawn for the Fréchet samples. UTKFace ages are restricted to 0–80. ' +
    "face-api's age/gender net was trained on an 80/20 split of UTK, FGNET, ChaLearn, Wiki, IMDB, CACD and MegaAge (face-api.js documentation), so its UTKFace numbers flatter it somewhat.");
  out.push('');
  out.push(row(['Dataset', 'Photos', 'Detected', 'Gender agreement', 'Age MAE', 'Pairs judged different people']));
  out.push(row(['---', '---:', '---:', '---:', '---:', '---:']));
  for (const [name, s] of Object.entries(r.real_reference)) {
    out.push(row([name, s.n, pct(s.detected_rate), pct(s.gender_agreement), s.age_mae === null ? '—' : num(s.age_mae, 1), pct(s.different_people_rate)]));
  }
  out.push('');
  out.push(`Contact sheet: [\`${r.contact_sheet.file}\`](${r.contact_sheet.file}) (${r.contact_sheet.faces} faces, ${(r.contact_sheet.bytes / 1024).toFixed(0)} KiB). Raw numbers and every face's parameters and verdict: [\`eval.json\`](eval.json).`);
  out.push('');
  return out.join('\n');
}
