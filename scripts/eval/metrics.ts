import { ETHNICITIES, type ResolvedParams } from '../../server/params/schema';
import { SAME_PERSON_DISTANCE, descriptorDistance, type Judgement } from './judge';
import { mean, pearson, slope } from './stats';

/** The evaluation's design (what is generated) and its scoring (what the judge's verdicts add up to). */

export const GRID_AGES = [10, 20, 35, 50, 70];
export const IDENTITY_AGES = [20, 35, 50, 70];
export const PROBE_AGE = 30;
export const PROBE_MOODS = ['neutral', 'happy', 'sad', 'angry', 'surprised'] as const;
export const PROBE_YAWS = [-45, -20, 0, 20, 45];
export const PROBE_TONES = [0, 3, 6, 10];
/** Children (issue 15): one seed at each of these ages; 5 and 10 also make the 5↔10 identity pair. */
export const CHILD_AGES = [3, 5, 7, 10, 12];
/**
 * Non-identity attributes swept over one seed (issue 15), beside mood (the mood probe) and
 * view_profile (the yaw probe). Every pair of values of one attribute on one seed should stay
 * one person.
 */
export const ATTRIBUTE_SWEEPS = {
  eyewear: ['none', 'eyeglasses', 'sunglasses'],
  lighting: ['studio', 'natural', 'artistic'],
  zoom_level: ['standard', 'closeup'],
  hair_length: [0, 5, 10],
  facial_hair: [0, 5, 10],
} as const;
export type SweptAttribute = keyof typeof ATTRIBUTE_SWEEPS;
/** Every attribute whose changes are checked for identity, in report order. */
export const IDENTITY_ATTRIBUTES = ['eyewear', 'mood', 'lighting', 'zoom_level', 'hair_length', 'facial_hair', 'view_profile'] as const;
export type IdentityAttribute = (typeof IDENTITY_ATTRIBUTES)[number];
/**
 * The issue-15 criterion "same seed across eyewear, mood, lighting, zoom and hair changes"
 * pools these; view_profile is reported beside it (a turned head is a harder identity test
 * for the judge's recogniser, and issue 15 measures yaw by its slope).
 */
export const CRITERION_ATTRIBUTES: readonly IdentityAttribute[] = ['eyewear', 'mood', 'lighting', 'zoom_level', 'hair_length', 'facial_hair'];

export type Gender = 'male' | 'female';
export type Ethnicity = (typeof ETHNICITIES)[number];

export interface GenItem {
  set: 'grid' | 'mood' | 'yaw' | 'skintone' | 'attribute' | 'children';
  /** Set 'attribute': which attribute this item's sweep varies. */
  attribute?: SweptAttribute;
  /** Grid: one seed (one person) per (gender, ethnicity, replicate), shared across the ages. */
  chain?: number;
  /** Probes and children: index of the seed, to pair the same person across attribute values or ages. */
  probe?: number;
  params: ResolvedParams;
}

export interface RealItem {
  source: 'utkface' | 'celebahq';
  file: string;
  half: 0 | 1;
  gender?: Gender;
  age?: number;
}

const rate = (ok: number, n: number) => (n ? ok / n : NaN);

export function gridMetrics(items: GenItem[], js: Judgement[]) {
  const idx = items.map((_, i) => i).filter((i) => items[i].set === 'grid');
  const summarise = (sel: number[]) => {
    const det = sel.filter((i) => js[i].detected);
    const genderOk = det.filter((i) => js[i].gender === items[i].params.gender).length;
    const err = det.map((i) => js[i].age! - items[i].params.age);
    return {
      n: sel.length,
      detected: det.length,
      detected_rate: rate(det.length, sel.length),
      gender_agreement: rate(genderOk, sel.length),
      gender_agreement_of_detected: rate(genderOk, det.length),
      age_mae: mean(err.map(Math.abs)),
      age_bias: mean(err),
    };
  };
  const by = <K extends string | number>(key: (it: GenItem) => K, keys: readonly K[]) =>
    Object.fromEntries(keys.map((k) => [k, summarise(idx.filter((i) => key(items[i]) === k))])) as Record<K, ReturnType<typeof summarise>>;
  const det = idx.filter((i) => js[i].detected);
  return {
    ...summarise(idx),
    by_age: by((it) => it.params.age, GRID_AGES),
    by_ethnicity: by((it) => it.params.ethnicity, ETHNICITIES),
    by_gender: by((it) => it.params.gender, ['male', 'female'] as const),
    // The grid leaves yaw and skin tone to the seed: a second, natural-distribution look at both.
    yaw_r_seed_drawn: pearson(det.map((i) => items[i].params.view_profile), det.map((i) => js[i].yaw!)),
    skintone_r_seed_drawn: pearson(det.map((i) => items[i].params.skintone), det.map((i) => js[i].skinTone!)),
  };
}

