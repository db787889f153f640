import { canonicalQuery } from '../../server/params/resolve';
import type { Judgement } from './judge';
import { samePerson, type GenItem } from './metrics';
import { mcnemarExact, mean, pairedDifference } from './stats';

/** One judged face as eval.json (and check-grid's output) keeps it. */
export interface FaceRecord {
  set: string;
  chain?: number;
  query: string;
  judgement: { detected: boolean; age?: number; gender?: string };
}

/** Each face's request and verdict, without the 128 descriptor values, which would dwarf the rest of eval.json. */
export function faceRecords(items: GenItem[], js: Judgement[]) {
  return items.map((it, i) => {
    const { descriptor: _d, ...judgement } = js[i];
    return { set: it.set, chain: it.chain, probe: it.probe, query: canonicalQuery(it.params), judgement };
  });
}

/**
 * Two models' grid faces judged on the same queries, paired face by face: the age error of each
 * face both detect, as a difference (now - base) per face and per seed. States of one run differ
 * by a year or two of age MAE on 200 faces, so only a paired difference tells drift from noise;
 * the per-seed one counts each person once, as the five ages of one seed are not independent.
 */
export function pairedGridAges(base: FaceRecord[], now: FaceRecord[]) {
  const baseBy = new Map(base.filter((f) => f.set === 'grid').map((f) => [f.query, f]));
  const pairs = now
    .filter((f) => f.set === 'grid' && baseBy.has(f.query))
    .map((f) => ({ chain: f.chain, age: Number(new URLSearchParams(f.query).get('age')), base: baseBy.get(f.query)!.judgement, now: f.judgement }));
  const both = pairs.filter((p) => p.base.detected && p.now.detected);
  const err = (j: FaceRecord['judgement'], age: number) => j.age! - age;
  const diffs = both.map((p) => Math.abs(err(p.now, p.age)) - Math.abs(err(p.base, p.age)));
  const chains = [...new Set(both.map((p) => p.chain))];
  const bySeed = chains.map((c) => mean(both.flatMap((p, i) => (p.chain === c ? [diffs[i]] : []))));
  const ages = [...new Set(pairs.map((p) => p.age))].sort((a, b) => a - b);
  return {
    matched: pairs.length,
    both_detected: both.length,
    age_mae_base: mean(both.map((p) => Math.abs(err(p.base, p.age)))),
    age_mae_now: mean(both.map((p) => Math.abs(err(p.now, p.age)))),
    per_face: pairedDifference(diffs),
    per_seed: pairedDifference(bySeed),
    by_age: Object.fromEntries(ages.map((age) => {
      const s = both.filter((p) => p.age === age);
      return [age, { n: s.length, bias_base: mean(s.map((p) => err(p.base, age))), bias_now: mean(s.map((p) => err(p.now, age))) }];
    })) as Record<number, { n: number; bias_base: number; bias_now: number }>,
  };
}

/**
 * Two models' verdicts on one grid (same items, judged by each): per seed, whether its faces at
 * ages a1 and a2 are judged one person, and McNemar's exact p over the seeds only one model keeps.
 * A pair with an undetected face fails, as in identityMetrics.
 */
export function pairedAgeIdentity(items: GenItem[], base: Judgement[], now: Judgement[], a1: number, a2: number) {
  const at = (js: Judgement[], chain: number, age: number) => js[items.findIndex((it) => it.set === 'grid' && it.chain === chain && it.params.age === age)];
  const chains = [...new Set(items.filter((it) => it.set === 'grid').map((it) => it.chain!))];
  const same = (js: Judgement[], c: number) => samePerson(at(js, c, a1), at(js, c, a2));
  const b = chains.map((c) => same(base, c));
  const n = chains.map((c) => same(now, c));
  const onlyBase = b.filter((v, i) => v && !n[i]).length;
  const onlyNow = n.filter((v, i) => v && !b[i]).length;
  return { seeds: chains.length, same_base: b.filter(Boolean).length, same_now: n.filter(Boolean).length, only_base: onlyBase, only_now: onlyNow, p: mcnemarExact(onlyBase, onlyNow) };
}
