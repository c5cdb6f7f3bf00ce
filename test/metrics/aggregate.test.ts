import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapCI, bootstrapCIGrouped, groupedBootstrapStats, meanOf, quantile } from '../../src/metrics/aggregate.js';
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

test('grouped bootstrap resamples match the exact two-level distribution (brute-force enumeration)', () => {
  // 2 seeds × 2 queries: a resample draws 2 seeds (4 ways), then 2 queries within each drawn seed
  // (4 ways each): 64 equally likely outcomes.
  const gs = [
    [0, 1],
    [1, 1],
  ];
  const exact = new Map<number, number>();
  for (const s1 of [0, 1]) for (const s2 of [0, 1]) {
    for (const a of [0, 1]) for (const b of [0, 1]) for (const c of [0, 1]) for (const d of [0, 1]) {
      const t = ((gs[s1][a] + gs[s1][b]) / 2 + (gs[s2][c] + gs[s2][d]) / 2) / 2;
      exact.set(t, (exact.get(t) ?? 0) + 1 / 64);
    }
  }
  const n = 40000;
  const stats = groupedBootstrapStats(gs, n, new Rng(11));
  const freq = new Map<number, number>();
  for (const t of stats) freq.set(t, (freq.get(t) ?? 0) + 1 / n);
  assert.deepEqual([...freq.keys()].sort(), [...exact.keys()].sort());
  for (const [t, p] of exact) assert.ok(Math.abs(freq.get(t)! - p) < 4 * Math.sqrt((p * (1 - p)) / n), `P(T=${t}): ${freq.get(t)} vs exact ${p}`);
  // the CI is the percentile interval of exactly these resamples
  const ci = bootstrapCIGrouped(gs, { seed: 11, resamples: n })!;
  const sorted = [...stats].sort((x, y) => x - y);
  assert.equal(ci.lo, quantile(sorted, 0.05));
  assert.equal(ci.hi, quantile(sorted, 0.95));
  assert.equal(ci.mean, 0.75);
});

test('grouped bootstrap variance matches the two-level formula; degenerate cases have zero width', () => {
  // Var(T) = [mean_g σ²_g / n_g + mean_g (μ_g − μ̄)²] / S for S groups (σ² the population variance)
  const rng = new Rng(21);
  const gs = [0.3, 0.5, 0.6, 0.9].map((p) => Array.from({ length: 30 }, (): number => (rng.float() < p ? 1 : 0)));
  const mu = gs.map((g) => g.reduce((a, b) => a + b, 0) / g.length);
  const sig2 = gs.map((g, i) => g.reduce((a, x) => a + (x - mu[i]) ** 2, 0) / g.length);
  const mbar = mu.reduce((a, b) => a + b, 0) / mu.length;
  const want = (sig2.reduce((a, v, i) => a + v / gs[i].length, 0) / gs.length + mu.reduce((a, m) => a + (m - mbar) ** 2, 0) / gs.length) / gs.length;
  const st = groupedBootstrapStats(gs, 20000, new Rng(3));
  const m = st.reduce((a, b) => a + b, 0) / st.length;
  const v = st.reduce((a, x) => a + (x - m) ** 2, 0) / (st.length - 1);
  assert.ok(Math.abs(m - mbar) < 0.005, `mean ${m} vs ${mbar}`);
  assert.ok(Math.abs(v - want) / want < 0.05, `variance ${v} vs ${want}`);
  // every seed and query equal: every resample equals the mean
  const flat = bootstrapCIGrouped([[0.4, 0.4], [0.4, 0.4, 0.4]], { seed: 1 })!;
  for (const x of [flat.lo, flat.mean, flat.hi]) assert.ok(Math.abs(x - 0.4) < 1e-15, `${x}`);
  assert.ok(flat.hi - flat.lo < 1e-15);
  // one seed, one query per seed: no variation either
  const one = bootstrapCIGrouped([[1], [1], [1, null]], { seed: 1 })!;
  assert.deepEqual([one.lo, one.hi, one.count], [1, 1, 3]);
  assert.equal(bootstrapCIGrouped([[null], []], { seed: 1 }), null);
});