/** A pair with an undetected face cannot be judged either way, so it counts as a failure. */
function samePair(a: Judgement, b: Judgement): { judged: boolean; dist: number } {
  if (!a.detected || !b.detected) return { judged: false, dist: NaN };
  return { judged: true, dist: descriptorDistance(a.descriptor, b.descriptor) };
}

/** One pair's verdict, as every same-person rate here counts it: both found and closer than the threshold. */
export function samePerson(a: Judgement, b: Judgement): boolean {
  const r = samePair(a, b);
  return r.judged && r.dist < SAME_PERSON_DISTANCE;
}

/**
 * Same-person rate over pairs that should be one person. Undetected faces fail their pair;
 * the mean distance can only use judged pairs (their count is given).
 */
export function samePersonRate(pairs: Array<[Judgement, Judgement]>) {
  const res = pairs.map(([a, b]) => samePair(a, b));
  const dists = res.filter((r) => r.judged).map((r) => r.dist);
  const same = dists.filter((d) => d < SAME_PERSON_DISTANCE).length;
  return { n: pairs.length, judged: dists.length, same, same_rate: rate(same, pairs.length), mean_distance: mean(dists) };
}

/** Every unordered pair of a list. */
function allPairs<T>(xs: T[]): Array<[T, T]> {
  const out: Array<[T, T]> = [];
  for (let a = 0; a < xs.length; a++) for (let b = a + 1; b < xs.length; b++) out.push([xs[a], xs[b]]);
  return out;
}

/** Which identity sweep an item belongs to, if any. */
export function sweepOf(it: GenItem): IdentityAttribute | undefined {
  if (it.set === 'mood') return 'mood';
  if (it.set === 'yaw') return 'view_profile';
  if (it.set === 'attribute') return it.attribute;
  return undefined;
}

/**
 * Issue 15: one seed under changes of one non-identity attribute at a time. Per attribute, every
 * pair of its values on one seed is a pair that should be the same person.
 */
export function attributeIdentityMetrics(items: GenItem[], js: Judgement[]) {
  const groups = new Map<string, { attribute: IdentityAttribute; js: Judgement[] }>();
  items.forEach((it, i) => {
    const attribute = sweepOf(it);
    if (!attribute || it.probe === undefined) return;
    const key = `${attribute}/${it.probe}`;
    const g = groups.get(key) ?? { attribute, js: [] };
    g.js.push(js[i]);
    groups.set(key, g);
  });
  const pairsOf = (want: readonly IdentityAttribute[]) => [...groups.values()].filter((g) => want.includes(g.attribute)).flatMap((g) => allPairs(g.js));
  return {
    per_attribute: Object.fromEntries(IDENTITY_ATTRIBUTES.map((a) => [a, samePersonRate(pairsOf([a]))])) as Record<IdentityAttribute, ReturnType<typeof samePersonRate>>,
    criterion_attributes: CRITERION_ATTRIBUTES,
    criterion: samePersonRate(pairsOf(CRITERION_ATTRIBUTES)),
  };
}

/** Issue 15: children 3-12, detection and age error per requested age, and one seed at 5 and at 10. */
export function childrenMetrics(items: GenItem[], js: Judgement[]) {
  const idx = items.map((_, i) => i).filter((i) => items[i].set === 'children');
  const summarise = (sel: number[]) => {
    const det = sel.filter((i) => js[i].detected);
    const err = det.map((i) => js[i].age! - items[i].params.age);
    return { n: sel.length, detected: det.length, detected_rate: rate(det.length, sel.length), age_mae: mean(err.map(Math.abs)), age_bias: mean(err) };
  };
  const at = (probe: number, age: number) => idx.find((i) => items[i].probe === probe && items[i].params.age === age);
  const probes = [...new Set(idx.map((i) => items[i].probe!))];
  const pairs = probes.flatMap((p) => {
    const [a, b] = [at(p, 5), at(p, 10)];
    return a !== undefined && b !== undefined ? [[js[a], js[b]] as [Judgement, Judgement]] : [];
  });
  return {
    ...summarise(idx),
    ages: CHILD_AGES,
    by_age: Object.fromEntries(CHILD_AGES.map((a) => [a, summarise(idx.filter((i) => items[i].params.age === a))])) as Record<number, ReturnType<typeof summarise>>,
    same_seed_5_10: samePersonRate(pairs),
  };
}

