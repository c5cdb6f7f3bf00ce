// Averages over queries and seeded bootstrap confidence intervals (percentile method). Per-query values
// may be null (e.g. distinct equations of a query with no correct response): those are left out.

import { Rng } from '../util/rng.js';
import { MetricError } from './errors.js';

/** Mean of the non-null values; null when there are none. Example: meanOf([1, null, 0]) = 0.5. */
export function meanOf(values: readonly (number | null)[]): number | null {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (v === null) continue;
    sum += v;
    count++;
  }
  return count === 0 ? null : sum / count;
}

/** Linear-interpolation quantile (R type 7) of an ascending array. Example: quantile([0, 10], 0.25) = 2.5. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new MetricError('quantile', 'values', 'non-empty', 'an empty array');
  if (!(q >= 0 && q <= 1)) throw new MetricError('quantile', 'q', 'in [0, 1]', q);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export interface BootstrapOptions {
  /** Coverage of the interval (default 0.9: the paper-style 90 % CI). */
  level?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Seed of the resampling stream (required: every random choice comes from a seed). */
  seed: number;
}

export interface Interval {
  /** The plain mean of the data (not of the resamples). */
  mean: number;
  lo: number;
  hi: number;
  level: number;
  /** Units averaged: queries (or seeds) with a value. */
  count: number;
}

function checkOptions(o: BootstrapOptions): { level: number; resamples: number } {
  const level = o.level ?? 0.9;
  const resamples = o.resamples ?? 2000;
  if (!(level > 0 && level < 1)) throw new MetricError('bootstrapCI', 'level', 'in (0, 1)', level);
  if (!Number.isInteger(resamples) || resamples < 1) throw new MetricError('bootstrapCI', 'resamples', 'an integer ≥ 1', resamples);
  if (!Number.isInteger(o.seed)) throw new MetricError('bootstrapCI', 'seed', 'an integer', o.seed);
  return { level, resamples };
}

function interval(mean: number, stats: number[], level: number, count: number): Interval {
  stats.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { mean, lo: quantile(stats, alpha), hi: quantile(stats, 1 - alpha), level, count };
}

/**
 * Percentile-bootstrap CI of the mean over units (queries, or per-seed means): resample the non-null
 * values with replacement `resamples` times. Null when there is no value.
 * Example: bootstrapCI([0, 1, 1, 0], {seed: 1}) → {mean: 0.5, lo: 0, hi: 1, level: 0.9, count: 4} (4 values: wide).
 */
export function bootstrapCI(values: readonly (number | null)[], opts: BootstrapOptions): Interval | null {
  const { level, resamples } = checkOptions(opts);
  const xs = values.filter((v): v is number => v !== null);
  if (xs.length === 0) return null;
  const rng = new Rng(opts.seed);
  const stats = new Array<number>(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < xs.length; i++) sum += xs[rng.int(xs.length)];
    stats[b] = sum / xs.length;
  }
  return interval(meanOf(xs)!, stats, level, xs.length);
}

/**
 * Two-level bootstrap over seeds and queries: `groups[s]` holds the per-query values of seed s. Each
 * resample draws seeds with replacement, then queries with replacement within each drawn seed, and
 * averages the per-seed means — the CI covers both run-to-run and query-sampling variation.
 * The point estimate is the mean of the per-seed means. Null when no seed has a value.
 */
export function bootstrapCIGrouped(groups: readonly (readonly (number | null)[])[], opts: BootstrapOptions): Interval | null {
  const { level, resamples } = checkOptions(opts);
  const gs = groups.map((g) => g.filter((v): v is number => v !== null)).filter((g) => g.length > 0);
  if (gs.length === 0) return null;
  const stats = groupedBootstrapStats(gs, resamples, new Rng(opts.seed));
  return interval(meanOf(gs.map((g) => meanOf(g)))!, stats, level, gs.length);
}

/**
 * The resampled statistics of bootstrapCIGrouped (non-empty groups of numbers): per resample, draw
 * groups.length groups with replacement, then each drawn group's own size of values with replacement
 * from it, and average the drawn groups' means. Exposed for tests against the exact distribution.
 */
export function groupedBootstrapStats(gs: readonly (readonly number[])[], resamples: number, rng: Rng): number[] {
  const stats = new Array<number>(resamples);
  for (let b = 0; b < resamples; b++) {
    let total = 0;
    for (let s = 0; s < gs.length; s++) {
      const g = gs[rng.int(gs.length)];
      let sum = 0;
      for (let i = 0; i < g.length; i++) sum += g[rng.int(g.length)];
      total += sum / g.length;
    }
    stats[b] = total / gs.length;
  }
  return stats;
}
