import { identityMetrics, realMetrics, type GenItem, type RealItem } from '../scripts/eval/metrics';
import type { Judgement } from '../scripts/eval/judge';
import type { ResolvedParams } from '../server/params/schema';

/**
 * The identity numbers decide whether issue 3 passes, so their bookkeeping is checked on
 * hand-made descriptors whose distances are known: a point on axis k at length r.
 */
function judged(axis: number, length = 1, detected = true): Judgement {
  const descriptor = new Float32Array(128);
  descriptor[axis] = length;
  return { detected, score: detected ? 0.9 : 0, descriptor };
}

function gridItem(chain: number, age: number, gender: 'male' | 'female'): GenItem {
  return { set: 'grid', chain, params: { age, gender, ethnicity: 'european' } as ResolvedParams };
}

describe('identityMetrics', () => {
  it('counts different seeds per age, and an undetected face as a failed pair', () => {
    const items: GenItem[] = [];
    const js: Judgement[] = [];
    // Chain 0 and 1 are far apart (distance sqrt 2) at every age except 70, where chain 1 is
    // undetected; chain 2 sits on chain 0's point (distance 0) at age 20 only.
    for (const age of [20, 35, 50, 70]) {
      items.push(gridItem(0, age, 'male'), gridItem(1, age, 'male'), gridItem(2, age, 'female'));
      js.push(judged(0), judged(1, 1, age !== 70), age === 20 ? judged(0) : judged(2));
    }
    const m = identityMetrics(items, js);
    const byAge = Object.fromEntries(m.different_seeds_by_age.map((a) => [a.age, a]));
    expect(byAge[20]).toEqual({ age: 20, rate: 2 / 3, pairs: 3 });
    expect(byAge[35].rate).toBe(1);
    expect(byAge[70].rate).toBeCloseTo(1 / 3);
    expect(m.different_seeds_pairs).toBe(12);
    expect(m.different_seeds_rate).toBeCloseTo((2 + 3 + 3 + 1) / 12);
  });
});

describe('realMetrics', () => {
  it('rates real pairs as different people only when both faces are found and far apart', () => {
    const real: RealItem[] = [0, 1, 2, 3].map((i) => ({ source: 'celebahq', file: `${i}.jpg`, half: 0, gender: 'female' }));
    // 6 pairs: 0-1 far, 0-2 same point, 1-2 far, and every pair with the undetected 3 fails.
    const m = realMetrics(real, [judged(0), judged(1), judged(0), judged(3, 1, false)]);
    expect(m.celebahq.different_people_rate).toBeCloseTo(2 / 6);
    expect(Number.isNaN(m.utkface.different_people_rate)).toBe(true);
  });
});
