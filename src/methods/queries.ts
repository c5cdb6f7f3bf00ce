// Which queries each iteration works on. Pure functions of (ids, sizes, iteration, seed), so a resumed
// run recomputes exactly the same plan without saving it:
//   devSubset          the fixed dev subset of training queries the B-STaR search scores every iteration
//   iterationQueries   M queries per iteration, walking seeded per-epoch shuffles of the training pool
//                      (every query once per epoch; an iteration may straddle two epochs)
//   refillQueries      extra queries replacing zero-signal ones (selection.zeroSignalRefill)

import { deriveSeed, Rng } from '../util/rng.js';

/** A query plan that cannot be made: names the argument, expected and found. */
export class QueryPlanError extends RangeError {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly found: unknown,
  ) {
    super(`query plan: ${field} must be ${expected}, found ${String(found)}`);
    this.name = 'QueryPlanError';
  }
}

function checkIds(queryIds: readonly string[]): void {
  if (new Set(queryIds).size !== queryIds.length) throw new QueryPlanError('queryIds', 'unique', 'duplicates');
}

function checkCount(field: string, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new QueryPlanError(field, `an integer in [0, ${max}] (the pool size)`, n);
}

/** A seeded permutation of the ids for one purpose. */
function shuffled(queryIds: readonly string[], seed: number, ...keys: (string | number)[]): string[] {
  return new Rng(deriveSeed(seed, ...keys)).shuffle([...queryIds]);
}

/**
 * The fixed dev subset: `size` ids drawn without replacement, in pool order. The same every iteration
 * (paper §3.3: 600 MATH training queries). Example: devSubset(['a', 'b', 'c', 'd'], 2, 0) → 2 of them.
 */
export function devSubset(queryIds: readonly string[], size: number, seed: number): string[] {
  checkIds(queryIds);
  checkCount('devSize', size, queryIds.length);
  const chosen = new Set(shuffled(queryIds, seed, 'dev').slice(0, size));
  return queryIds.filter((id) => chosen.has(id));
}

/**
 * The M queries of iteration i (1-based): positions (i−1)·M … i·M−1 of the concatenated epoch
 * shuffles, epoch e being a seeded permutation of the pool. With M = pool size each iteration is one
 * fresh permutation of the whole pool (the paper's MATH setup). The M queries are always distinct: an
 * iteration that straddles two epochs skips the next epoch's repeats of queries it already holds and
 * takes the positions after i·M instead (those queries come one iteration early; the next iteration
 * may then see them again).
 * Example: iterationQueries(ids, 3, 1, 0) and iterationQueries(ids, 3, 2, 0) are disjoint when ids.length ≥ 6.
 */
export function iterationQueries(queryIds: readonly string[], m: number, iteration: number, seed: number): string[] {
  checkIds(queryIds);
  const p = queryIds.length;
  if (p === 0) throw new QueryPlanError('queryIds', 'non-empty', 'an empty pool');
  if (!Number.isInteger(m) || m < 1 || m > p) throw new QueryPlanError('queriesPerIteration (M)', `an integer in [1, ${p}] (the pool size)`, m);
  if (!Number.isInteger(iteration) || iteration < 1) throw new QueryPlanError('iteration', 'an integer ≥ 1', iteration);
  const out: string[] = [];
  const taken = new Set<string>();
  let epoch = -1;
  let order: string[] = [];
  // At most two epochs are touched: M ≤ p, and the second epoch alone holds every missing id.
  for (let pos = (iteration - 1) * m; out.length < m; pos++) {
    const e = Math.floor(pos / p);
    if (e !== epoch) (epoch = e), (order = shuffled(queryIds, seed, 'epoch', e));
    const id = order[pos - e * p];
    if (!taken.has(id)) (taken.add(id), out.push(id));
  }
  return out;
}

/**
 * Up to `count` replacement queries for iteration i, drawn from the pool minus `exclude` (this
 * iteration's queries) by a seeded per-iteration stream. Fewer come back when the pool runs out.
 * Example: refillQueries(ids, new Set(iterationQueries(ids, 4, 1, 0)), 2, 1, 0) → 2 ids not in that iteration.
 */
export function refillQueries(queryIds: readonly string[], exclude: ReadonlySet<string>, count: number, iteration: number, seed: number): string[] {
  checkIds(queryIds);
  if (!Number.isInteger(count) || count < 0) throw new QueryPlanError('refill count', 'an integer ≥ 0', count);
  if (!Number.isInteger(iteration) || iteration < 1) throw new QueryPlanError('iteration', 'an integer ≥ 1', iteration);
  return shuffled(queryIds, seed, 'refill', iteration)
    .filter((id) => !exclude.has(id))
    .slice(0, count);
}
