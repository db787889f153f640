import { EXPRESSIONS, type Expression } from './judge';

/** The API's five moods, in the order the evaluation reports them. */
export const MOODS = ['neutral', 'happy', 'sad', 'angry', 'surprised'] as const;
export type Mood = (typeof MOODS)[number];

/**
 * face-api's seven expressions onto the API's five moods. Five map to themselves. "fearful"
 * goes to surprised: both are raised brows, wide eyes and an open mouth (FACS AU1+2+5+26), and
 * face-api confuses the two on posed photos. "disgusted" goes to angry: both are lowered brows
 * and a tightened mouth (AU4 with AU9/10 or AU23), and neither is a mood the API can ask for.
 */
export const EXPRESSION_TO_MOOD: Record<Expression, Mood> = {
  neutral: 'neutral',
  happy: 'happy',
  sad: 'sad',
  angry: 'angry',
  surprised: 'surprised',
  fearful: 'surprised',
  disgusted: 'angry',
};

/**
 * The judge's mood: its expression probabilities summed into the five moods, then the largest.
 * Summing (rather than mapping the top expression) lets fearful + surprised outvote a slightly
 * larger neutral, as one "surprised" reading split over two classes should.
 */
export function judgedMood(expressions: Record<Expression, number> | undefined): Mood | undefined {
  if (!expressions) return undefined;
  const p = Object.fromEntries(MOODS.map((m) => [m, 0])) as Record<Mood, number>;
  for (const e of EXPRESSIONS) p[EXPRESSION_TO_MOOD[e]] += expressions[e] ?? 0;
  return MOODS.reduce((a, b) => (p[b] > p[a] ? b : a));
}

/**
 * 5-way accuracy: the share of faces whose judged mood is the requested one, per mood and over
 * all. An undetected face has no judged mood and counts as wrong.
 */
export function moodAccuracy(faces: Array<{ requested: Mood; expressions?: Record<Expression, number> }>) {
  const hit = (f: (typeof faces)[number]) => judgedMood(f.expressions) === f.requested;
  const per_mood = Object.fromEntries(
    MOODS.map((m) => {
      const sel = faces.filter((f) => f.requested === m);
      return [m, { n: sel.length, accuracy: sel.length ? sel.filter(hit).length / sel.length : NaN }];
    }),
  ) as Record<Mood, { n: number; accuracy: number }>;
  const confusion = Object.fromEntries(MOODS.map((m) => [m, Object.fromEntries([...MOODS, 'undetected'].map((k) => [k, 0]))])) as Record<Mood, Record<string, number>>;
  for (const f of faces) confusion[f.requested][judgedMood(f.expressions) ?? 'undetected']++;
  return { n: faces.length, accuracy: faces.length ? faces.filter(hit).length / faces.length : NaN, per_mood, confusion };
}
