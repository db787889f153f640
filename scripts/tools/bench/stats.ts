/** Order statistics and the number formats of BENCHMARKS.md. */

export interface Stats {
  n: number;
  p50: number;
  p95: number;
  mean: number;
  min: number;
}
export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return { n: s.length, p50: at(0.5), p95: at(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0] };
}
export const median = (xs: number[]) => stats(xs).p50;
export function ms(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return Math.abs(x) < 10 ? x.toFixed(2) : Math.abs(x) < 100 ? x.toFixed(1) : x.toFixed(0);
}
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function verdict(value: number, target: number, unit: string, lowerIsBetter = true): string {
  const met = lowerIsBetter ? value <= target : value >= target;
  const diff = value - target;
  const pct = target !== 0 ? ` (${((value / target) * 100).toFixed(0)}% of target)` : '';
  return met ? `**met** — ${ms(Math.abs(diff))} ${unit} under${pct}` : `**missed** — by ${ms(Math.abs(diff))} ${unit}${pct}`;
}

/** The q-quantile (0..1) of xs, nearest rank. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
