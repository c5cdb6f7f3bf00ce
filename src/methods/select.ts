// Selection (paper §2.1 step 2, §3.1): from each query's scored samples keep those with reward > τ,
// drop duplicates, cap per query, and measure the query effect of what was kept. Pure and
// deterministic: candidates are ranked by reward (highest first, ties in sample order, an injected gold
// solution last among its ties), so a cap keeps the best-rewarded ones.
//
// Paper behaviour is the default. The authors' code differs in named options (see docs/algorithm.md):
//   selection: 'fixed-size'  the smallest shared per-query cap k in 1..maxCap whose selection holds
//                            ≥ targetSize samples (official `find_rewardbase`)
//   capBeforeDedup: true     cap first, then drop duplicates (duplicates use up cap slots)
//   gold + goldReward        the gold solution joins every pool with a fixed reward (official: 1.0)
//   emptyQueries: 'exclude'  queries with nothing selected are left out of the mean query effect

import type { Sample } from '../util/sample.js';
import { queryEffect } from '../metrics/queryEffect.js';

export type UniqueBy = 'text' | 'equations';

/** Bad selection input: names the field, what was expected and what was found. */
export class SelectionError extends RangeError {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly found: unknown,
  ) {
    super(`select: ${field} must be ${expected}, found ${typeof found === 'string' ? JSON.stringify(found) : String(found)}`);
    this.name = 'SelectionError';
  }
}

export interface PoolOptions {
  /** What makes two responses the same (default 'text': the exact completion string). */
  uniqueBy?: UniqueBy;
  /** Normalised equations of a text; required for uniqueBy 'equations' (the task's equations()). */
  equations?: (text: string) => readonly string[];
  /** Gold solution text per query id, injected into each pool when given (official `injectGold`). */
  gold?: ReadonlyMap<string, string>;
  /** Reward the injected gold solution carries (official: 1.0). */
  goldReward?: number;
}

export interface SelectOptions {
  /** τ: keep samples with reward strictly greater. */
  threshold: number;
  /** n*: wanted correct responses per query (resolve with resolveNStar). */
  nStar: number;
  /** 'threshold' (paper) or 'fixed-size' (official). */
  selection?: 'threshold' | 'fixed-size';
  /** At most this many per query in 'threshold' mode; null = no cap (default). */
  perQueryCap?: number | null;
  /** 'fixed-size': wanted total selection size. */
  targetSize?: number;
  /** 'fixed-size': largest per-query cap tried (official: 64). */
  maxCap?: number;
  /** Cap before removing duplicates (official) instead of after (default false). */
  capBeforeDedup?: boolean;
  /** Whether queries with nothing selected count as qe = 0 ('zero', paper) or are left out ('exclude', official). */
  emptyQueries?: 'zero' | 'exclude';
}

interface Candidate {
  sample: Sample;
  key: string;
  /** First occurrence of its key in rank order. */
  firstOfKey: boolean;
}

/** One query's candidates, ranked; built once and reused for every τ of a search. */
export interface RankedPool {
  queryId: string;
  candidates: Candidate[];
  /** Sampled responses that are correct (gold excluded): 0 means the query gives no signal. */
  correctSampled: number;
  sampled: number;
  /** uniquePrefix[i]: distinct keys among the first i candidates. */
  uniquePrefix: Int32Array;
}

export interface QuerySelection {
  queryId: string;
  /** Candidates in the pool (gold included when injected). */
  pool: number;
  /** Candidates with reward > τ. */
  aboveThreshold: number;
  /** n: responses selected. */
  selected: number;
  /** n': unique correct responses among the selected. */
  uniqueCorrect: number;
  queryEffect: number;
  /** No sampled response is correct. */
  zeroSignal: boolean;
  goldSelected: boolean;
}

