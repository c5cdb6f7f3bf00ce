// Best-of-K on held-out queries: the PRM's pick (highest min-step score) against majority vote over
// the final answers and a random pick, from the same candidate pools. PRM and random use the exact
// closed form over K-subsets (metrics/bestOfK); majority vote is averaged over seeded random
// K-subsets (ties between answers broken at random; a candidate without an answer does not vote).
import { bestOfK } from '../../metrics/reward.js';
import { passAtK } from '../../metrics/passAtK.js';
import { Rng, deriveSeed } from '../../util/rng.js';

export interface Candidate {
  answer: string | null;
  correct: boolean;
  /** min over steps of P(good). */
  prmMin: number;
}

export interface BestOfKRow {
  k: number;
  queries: number;
  prm: number;
  majority: number;
  random: number;
  passAtK: number;
}

/** P(majority answer of a random K-subset is correct), Monte Carlo over `draws` subsets. */
export function majorityAtK(pool: readonly Candidate[], k: number, rng: Rng, draws: number): number {
  let ok = 0;
  const idx = pool.map((_, i) => i);
  for (let d = 0; d < draws; d++) {
    // partial Fisher–Yates: the first k of idx are a uniform K-subset
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(idx.length - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    const votes = new Map<string, { n: number; correct: boolean }>();
    for (let i = 0; i < k; i++) {
      const c = pool[idx[i]];
      if (c.answer === null) continue;
      const v = votes.get(c.answer) ?? { n: 0, correct: c.correct };
      v.n++;
      votes.set(c.answer, v);
    }
    if (votes.size === 0) {
      if (pool[idx[rng.int(k)]].correct) ok++;
      continue;
    }
    const best = Math.max(...[...votes.values()].map((v) => v.n));
    const top = [...votes.values()].filter((v) => v.n === best);
    if (top[rng.int(top.length)].correct) ok++;
  }
  return ok / draws;
}

/** Mean over queries with at least K candidates. */
export function bestOfKTable(pools: ReadonlyMap<string, Candidate[]>, ks: readonly number[], seed: number, draws = 400): BestOfKRow[] {
  return ks.map((k) => {
    const rng = new Rng(deriveSeed(seed, 'majority', k));
    let prm = 0, maj = 0, rnd = 0, pass = 0, n = 0;
    for (const pool of pools.values()) {
      if (pool.length < k) continue;
      n++;
      prm += bestOfK(pool.map((c) => ({ reward: c.prmMin, correct: c.correct })), k);
      rnd += bestOfK(pool.map((c) => ({ reward: 0, correct: c.correct })), k);
      maj += majorityAtK(pool, k, rng, draws);
      pass += passAtK(pool.length, pool.filter((c) => c.correct).length, k);
    }
    const d = n || NaN;
    return { k, queries: n, prm: prm / d, majority: maj / d, random: rnd / d, passAtK: pass / d };
  });
}
