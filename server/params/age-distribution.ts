/**
 * Random ages follow the world population's age structure: UN World Population Prospects
 * 2022, estimates for 2020, both sexes, share of the population in each five-year band
 * (percent, rounded). The API's range ends at 80, so the open 80+ band is given to age 80
 * with the weight of one single year of the 75–79 band.
 */
const BANDS_PERCENT: ReadonlyArray<[from: number, to: number, percent: number]> = [
  [0, 4, 8.6],
  [5, 9, 8.5],
  [10, 14, 8.2],
  [15, 19, 7.8],
  [20, 24, 7.6],
  [25, 29, 7.7],
  [30, 34, 7.9],
  [35, 39, 7.3],
  [40, 44, 6.6],
  [45, 49, 6.1],
  [50, 54, 5.7],
  [55, 59, 5.0],
  [60, 64, 4.2],
  [65, 69, 3.6],
  [70, 74, 2.7],
  [75, 79, 1.8],
];

/** Weight of each single year 0..80 (index = age). */
export const AGE_WEIGHTS: readonly number[] = (() => {
  const w = new Array<number>(81).fill(0);
  for (const [from, to, pct] of BANDS_PERCENT) {
    for (let a = from; a <= to; a++) w[a] = pct / (to - from + 1);
  }
  w[80] = w[79];
  return w;
})();
