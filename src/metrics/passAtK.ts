// Exploration monitors (paper §2.2): Pass@K and Pass@K-S with the unbiased estimators over n ≥ K
// samples of which c are correct — the probability that a uniformly random K-subset of the n samples
// holds at least 1 (Pass@K) or at least S (Pass@K-S) correct responses.

import { chooseRatio, logChoose } from './combinatorics.js';
import { checkInt, MetricError } from './errors.js';

function checkCounts(metric: string, n: number, c: number, k: number): void {
  checkInt(metric, 'n (samples)', n, 1, Number.MAX_SAFE_INTEGER);
  checkInt(metric, 'c (correct)', c, 0, n);
  checkInt(metric, 'K', k, 1, n);
}

/**
 * Pass@K = 1 − C(n−c, K)/C(n, K), computed as 1 − Π_{i<K} (n−c−i)/(n−i) (stable for large n).
 * Example: passAtK(4, 1, 2) = 1 − C(3,2)/C(4,2) = 1 − 3/6 = 0.5.
 */
export function passAtK(n: number, c: number, k: number): number {
  checkCounts('passAtK', n, c, k);
  return 1 - chooseRatio(n - c, n, k);
}

/**
 * Pass@K-S = Σ_{j=S}^{min(c,K)} C(c, j)·C(n−c, K−j)/C(n, K): the hypergeometric upper tail. S = 1 is
 * Pass@K; S = 0 is 1. S > K is an error (no K-subset can hold more than K correct).
 * Example: passAtKS(4, 2, 2, 2) = C(2,2)·C(2,0)/C(4,2) = 1/6.
 */
export function passAtKS(n: number, c: number, k: number, s: number): number {
  checkCounts('passAtKS', n, c, k);
  if (!Number.isInteger(s) || s < 0 || s > k) throw new MetricError('passAtKS', 'S', `an integer in [0, K=${k}]`, s);
  const logTotal = logChoose(n, k);
  let p = 0;
  for (let j = s; j <= Math.min(c, k); j++) {
    if (k - j > n - c) continue; // C(n−c, K−j) = 0
    p += Math.exp(logChoose(c, j) + logChoose(n - c, k - j) - logTotal);
  }
  // Only floating-point rounding can push the sum of pmf terms past 1.
  return Math.min(1, p);
}
