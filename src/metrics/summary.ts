// All monitors of one evaluation in one call: per-query values from the samples, then the mean over
// queries with a bootstrap CI for each. Keys are the paper's metric names with K and S left symbolic
// (the summary carries k and s); callers namespace them (`eval/pass@k`).

import { deriveSeed } from '../util/rng.js';
import { bootstrapCI, type Interval } from './aggregate.js';
import { distinctEquations } from './diversity.js';
import { MetricError } from './errors.js';
import { passAtK, passAtKS } from './passAtK.js';
import { bestOfK, rewardAtKS } from './reward.js';

export interface EvalQuery {
  queryId: string;
  /** n ≥ K sampled responses with reward and verdict. */
  samples: readonly { text: string; reward: number; correct: boolean }[];
  /** The greedy (T = 0) response's verdict, for Pass@1; omitted when not evaluated. */
  greedyCorrect?: boolean;
}

export const MONITORS = ['pass@1', 'pass@k', 'pass@k-s', 'best-of-k', 'reward@k-s', 'distinct-equations'] as const;
export type Monitor = (typeof MONITORS)[number];

/** Per-query monitor values; null where undefined for the query (no greedy, no correct response). */
export type QueryMonitors = { queryId: string; n: number; c: number } & Record<Monitor, number | null>;

export interface MonitorOptions {
  k: number;
  s: number;
  /** The task's equations(); distinct equations is null without it. */
  equations?: (text: string) => readonly string[];
}

/**
 * The monitors of one query.
 * Example: queryMonitors({queryId: 'q', samples: [right 0.9, wrong 0.5], greedyCorrect: true}, {k: 1, s: 1})
 *   → {n: 2, c: 1, 'pass@1': 1, 'pass@k': 0.5, 'pass@k-s': 0.5, 'best-of-k': 0.5, 'reward@k-s': 0.5, ...}.
 */
export function queryMonitors(q: EvalQuery, opts: MonitorOptions): QueryMonitors {
  const n = q.samples.length;
  if (n < opts.k) throw new MetricError('queryMonitors', `query "${q.queryId}" samples`, `at least K = ${opts.k}`, n);
  const c = q.samples.filter((x) => x.correct).length;
  return {
    queryId: q.queryId,
    n,
    c,
    'pass@1': q.greedyCorrect === undefined ? null : q.greedyCorrect ? 1 : 0,
    'pass@k': passAtK(n, c, opts.k),
    'pass@k-s': passAtKS(n, c, opts.k, opts.s),
    'best-of-k': bestOfK(q.samples, opts.k),
    'reward@k-s': rewardAtKS(q.samples, opts.k, opts.s),
    'distinct-equations': opts.equations ? distinctEquations(q.samples, opts.equations) : null,
  };
}

export interface MonitorSummary {
  k: number;
  s: number;
  queries: number;
  /** Mean over queries with a value, and its bootstrap CI; null when no query has a value. */
  metrics: Record<Monitor, Interval | null>;
  perQuery: QueryMonitors[];
}

/** Monitors of every query, averaged with seeded bootstrap CIs (one derived stream per metric). */
export function summarizeMonitors(
  queries: readonly EvalQuery[],
  opts: MonitorOptions & { seed: number; level?: number; resamples?: number },
): MonitorSummary {
  const perQuery = queries.map((q) => queryMonitors(q, opts));
  const metrics = {} as Record<Monitor, Interval | null>;
  MONITORS.forEach((m) => {
    // Each metric resamples with its own stream so adding a metric never shifts another's CI.
    metrics[m] = bootstrapCI(perQuery.map((q) => q[m]), { seed: deriveSeed(opts.seed, 'monitor', m), level: opts.level, resamples: opts.resamples });
  });
  return { k: opts.k, s: opts.s, queries: queries.length, metrics, perQuery };
}
