import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapCI, bootstrapCIGrouped, meanOf, quantile } from '../../src/metrics/aggregate.js';
import { MetricError } from '../../src/metrics/errors.js';
import { Rng } from '../../src/util/rng.js';

test('meanOf skips nulls; quantile interpolates', () => {
  assert.equal(meanOf([1, null, 0]), 0.5);
  assert.equal(meanOf([null]), null);
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.equal(quantile([7], 0.9), 7);
});

test('bootstrap CI: seeded, deterministic, brackets the mean, zero width for constant data', () => {
  const rng = new Rng(3);
  const xs = Array.from({ length: 200 }, () => rng.float());
  const a = bootstrapCI(xs, { seed: 1 })!;
  const b = bootstrapCI(xs, { seed: 1 })!;
  assert.deepEqual(a, b);
  assert.notDeepEqual(bootstrapCI(xs, { seed: 2 }), a);
  assert.ok(a.lo < a.mean && a.mean < a.hi);
  assert.equal(a.count, 200);
  const c = bootstrapCI([0.5, 0.5, 0.5], { seed: 1 })!;
  assert.equal(c.lo, 0.5);
  assert.equal(c.hi, 0.5);
  assert.equal(bootstrapCI([null, null], { seed: 1 }), null);
});

test('bootstrap 90% CI half-width matches the normal approximation 1.645·sd/√n', () => {
  const rng = new Rng(5);
  const n = 400;
  const xs = Array.from({ length: n }, () => rng.normal());
  const m = xs.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
  const ci = bootstrapCI(xs, { seed: 9, resamples: 4000 })!;
  const half = (ci.hi - ci.lo) / 2;
  const want = (1.6449 * sd) / Math.sqrt(n);
  assert.ok(Math.abs(half - want) / want < 0.1, `half-width ${half} vs ${want}`);
  // Nominal coverage: wider for 0.99 than for 0.9.
  const wide = bootstrapCI(xs, { seed: 9, resamples: 4000, level: 0.99 })!;
  assert.ok(wide.hi - wide.lo > ci.hi - ci.lo);
});

test('grouped bootstrap over seeds and queries is wider than within one seed when seeds disagree', () => {
  const rng = new Rng(8);
  const groups = [0.2, 0.5, 0.8].map((mu) => Array.from({ length: 100 }, () => mu + 0.05 * rng.normal()));
  const ci = bootstrapCIGrouped(groups, { seed: 4 })!;
  assert.ok(Math.abs(ci.mean - (meanOf(groups[0])! + meanOf(groups[1])! + meanOf(groups[2])!) / 3) < 1e-12);
  assert.equal(ci.count, 3);
  const pooled = bootstrapCI(groups.flat(), { seed: 4 })!;
  assert.ok(ci.hi - ci.lo > 3 * (pooled.hi - pooled.lo), `${ci.hi - ci.lo} vs ${pooled.hi - pooled.lo}`);
  assert.deepEqual(bootstrapCIGrouped(groups, { seed: 4 }), ci);
});

test('bad options are MetricErrors', () => {
  assert.throws(() => bootstrapCI([1], { seed: 1, level: 1.5 }), (e: unknown) => e instanceof MetricError && /level must be in \(0, 1\), found 1.5/.test(e.message));
  assert.throws(() => bootstrapCI([1], { seed: 1, resamples: 0 }), MetricError);
  assert.throws(() => bootstrapCI([1], { seed: 0.5 }), MetricError);
});
