// Statistics of an experiment (methods × seeds) from the per-query evaluation values of its runs
// (iterations/<i>/eval.json perQuery): a two-level bootstrap over seeds and test queries for a
// method's mean monitor, and a paired one for the difference of two methods (paired by seed and
// query id). Pure: the run dirs are read in experimentReport.ts.
import { bootstrapCIGrouped, type Interval } from '../metrics/aggregate.js';
import { MetricError } from '../metrics/errors.js';

/** One run's per-query values of one monitor at one iteration (null: undefined for that query). */
export interface SeedValues {
  seed: number;
  values: ReadonlyMap<string, number | null>;
}

export interface CiOptions {
  level: number;
  resamples: number;
  seed: number;
}

/**
 * Mean over seeds of the per-seed mean over queries, with a two-level bootstrap CI (resample seeds,
 * then queries within each drawn seed). Null when no seed has a value.
 * Example: seedQueryCI([{seed: 0, values: {a: 1, b: 0}}, {seed: 1, values: {a: 1, b: 1}}]) → mean 0.75.
 */
export function seedQueryCI(runs: readonly SeedValues[], o: CiOptions): Interval | null {
  return bootstrapCIGrouped(runs.map((r) => [...r.values.values()]), o);
}

export interface PairedDifference {
  /** Mean over common seeds of the mean over common queries of a − b. */
  mean: number;
  lo: number;
  hi: number;
  level: number;
  /** Seeds run by both methods (with at least one query valued by both). */
  seeds: number[];
  /** Query pairs over all those seeds. */
  pairs: number;
  /** 'beyond': the CI excludes 0, the methods differ beyond the CI; 'within': it contains 0. */
  verdict: 'beyond' | 'within';
}

/**
 * Per common seed, the differences a − b over the queries both value (by query id), in a's query
 * order; seeds in ascending order. A seed run twice by one method is an error (pairing is ambiguous).
 */
export function pairedDifferences(a: readonly SeedValues[], b: readonly SeedValues[]): { seed: number; diffs: number[] }[] {
  const bySeed = (xs: readonly SeedValues[], side: string) => {
    const m = new Map<number, SeedValues>();
    for (const x of xs) {
      if (m.has(x.seed)) throw new MetricError('pairedDifferences', `${side} seed ${x.seed}`, 'one run per seed', 'two');
      m.set(x.seed, x);
    }
    return m;
  };
  const ma = bySeed(a, 'a');
  const mb = bySeed(b, 'b');
  const out: { seed: number; diffs: number[] }[] = [];
  for (const seed of [...ma.keys()].filter((s) => mb.has(s)).sort((x, y) => x - y)) {
    const vb = mb.get(seed)!.values;
    const diffs: number[] = [];
    for (const [q, va] of ma.get(seed)!.values) {
      const w = vb.get(q);
      if (va !== null && w !== undefined && w !== null) diffs.push(va - w);
    }
    if (diffs.length) out.push({ seed, diffs });
  }
  return out;
}

/**
 * Paired two-level bootstrap CI of the difference a − b (seeds, then queries within a seed, resampled
 * as pairs), and whether it excludes 0. Null when the methods share no seed and query.
 * Example: b = a − 0.25 on every query of every seed → {mean: 0.25, lo: 0.25, hi: 0.25, verdict: 'beyond'}.
 */
export function pairedDifferenceCI(a: readonly SeedValues[], b: readonly SeedValues[], o: CiOptions): PairedDifference | null {
  const groups = pairedDifferences(a, b);
  const ci = bootstrapCIGrouped(groups.map((g) => g.diffs), o);
  if (!ci) return null;
  return {
    mean: ci.mean,
    lo: ci.lo,
    hi: ci.hi,
    level: ci.level,
    seeds: groups.map((g) => g.seed),
    pairs: groups.reduce((n, g) => n + g.diffs.length, 0),
    verdict: ci.lo > 0 || ci.hi < 0 ? 'beyond' : 'within',
  };
}

/** The plain statement of a paired difference, e.g. "bstar − online-rft …: differ beyond the 90 % CI". */
export function differenceStatement(a: string, b: string, what: string, d: PairedDifference | null): string {
  if (!d) return `${a} vs ${b} (${what}): no common seed and query to compare`;
  const pct = `${+(d.level * 100).toFixed(2)} %`;
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  const head = `${a} − ${b}, ${what}: ${sign(d.mean)} [${sign(d.lo)}, ${sign(d.hi)}] (${pct} CI over ${d.seeds.length} seed${d.seeds.length === 1 ? '' : 's'} × queries, ${d.pairs} pairs)`;
  return d.verdict === 'beyond'
    ? `${head}: differ beyond the ${pct} CI (${d.mean > 0 ? a : b} higher)`
    : `${head}: within the ${pct} CI (no difference shown)`;
}