export interface Selection {
  samples: Sample[];
  perQuery: QuerySelection[];
  /** The per-query cap applied (the fixed-size k, perQueryCap, or null for none). */
  cap: number | null;
  /** Mean query effect over the queries (see emptyQueries); 0 when no query counts. */
  meanQueryEffect: number;
  zeroSignalQueries: number;
  /** Queries with nothing selected. */
  emptyQueries: number;
}

function keyOf(sample: Sample, opts: PoolOptions): string {
  if ((opts.uniqueBy ?? 'text') === 'text') return sample.text;
  return JSON.stringify(opts.equations!(sample.text));
}

/**
 * Groups samples by query (in `queryIds` order, queries without samples included) and ranks each pool.
 * Example: rankPools(['q1'], samples, {}) → [{queryId: 'q1', candidates: best reward first, ...}].
 */
export function rankPools(queryIds: readonly string[], samples: readonly Sample[], opts: PoolOptions = {}): RankedPool[] {
  const uniqueBy = opts.uniqueBy ?? 'text';
  if (uniqueBy !== 'text' && uniqueBy !== 'equations') throw new SelectionError('uniqueBy', '"text" or "equations"', uniqueBy);
  if (uniqueBy === 'equations' && typeof opts.equations !== 'function') {
    throw new SelectionError('equations', 'a function (the task has no equations(); use uniqueBy "text")', opts.equations);
  }
  const goldReward = opts.goldReward ?? 1;
  if (!Number.isFinite(goldReward)) throw new SelectionError('goldReward', 'a finite number', goldReward);
  const byQuery = new Map<string, Sample[]>();
  for (const id of queryIds) {
    if (byQuery.has(id)) throw new SelectionError('queryIds', 'unique ids', `"${id}" twice`);
    byQuery.set(id, []);
  }
  samples.forEach((s, i) => {
    const pool = byQuery.get(s.queryId);
    if (!pool) throw new SelectionError(`samples[${i}].queryId`, 'one of the queried ids', s.queryId);
    if (typeof s.reward !== 'number' || Number.isNaN(s.reward)) throw new SelectionError(`samples[${i}].reward`, 'a number', s.reward);
    pool.push(s);
  });
  return queryIds.map((queryId) => {
    const sampled = byQuery.get(queryId)!;
    const pool = [...sampled];
    const goldText = opts.gold?.get(queryId);
    if (opts.gold && goldText === undefined) throw new SelectionError(`gold["${queryId}"]`, 'a gold solution text', undefined);
    if (goldText !== undefined) {
      pool.push({
        id: `gold/${queryId}`,
        queryId,
        iteration: sampled[0]?.iteration ?? 0,
        temperature: 0,
        text: goldText,
        tokens: 0,
        logprob: 0,
        answer: null,
        correct: true,
        reward: goldReward,
        gold: true,
      });
    }
    // Array.prototype.sort is stable: equal rewards keep sample order, gold last.
    pool.sort((a, b) => b.reward - a.reward);
    const seen = new Set<string>();
    const candidates = pool.map((sample) => {
      const key = keyOf(sample, opts);
      const firstOfKey = !seen.has(key);
      seen.add(key);
      return { sample, key, firstOfKey };
    });
    const uniquePrefix = new Int32Array(candidates.length + 1);
    candidates.forEach((c, i) => (uniquePrefix[i + 1] = uniquePrefix[i] + (c.firstOfKey ? 1 : 0)));
    return { queryId, candidates, correctSampled: sampled.filter((s) => s.correct).length, sampled: sampled.length, uniquePrefix };
  });
}

/** Candidates above τ form a prefix of the ranked pool. */
function aboveCount(pool: RankedPool, threshold: number): number {
  let n = 0;
  while (n < pool.candidates.length && pool.candidates[n].sample.reward > threshold) n++;
  return n;
}

/**
 * The selected candidates of one pool: the first `above` ranked ones, deduplicated, capped. A key's
 * first occurrence in rank order lies inside a prefix whenever any occurrence does, so deduplicating
 * a prefix is keeping its `firstOfKey` candidates.
 */
