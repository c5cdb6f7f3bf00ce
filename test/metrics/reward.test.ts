import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestOfK, rewardAtKS } from '../../src/metrics/reward.js';
import { MetricError } from '../../src/metrics/errors.js';
import { Rng } from '../../src/util/rng.js';
import type { Scored } from '../../src/util/sample.js';
import { permutations, subsets } from './brute.js';

/**
 * Reference: average over every ranking consistent with the rewards (ties in every order, equally
 * likely) and every K-subset of whether the subset's first S in that ranking are all correct.
 */
function bruteRewardAtKS(rs: Scored[], k: number, s: number): number {
  const orders = permutations(rs.length).filter((p) => p.every((x, i) => i === 0 || rs[p[i - 1]].reward >= rs[x].reward));
  let hits = 0;
  let total = 0;
  for (const order of orders) {
    const rank = new Map(order.map((x, i) => [x, i]));
    for (const sub of subsets(rs.length, k)) {
      const top = [...sub].sort((a, b) => rank.get(a)! - rank.get(b)!).slice(0, s);
      hits += top.every((i) => rs[i].correct) ? 1 : 0;
      total++;
    }
  }
  return hits / total;
}

function randomCase(rng: Rng, n: number): Scored[] {
  const levels = [-0.5, 0, 0.5, 1, 1.5];
  return Array.from({ length: n }, () => ({ reward: levels[rng.int(levels.length)], correct: rng.int(2) === 1 }));
}

test('bestOfK and rewardAtKS equal brute force over every subset and tie order (random cases, n ≤ 6)', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 60; trial++) {
    const n = 1 + rng.int(6);
    const rs = randomCase(rng, n);
    for (let k = 1; k <= n; k++) {
      const b = bestOfK(rs, k);
      assert.ok(Math.abs(b - bruteRewardAtKS(rs, k, 1)) < 1e-12, `bestOfK ${JSON.stringify(rs)} K=${k}: ${b}`);
      for (let s = 1; s <= k; s++) {
        const got = rewardAtKS(rs, k, s);
        const want = bruteRewardAtKS(rs, k, s);
        assert.ok(Math.abs(got - want) < 1e-12, `rewardAtKS ${JSON.stringify(rs)} K=${k} S=${s}: ${got} vs ${want}`);
      }
    }
  }
});

test('hand-computed cases', () => {
  const r = (reward: number, correct: boolean): Scored => ({ reward, correct });
  // 0.9 wrong, 0.5 right, 0.1 right; K = 2: only the subset {0.5, 0.1} has a correct best.
  assert.ok(Math.abs(bestOfK([r(0.9, false), r(0.5, true), r(0.1, true)], 2) - 1 / 3) < 1e-15);
  // K = 3, S = 2: the top two are {right, wrong}.
  assert.equal(rewardAtKS([r(0.9, true), r(0.5, false), r(0.1, true)], 3, 2), 0);
  // A top tie between a right and a wrong response, K = n = 2: half a success.
  assert.ok(Math.abs(bestOfK([r(1, true), r(1, false)], 2) - 0.5) < 1e-15);
  // The same tie, S = 2: both must be correct → 0; K = 1 → 1/2.
  assert.equal(rewardAtKS([r(1, true), r(1, false)], 2, 2), 0);
  assert.ok(Math.abs(rewardAtKS([r(1, true), r(1, false)], 1, 1) - 0.5) < 1e-15);
});

test('K = 1 is the fraction correct; all correct → 1; none correct → 0; order of input is irrelevant', () => {
  const rng = new Rng(11);
  const rs = randomCase(rng, 40);
  const frac = rs.filter((x) => x.correct).length / rs.length;
  assert.ok(Math.abs(bestOfK(rs, 1) - frac) < 1e-12);
  assert.ok(Math.abs(rewardAtKS(rs, 1, 1) - frac) < 1e-12);
  const right = rs.map((x) => ({ ...x, correct: true }));
  assert.ok(Math.abs(rewardAtKS(right, 32, 4) - 1) < 1e-12);
  assert.equal(rewardAtKS(rs.map((x) => ({ ...x, correct: false })), 32, 4), 0);
  const shuffled = rng.shuffle([...rs]);
  assert.ok(Math.abs(rewardAtKS(shuffled, 16, 3) - rewardAtKS(rs, 16, 3)) < 1e-12);
  assert.ok(Math.abs(bestOfK(rs, 16) - rewardAtKS(rs, 16, 1)) < 1e-12);
});

test('a reward that ranks correct first makes Reward@K-S equal Pass@K-S-like all-correct odds', () => {
  // Correct responses all scored above wrong ones: the top S are all correct iff the subset holds ≥ S
  // correct responses, i.e. Reward@K-S = Pass@K-S.
  const rs: Scored[] = [...Array(10)].map((_, i) => ({ reward: i < 4 ? 2 - i * 0.1 : -i, correct: i < 4 }));
  const all = subsets(10, 5);
  for (let s = 1; s <= 5; s++) {
    const want = all.filter((sub) => sub.filter((i) => i < 4).length >= s).length / all.length;
    assert.ok(Math.abs(rewardAtKS(rs, 5, s) - want) < 1e-12);
  }
});

test('bad input is a MetricError', () => {
  const rs: Scored[] = [{ reward: 1, correct: true }, { reward: 0, correct: false }];
  assert.throws(() => rewardAtKS(rs, 2, 3), (e: unknown) => e instanceof MetricError && /S must be an integer in \[1, K=2\], found 3/.test(e.message));
  assert.throws(() => bestOfK(rs, 3), (e: unknown) => e instanceof MetricError && /K must be/.test(e.message));
  assert.throws(() => bestOfK([], 1), MetricError);
  assert.throws(() => bestOfK([{ reward: NaN, correct: true }], 1), (e: unknown) => e instanceof MetricError && /responses\[0\]\.reward/.test(e.message));
});

test('n = 12 with distinct rewards: every K-subset enumerated', () => {
  const rng = new Rng(13);
  for (let trial = 0; trial < 5; trial++) {
    const rs: Scored[] = rng.shuffle(Array.from({ length: 12 }, (_, i) => i)).map((r) => ({ reward: r / 7, correct: rng.int(3) > 0 }));
    for (const [k, s] of [[6, 1], [6, 3], [8, 4], [12, 5]] as const) {
      const subs = subsets(12, k);
      const hits = subs.filter((sub) => [...sub].sort((a, b) => rs[b].reward - rs[a].reward).slice(0, s).every((i) => rs[i].correct)).length;
      assert.ok(Math.abs(rewardAtKS(rs, k, s) - hits / subs.length) < 1e-12, `K=${k} S=${s}`);
    }
  }
});
