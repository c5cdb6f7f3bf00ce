import { test } from 'node:test';
import assert from 'node:assert/strict';
import { queryMonitors, summarizeMonitors, MONITORS } from '../../src/metrics/summary.js';
import { passAtK, passAtKS } from '../../src/metrics/passAtK.js';
import { bestOfK, rewardAtKS } from '../../src/metrics/reward.js';
import { MetricError } from '../../src/metrics/errors.js';
import { Rng } from '../../src/util/rng.js';

test('queryMonitors: the doc example by hand', () => {
  const m = queryMonitors({ queryId: 'q', samples: [{ text: 'a', reward: 0.9, correct: true }, { text: 'b', reward: 0.5, correct: false }], greedyCorrect: true }, { k: 1, s: 1 });
  assert.deepEqual(m, { queryId: 'q', n: 2, c: 1, 'pass@1': 1, 'pass@k': 0.5, 'pass@k-s': 0.5, 'best-of-k': 0.5, 'reward@k-s': 0.5, 'distinct-equations': null });
  assert.throws(() => queryMonitors({ queryId: 'q7', samples: [] }, { k: 2, s: 1 }), (e: unknown) => e instanceof MetricError && /query "q7" samples must be at least K = 2, found 0/.test(e.message));
});

test('summarizeMonitors: means of the per-query estimators, nulls skipped, CIs seeded', () => {
  const rng = new Rng(2);
  const queries = Array.from({ length: 30 }, (_, i) => ({
    queryId: `q${i}`,
    samples: Array.from({ length: 12 }, () => ({ text: `x=${rng.int(4)}`, reward: rng.float(), correct: rng.float() < 0.3 })),
    greedyCorrect: i % 3 === 0 ? undefined : rng.int(2) === 1,
  }));
  const eqs = (t: string) => [t];
  const sum = summarizeMonitors(queries, { k: 8, s: 2, equations: eqs, seed: 5, resamples: 500 });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  const cs = queries.map((q) => q.samples.filter((x) => x.correct).length);
  close(sum.metrics['pass@k']!.mean, mean(cs.map((c) => passAtK(12, c, 8))));
  close(sum.metrics['pass@k-s']!.mean, mean(cs.map((c) => passAtKS(12, c, 8, 2))));
  close(sum.metrics['best-of-k']!.mean, mean(queries.map((q) => bestOfK(q.samples, 8))));
  close(sum.metrics['reward@k-s']!.mean, mean(queries.map((q) => rewardAtKS(q.samples, 8, 2))));
  const greedy = queries.filter((q) => q.greedyCorrect !== undefined);
  assert.equal(sum.metrics['pass@1']!.count, greedy.length);
  close(sum.metrics['pass@1']!.mean, mean(greedy.map((q) => (q.greedyCorrect ? 1 : 0))));
  const withCorrect = cs.filter((c) => c > 0).length;
  assert.equal(sum.metrics['distinct-equations']!.count, withCorrect);
  for (const m of MONITORS) assert.ok(sum.metrics[m]!.lo <= sum.metrics[m]!.mean && sum.metrics[m]!.mean <= sum.metrics[m]!.hi, m);
  assert.deepEqual(summarizeMonitors(queries, { k: 8, s: 2, equations: eqs, seed: 5, resamples: 500 }), sum);
  assert.equal(summarizeMonitors(queries, { k: 8, s: 2, seed: 5 }).metrics['distinct-equations'], null);
});