function pick(pool: RankedPool, above: number, cap: number, capBeforeDedup: boolean): Candidate[] {
  const out: Candidate[] = [];
  const limit = capBeforeDedup ? Math.min(above, cap) : above;
  for (let i = 0; i < limit && out.length < cap; i++) if (pool.candidates[i].firstOfKey) out.push(pool.candidates[i]);
  return out;
}

/** Selection size at a shared cap k, without building it (for the fixed-size search over k). */
function sizeAtCap(pools: readonly RankedPool[], above: readonly number[], k: number, capBeforeDedup: boolean): number {
  let total = 0;
  pools.forEach((pool, q) => {
    total += capBeforeDedup ? pool.uniquePrefix[Math.min(above[q], k)] : Math.min(pool.uniquePrefix[above[q]], k);
  });
  return total;
}

function checkPositiveInt(field: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 1) throw new SelectionError(field, 'an integer ≥ 1', x);
  return x;
}

/**
 * Selects from ranked pools at threshold τ and measures each query's effect.
 * Example: a query with rewards [1.3 right, 1.3 right (same text), 0.2 wrong, 1.1 right], τ = 0.5,
 * n* = 4 → selects 2 unique (1.3, 1.1), n = 2, n' = 2, qe = min(2/4, 1)·2/2 = 0.5.
 */
export function selectRanked(pools: readonly RankedPool[], opts: SelectOptions): Selection {
  const mode = opts.selection ?? 'threshold';
  if (typeof opts.threshold !== 'number' || Number.isNaN(opts.threshold)) throw new SelectionError('threshold', 'a number', opts.threshold);
  if (mode !== 'threshold' && mode !== 'fixed-size') throw new SelectionError('selection', '"threshold" or "fixed-size"', mode);
  const capBeforeDedup = opts.capBeforeDedup ?? false;
  const above = pools.map((p) => aboveCount(p, opts.threshold));
  let cap: number | null;
  if (mode === 'fixed-size') {
    const target = checkPositiveInt('targetSize', opts.targetSize);
    const maxCap = checkPositiveInt('maxCap', opts.maxCap ?? 64);
    cap = maxCap;
    for (let k = 1; k <= maxCap; k++) {
      if (sizeAtCap(pools, above, k, capBeforeDedup) >= target) {
        cap = k;
        break;
      }
    }
  } else {
    cap = opts.perQueryCap == null ? null : checkPositiveInt('perQueryCap', opts.perQueryCap);
  }
  const samples: Sample[] = [];
  const perQuery = pools.map((pool, q): QuerySelection => {
    const kept = pick(pool, above[q], cap ?? Infinity, capBeforeDedup);
    for (const c of kept) samples.push(c.sample);
    const uniqueCorrect = kept.filter((c) => c.sample.correct).length; // kept is duplicate-free
    return {
      queryId: pool.queryId,
      pool: pool.candidates.length,
      aboveThreshold: above[q],
      selected: kept.length,
      uniqueCorrect,
      queryEffect: queryEffect(kept.length, uniqueCorrect, opts.nStar),
      zeroSignal: pool.correctSampled === 0,
      goldSelected: kept.some((c) => c.sample.gold === true),
    };
  });
  const counted = (opts.emptyQueries ?? 'zero') === 'exclude' ? perQuery.filter((q) => q.selected > 0) : perQuery;
  const meanQueryEffect = counted.length === 0 ? 0 : counted.reduce((s, q) => s + q.queryEffect, 0) / counted.length;
  return {
    samples,
    perQuery,
    cap,
    meanQueryEffect,
    zeroSignalQueries: perQuery.filter((q) => q.zeroSignal).length,
    emptyQueries: perQuery.filter((q) => q.selected === 0).length,
  };
}

/** rankPools + selectRanked in one call. */
export function select(queryIds: readonly string[], samples: readonly Sample[], opts: SelectOptions & PoolOptions): Selection {
  return selectRanked(rankPools(queryIds, samples, opts), opts);
}
