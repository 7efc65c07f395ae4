// Small statistics for comparing methods across seeds: mean and sample standard deviation, and a
// paired bootstrap confidence interval of a mean difference. The resampling units are test documents
// pooled over seeds; the bootstrap resamples documents within each seed (stratified), so every
// replicate keeps each seed's share of documents, and uses the seeded PRNG (camels/data/rng.ts), so
// the same inputs give the same interval.

import { Prng } from './data/rng.js';

export interface MeanSd {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single value, NaN for none. */
  sd: number;
  n: number;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

export function meanSd(xs: readonly number[]): MeanSd {
  const m = mean(xs);
  if (xs.length < 2) return { mean: m, sd: xs.length === 1 ? 0 : NaN, n: xs.length };
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return { mean: m, sd: Math.sqrt(ss / (xs.length - 1)), n: xs.length };
}

/** The q-quantile (0 ≤ q ≤ 1) of sorted values, linear interpolation between order statistics (numpy's default). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface PairedDiff {
  /** Mean over units of (a − b). */
  diff: number;
  /** Percentile bootstrap interval [lo, hi] of that mean. */
  ci95: [number, number];
  /** Units (documents) in the comparison. */
  n: number;
}

/**
 * Paired bootstrap of mean(a − b). `groups[g]` holds the units of one stratum (one seed's test
 * documents) as pairs [a, b]; each replicate draws, in every stratum, as many units as it has, with
 * replacement, and takes the mean difference over all drawn units. 95% percentile interval.
 */
export function pairedBootstrap(groups: readonly (readonly [number, number])[][], opts: { replicates?: number; seed?: number; level?: number } = {}): PairedDiff {
  const reps = opts.replicates ?? 10000;
  const level = opts.level ?? 0.95;
  const diffs = groups.map((g) => g.map(([a, b]) => a - b));
  const all = diffs.flat();
  if (all.length === 0) return { diff: NaN, ci95: [NaN, NaN], n: 0 };
  const rng = new Prng(opts.seed ?? 12345);
  const stats = new Float64Array(reps);
  for (let r = 0; r < reps; r++) {
    let s = 0;
    for (const d of diffs) for (let i = 0; i < d.length; i++) s += d[rng.nextInt(d.length)]!;
    stats[r] = s / all.length;
  }
  const sorted = Array.from(stats).sort((x, y) => x - y);
  const alpha = (1 - level) / 2;
  return { diff: mean(all), ci95: [quantileSorted(sorted, alpha), quantileSorted(sorted, 1 - alpha)], n: all.length };
}
