import { test } from 'node:test';
import assert from 'node:assert/strict';
import { passAtK, passAtKS } from '../../src/metrics/passAtK.js';
import { MetricError } from '../../src/metrics/errors.js';
import { chooseBig, ratio, subsets } from './brute.js';

/** Fraction of K-subsets of n samples (the first c correct) with at least S correct. */
function bruteAtLeast(n: number, c: number, k: number, s: number): number {
  const all = subsets(n, k);
  return all.filter((sub) => sub.filter((i) => i < c).length >= s).length / all.length;
}

test('passAtK and passAtKS equal brute-force enumeration of every K-subset (n ≤ 9)', () => {
  for (let n = 1; n <= 9; n++)
    for (let c = 0; c <= n; c++)
      for (let k = 1; k <= n; k++) {
        const want1 = bruteAtLeast(n, c, k, 1);
        assert.ok(Math.abs(passAtK(n, c, k) - want1) < 1e-12, `passAtK(${n},${c},${k})`);
        for (let s = 0; s <= k; s++) {
          const got = passAtKS(n, c, k, s);
          assert.ok(Math.abs(got - bruteAtLeast(n, c, k, s)) < 1e-12, `passAtKS(${n},${c},${k},${s}) = ${got}`);
        }
      }
});

test('hand-computed values', () => {
  assert.equal(passAtK(4, 1, 2), 0.5); // 1 − C(3,2)/C(4,2) = 1 − 3/6
  assert.ok(Math.abs(passAtKS(4, 2, 2, 2) - 1 / 6) < 1e-15);
  assert.ok(Math.abs(passAtKS(5, 3, 3, 2) - 7 / 10) < 1e-15); // (C(3,2)·C(2,1) + C(3,3))/C(5,3) = 7/10
});

test('edge cases: c = 0, c = n, K = n', () => {
  assert.equal(passAtK(64, 0, 32), 0);
  assert.equal(passAtKS(64, 0, 32, 4), 0);
  assert.equal(passAtK(64, 64, 32), 1);
  assert.ok(Math.abs(passAtKS(64, 64, 32, 32) - 1) < 1e-12);
  assert.equal(passAtK(5, 1, 5), 1); // K = n: the one subset holds the correct one
  assert.ok(Math.abs(passAtKS(5, 3, 5, 3) - 1) < 1e-12);
  assert.equal(passAtKS(5, 3, 5, 4), 0);
});

test('large n stays exact against BigInt rationals (paper scale K = 32, S = 4)', () => {
  for (const [n, c] of [[64, 1], [64, 7], [64, 40], [200, 3], [1000, 17]] as const) {
    const total = chooseBig(n, 32);
    const want = 1 - ratio(chooseBig(n - c, 32), total);
    assert.ok(Math.abs(passAtK(n, c, 32) - want) < 1e-12, `passAtK(${n},${c},32)`);
    let tail = 0n;
    for (let j = 4; j <= Math.min(c, 32); j++) tail += chooseBig(c, j) * chooseBig(n - c, 32 - j);
    assert.ok(Math.abs(passAtKS(n, c, 32, 4) - ratio(tail, total)) < 1e-11, `passAtKS(${n},${c},32,4)`);
  }
});

test('S = 1 is Pass@K', () => {
  for (const [n, c, k] of [[10, 3, 4], [64, 5, 32], [7, 7, 7]] as const) {
    assert.ok(Math.abs(passAtKS(n, c, k, 1) - passAtK(n, c, k)) < 1e-12);
  }
});

test('bad input is a MetricError naming the argument', () => {
  assert.throws(() => passAtKS(8, 2, 4, 5), (e: unknown) => e instanceof MetricError && /S must be an integer in \[0, K=4\], found 5/.test(e.message));
  assert.throws(() => passAtK(4, 1, 5), (e: unknown) => e instanceof MetricError && /K must be an integer in \[1, 4\], found 5/.test(e.message));
  assert.throws(() => passAtK(4, 5, 2), (e: unknown) => e instanceof MetricError && /c \(correct\)/.test(e.message));
  assert.throws(() => passAtK(0, 0, 1), MetricError);
  assert.throws(() => passAtK(4.5, 1, 2), MetricError);
});
