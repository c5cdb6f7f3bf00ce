// Query effect (paper §3.1, eq. 2): the balance of exploration and exploitation for one query.

import { MetricError } from './errors.js';

/**
 * qe = min(n'/n*, 1) · n'/n with n responses selected for the query, n' unique correct among them and n*
 * the wanted number of correct responses per query; 0 when nothing is selected.
 * Example: queryEffect(4, 2, 8) = (2/8)·(2/4) = 0.125; queryEffect(10, 9, 8) = 1·0.9 = 0.9.
 */
export function queryEffect(nSelected: number, nUniqueCorrect: number, nStar: number): number {
  if (!Number.isInteger(nSelected) || nSelected < 0) throw new MetricError('queryEffect', 'n (selected)', 'an integer ≥ 0', nSelected);
  if (!Number.isInteger(nUniqueCorrect) || nUniqueCorrect < 0 || nUniqueCorrect > nSelected) {
    throw new MetricError('queryEffect', "n' (unique correct)", `an integer in [0, n=${nSelected}]`, nUniqueCorrect);
  }
  if (!(nStar > 0) || !Number.isFinite(nStar)) throw new MetricError('queryEffect', 'n*', 'a finite number > 0', nStar);
  if (nSelected === 0) return 0;
  return Math.min(nUniqueCorrect / nStar, 1) * (nUniqueCorrect / nSelected);
}

/** n* = ceil(N/M) (paper §3.1) or a fixed number (the official code uses 8). */
export function resolveNStar(nStar: 'ceil(N/M)' | number, targetSamples: number, queriesPerIteration: number): number {
  if (nStar !== 'ceil(N/M)') {
    if (!(nStar > 0) || !Number.isFinite(nStar)) throw new MetricError('resolveNStar', 'nStar', 'a finite number > 0', nStar);
    return nStar;
  }
  if (!Number.isInteger(targetSamples) || targetSamples < 1) throw new MetricError('resolveNStar', 'N (target samples)', 'an integer ≥ 1', targetSamples);
  if (!Number.isInteger(queriesPerIteration) || queriesPerIteration < 1) {
    throw new MetricError('resolveNStar', 'M (queries per iteration)', 'an integer ≥ 1', queriesPerIteration);
  }
  return Math.ceil(targetSamples / queriesPerIteration);
}