export function identityMetrics(items: GenItem[], js: Judgement[]) {
  const chains = new Map<number, { gender: Gender; ethnicity: Ethnicity; byAge: Map<number, Judgement> }>();
  items.forEach((it, i) => {
    if (it.set !== 'grid' || it.chain === undefined) return;
    let c = chains.get(it.chain);
    if (!c) chains.set(it.chain, (c = { gender: it.params.gender, ethnicity: it.params.ethnicity, byAge: new Map() }));
    c.byAge.set(it.params.age, js[i]);
  });
  const list = [...chains.values()];
  const pairs: Record<string, { n: number; judged: number; same: number; same_rate: number; mean_distance: number; neighbouring: boolean }> = {};
  let neighN = 0;
  let neighSame = 0;
  for (let x = 0; x < IDENTITY_AGES.length; x++) {
    for (let y = x + 1; y < IDENTITY_AGES.length; y++) {
      const [a1, a2] = [IDENTITY_AGES[x], IDENTITY_AGES[y]];
      const res = list.map((c) => samePair(c.byAge.get(a1)!, c.byAge.get(a2)!));
      const same = res.filter((r) => r.judged && r.dist < SAME_PERSON_DISTANCE).length;
      const dists = res.filter((r) => r.judged).map((r) => r.dist);
      pairs[`${a1}-${a2}`] = { n: res.length, judged: dists.length, same, same_rate: rate(same, res.length), mean_distance: mean(dists), neighbouring: y === x + 1 };
      if (y === x + 1) {
        neighN += res.length;
        neighSame += same;
      }
    }
  }
  const diff = { n: 0, judged: 0, different: 0, dists: [] as number[] };
  const diffSameGroup = { n: 0, different: 0, dists: [] as number[] };
  const diffByAge: { age: number; rate: number; pairs: number }[] = [];
  for (const age of IDENTITY_AGES) {
    const atAge = { n: 0, different: 0 };
    for (let x = 0; x < list.length; x++) {
      for (let y = x + 1; y < list.length; y++) {
        const r = samePair(list[x].byAge.get(age)!, list[y].byAge.get(age)!);
        const different = r.judged && r.dist >= SAME_PERSON_DISTANCE ? 1 : 0;
        atAge.n++;
        atAge.different += different;
        diff.n++;
        diff.different += different;
        if (r.judged) {
          diff.judged++;
          diff.dists.push(r.dist);
        }
        if (list[x].gender === list[y].gender && list[x].ethnicity === list[y].ethnicity) {
          diffSameGroup.n++;
          diffSameGroup.different += different;
          if (r.judged) diffSameGroup.dists.push(r.dist);
        }
      }
    }
    diffByAge.push({ age, rate: rate(atAge.different, atAge.n), pairs: atAge.n });
  }
  return {
    seeds: list.length,
    ages: IDENTITY_AGES,
    same_seed_neighbouring_rate: rate(neighSame, neighN),
    same_seed_neighbouring_pairs: neighN,
    pairs,
    different_seeds_rate: rate(diff.different, diff.n),
    different_seeds_pairs: diff.n,
    different_seeds_judged: diff.judged,
    different_seeds_mean_distance: mean(diff.dists),
    different_seeds_same_gender_ethnicity_rate: rate(diffSameGroup.different, diffSameGroup.n),
    different_seeds_same_gender_ethnicity_pairs: diffSameGroup.n,
    different_seeds_same_gender_ethnicity_mean_distance: mean(diffSameGroup.dists),
    different_seeds_by_age: diffByAge,
  };
}

