/**
 * Issue 15's "Resolve when" table, read from an evaluation result by path so that the same
 * rows can be read from an older eval.json (the --baseline column): a figure an older
 * evaluator did not measure is simply absent there.
 */

// eval.json as parsed: the rows only read numbers from it, so a loose shape is enough.
type Json = { [k: string]: unknown };

export interface Criterion {
  metric: string;
  /** Dot path into the result (eval.json), e.g. "identity.pairs.20-50.same_rate". */
  path: string;
  threshold: number;
  higherIsBetter: boolean;
  percent: boolean;
}

export interface CriterionRow extends Criterion {
  value: number;
  pass: boolean;
  baseline?: number;
}

export const ISSUE_15_CRITERIA: Criterion[] = [
  { metric: 'Face detected', path: 'grid.detected_rate', threshold: 0.96, higherIsBetter: true, percent: true },
  { metric: 'Gender agreement', path: 'grid.gender_agreement', threshold: 0.95, higherIsBetter: true, percent: true },
  { metric: 'Age MAE (years)', path: 'grid.age_mae', threshold: 7, higherIsBetter: false, percent: false },
  { metric: 'Children 3–12 detected', path: 'children.detected_rate', threshold: 0.9, higherIsBetter: true, percent: true },
  { metric: 'Same seed, neighbouring ages (20/35/50/70)', path: 'identity.same_seed_neighbouring_rate', threshold: 0.92, higherIsBetter: true, percent: true },
  { metric: 'Same seed, 20↔50', path: 'identity.pairs.20-50.same_rate', threshold: 0.75, higherIsBetter: true, percent: true },
  { metric: 'Same seed, 20↔70', path: 'identity.pairs.20-70.same_rate', threshold: 0.4, higherIsBetter: true, percent: true },
  { metric: 'Same seed across eyewear, mood, lighting, zoom and hair changes', path: 'attribute_identity.criterion.same_rate', threshold: 0.85, higherIsBetter: true, percent: true },
  { metric: 'Different seeds: different people', path: 'identity.different_seeds_rate', threshold: 0.9, higherIsBetter: true, percent: true },
  { metric: 'Different seeds, same gender and ethnicity', path: 'identity.different_seeds_same_gender_ethnicity_rate', threshold: 0.75, higherIsBetter: true, percent: true },
  { metric: 'Mood 5-way accuracy', path: 'mood.accuracy', threshold: 0.6, higherIsBetter: true, percent: true },
  { metric: 'Yaw slope (judged° per requested°)', path: 'yaw.slope', threshold: 0.8, higherIsBetter: true, percent: false },
  { metric: 'Seven ethnicities distinct for one seed', path: 'ethnicities_distinct.distinct_rate', threshold: 1, higherIsBetter: true, percent: true },
  { metric: 'Fréchet distance (generated vs real)', path: 'frechet.generated_vs_real', threshold: 0.11, higherIsBetter: false, percent: false },
];

/** The number at a dot path (keys may contain '-', never '.'); NaN when absent or not a number. */
export function readPath(obj: unknown, path: string): number {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return NaN;
    cur = (cur as Json)[key];
  }
  return typeof cur === 'number' ? cur : NaN;
}

/** A value passes when it is a number on the right side of its threshold (NaN never passes). */
export function passes(c: Criterion, value: number): boolean {
  return Number.isFinite(value) && (c.higherIsBetter ? value >= c.threshold : value <= c.threshold);
}

export function criteriaTable(result: unknown, baseline?: unknown, criteria: Criterion[] = ISSUE_15_CRITERIA): CriterionRow[] {
  return criteria.map((c) => {
    const value = readPath(result, c.path);
    return { ...c, value, pass: passes(c, value), ...(baseline === undefined ? {} : { baseline: readPath(baseline, c.path) }) };
  });
}
