// Exploitation monitors (paper §2.2): Best-of-K and Reward@K-S. Given n ≥ K scored responses to one
// query, draw a uniformly random K-subset, rank it by reward and ask whether the top response
// (Best-of-K) or all of the top S (Reward@K-S) are correct. Both are computed exactly (no Monte Carlo)
// by order statistics over the responses sorted by reward.
//
// Ties: responses with equal reward are ranked in a uniformly random order, and the metric is the
// expectation over that order too — so a tie between a correct and a wrong response at the top counts
// as half a success, and the result does not depend on the order the responses were given in.

import type { Scored } from '../util/sample.js';
import { chooseRatio, logChoose } from './combinatorics.js';
import { checkInt, MetricError } from './errors.js';

interface TieGroup {
  /** Responses with this reward. */
  size: number;
  /** How many of them are correct. */
  correct: number;
  /** Responses ranked strictly above this group. */
  above: number;
  /** Correct responses ranked strictly above this group. */
  correctAbove: number;
}

/** Responses grouped by equal reward, best first. */
function tieGroups(metric: string, responses: readonly Scored[]): TieGroup[] {
  responses.forEach((r, i) => {
    if (typeof r.reward !== 'number' || Number.isNaN(r.reward)) {
      throw new MetricError(metric, `responses[${i}].reward`, 'a number', r.reward);
    }
  });
  const sorted = [...responses].sort((a, b) => b.reward - a.reward);
  const groups: TieGroup[] = [];
  let above = 0;
  let correctAbove = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    let correct = 0;
    while (j < sorted.length && sorted[j].reward === sorted[i].reward) correct += sorted[j++].correct ? 1 : 0;
    groups.push({ size: j - i, correct, above, correctAbove });
    above += j - i;
    correctAbove += correct;
    i = j;
  }
  return groups;
}

/**
 * Best-of-K: probability that the highest-reward response of a random K-subset is correct.
 * Closed form: Σ_g (c_g/m_g)·[C(n−A_g, K) − C(n−A_g−m_g, K)]/C(n, K) over tie groups g (size m_g,
 * c_g correct, A_g responses above): the bracket counts subsets whose best group is g, and a random
 * member of g drawn into the subset is correct with probability c_g/m_g.
 * Example: rewards [0.9 wrong, 0.5 right, 0.1 right], K = 2 → subsets {0.9,·}×2 fail, {0.5,0.1} wins: 1/3.
 */
export function bestOfK(responses: readonly Scored[], k: number): number {
  const n = responses.length;
  checkInt('bestOfK', 'n (responses)', n, 1, Number.MAX_SAFE_INTEGER);
  checkInt('bestOfK', 'K', k, 1, n);
  let p = 0;
  for (const g of tieGroups('bestOfK', responses)) {
    if (g.correct === 0) continue;
    const topIsG = chooseRatio(n - g.above, n, k) - chooseRatio(n - g.above - g.size, n, k);
    p += (g.correct / g.size) * topIsG;
  }
  return p;
}

/**
 * Reward@K-S: probability that the S highest-reward responses of a random K-subset are all correct
 * (Best-of-K is S = 1). For a fixed ranking, a subset succeeds iff its S-th best member, at rank p, is
 * correct and its S−1 better members are correct ones ranked above p: Σ_p [p correct]·C(ĉ(p), S−1)·
 * C(n−p, K−S)/C(n, K), with ĉ(p) the correct responses above p. Inside a tie group the correct ones sit
 * at random places, so each rank t of a group (size m, c correct) is averaged over the hypergeometric
 * count u of correct ones before it: P(t correct, u before) = C(t−1, u)·C(m−t, c−1−u)/C(m, c).
 * Example: rewards [0.9 right, 0.5 wrong, 0.1 right], K = 3, S = 2 → top two are {right, wrong}: 0.
 */
export function rewardAtKS(responses: readonly Scored[], k: number, s: number): number {
  const n = responses.length;
  checkInt('rewardAtKS', 'n (responses)', n, 1, Number.MAX_SAFE_INTEGER);
  checkInt('rewardAtKS', 'K', k, 1, n);
  if (!Number.isInteger(s) || s < 1 || s > k) throw new MetricError('rewardAtKS', 'S', `an integer in [1, K=${k}]`, s);
  const logTotal = logChoose(n, k);
  let p = 0;
  for (const g of tieGroups('rewardAtKS', responses)) {
    const m = g.size;
    const c = g.correct;
    if (c === 0) continue;
    const logArrangements = logChoose(m, c);
    for (let t = 1; t <= m; t++) {
      const logRest = logChoose(n - g.above - t, k - s);
      if (logRest === -Infinity) continue;
      for (let u = Math.max(0, c - 1 - (m - t)); u <= Math.min(t - 1, c - 1); u++) {
        const logBetter = logChoose(g.correctAbove + u, s - 1);
        if (logBetter === -Infinity) continue;
        const logPlace = logChoose(t - 1, u) + logChoose(m - t, c - 1 - u) - logArrangements;
        p += Math.exp(logPlace + logBetter + logRest - logTotal);
      }
    }
  }
  return Math.min(1, p); // guard against rounding only: the terms are disjoint events
}