export function probeMetrics(items: GenItem[], js: Judgement[], probeSeeds: number) {
  const of = (set: GenItem['set']) => items.map((it, i) => ({ it, j: js[i] })).filter((x) => x.it.set === set);
  // An absent face counts like an undetected one: the pair fails.
  const find = (set: GenItem['set'], probe: number, pred: (p: ResolvedParams) => boolean): Judgement =>
    of(set).find((x) => x.it.probe === probe && pred(x.it.params))?.j ?? { detected: false, score: 0, descriptor: new Float32Array(0) };

  const moods = of('mood');
  const per_mood = Object.fromEntries(
    PROBE_MOODS.map((m) => {
      const sel = moods.filter((x) => x.it.params.mood === m);
      return [m, {
        n: sel.length,
        top_match_rate: rate(sel.filter((x) => x.j.topExpression === m).length, sel.length),
        mean_probability: mean(sel.filter((x) => x.j.detected).map((x) => x.j.expressions![m])),
      }];
    }),
  );
  const hn = moods.filter((x) => x.it.params.mood === 'happy' || x.it.params.mood === 'neutral');
  let pairedHappy = 0;
  for (let p = 0; p < probeSeeds; p++) {
    const h = find('mood', p, (q) => q.mood === 'happy');
    const n = find('mood', p, (q) => q.mood === 'neutral');
    if (h.detected && n.detected && h.expressions!.happy > n.expressions!.happy) pairedHappy++;
  }

  const yaws = of('yaw').filter((x) => x.j.detected);
  let yawOrdered = 0;
  const lo = PROBE_YAWS[0];
  const hi = PROBE_YAWS[PROBE_YAWS.length - 1];
  for (let p = 0; p < probeSeeds; p++) {
    const a = find('yaw', p, (q) => q.view_profile === lo);
    const b = find('yaw', p, (q) => q.view_profile === hi);
    if (a.detected && b.detected && b.yaw! > a.yaw!) yawOrdered++;
  }

  const tones = of('skintone').filter((x) => x.j.detected);
  const tLo = PROBE_TONES[0];
  const tHi = PROBE_TONES[PROBE_TONES.length - 1];
  let toneOrdered = 0;
  for (let p = 0; p < probeSeeds; p++) {
    const a = find('skintone', p, (q) => q.skintone === tLo);
    const b = find('skintone', p, (q) => q.skintone === tHi);
    if (a.detected && b.detected && b.skinLightness! < a.skinLightness!) toneOrdered++;
  }

  return {
    expression: {
      n: moods.length,
      detected_rate: rate(moods.filter((x) => x.j.detected).length, moods.length),
      happy_neutral_accuracy: rate(hn.filter((x) => x.j.topExpression === x.it.params.mood).length, hn.length),
      happy_neutral_n: hn.length,
      paired_happier_rate: rate(pairedHappy, probeSeeds),
      per_mood,
    },
    yaw: {
      n: of('yaw').length,
      judged: yaws.length,
      requested: PROBE_YAWS,
      r: pearson(yaws.map((x) => x.it.params.view_profile), yaws.map((x) => x.j.yaw!)),
      slope: slope(yaws.map((x) => x.it.params.view_profile), yaws.map((x) => x.j.yaw!)),
      ordered_rate: rate(yawOrdered, probeSeeds),
      mean_by_requested: PROBE_YAWS.map((y) => ({ requested: y, mean: mean(yaws.filter((x) => x.it.params.view_profile === y).map((x) => x.j.yaw!)) })),
    },
    skintone: {
      n: of('skintone').length,
      judged: tones.length,
      requested: PROBE_TONES,
      r_lightness: pearson(tones.map((x) => x.it.params.skintone), tones.map((x) => x.j.skinLightness!)),
      r_ita_tone: pearson(tones.map((x) => x.it.params.skintone), tones.map((x) => x.j.skinTone!)),
      ordered_rate: rate(toneOrdered, probeSeeds),
      mean_lightness_by_requested: PROBE_TONES.map((t) => ({ requested: t, mean: mean(tones.filter((x) => x.it.params.skintone === t).map((x) => x.j.skinLightness!)) })),
    },
  };
}

export function realMetrics(real: RealItem[], js: Judgement[]) {
  const of = (src: RealItem['source']) => real.map((r, i) => ({ r, j: js[i] })).filter((x) => x.r.source === src);
  const summary = (xs: { r: RealItem; j: Judgement }[]) => {
    const det = xs.filter((x) => x.j.detected);
    const withAge = det.filter((x) => x.r.age !== undefined);
    // Every pair of photos shows two different people: the rate the judge calls them different
    // is the ceiling to read "different seeds: different people" against.
    let pairs = 0;
    let different = 0;
    for (let a = 0; a < xs.length; a++) {
      for (let b = a + 1; b < xs.length; b++) {
        pairs++;
        const r = samePair(xs[a].j, xs[b].j);
        if (r.judged && r.dist >= SAME_PERSON_DISTANCE) different++;
      }
    }
    return {
      n: xs.length,
      detected_rate: rate(det.length, xs.length),
      gender_agreement: rate(det.filter((x) => x.j.gender === x.r.gender).length, xs.length),
      age_mae: withAge.length ? mean(withAge.map((x) => Math.abs(x.j.age! - x.r.age!))) : null,
      different_people_rate: rate(different, pairs),
    };
  };
  return { utkface: summary(of('utkface')), celebahq: summary(of('celebahq')) };
}

export type GridMetrics = ReturnType<typeof gridMetrics>;
export type IdentityMetrics = ReturnType<typeof identityMetrics>;
export type ProbeMetrics = ReturnType<typeof probeMetrics>;
export type AttributeIdentityMetrics = ReturnType<typeof attributeIdentityMetrics>;
export type ChildrenMetrics = ReturnType<typeof childrenMetrics>;
export type RealMetrics = ReturnType<typeof realMetrics>;
