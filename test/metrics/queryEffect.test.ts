import { test } from 'node:test';
import assert from 'node:assert/strict';
import { queryEffect, resolveNStar } from '../../src/metrics/queryEffect.js';
import { distinctEquations } from '../../src/metrics/diversity.js';
import { MetricError } from '../../src/metrics/errors.js';

test('query effect: hand-computed values (paper eq. 2)', () => {
  assert.equal(queryEffect(4, 2, 8), (2 / 8) * (2 / 4));
  assert.equal(queryEffect(10, 9, 8), 0.9); // no discount once n' ≥ n*
  assert.equal(queryEffect(2, 2, 8), 0.25); // the paper's "2 correct of 2" example: ratio 1, quantity 2/8
  assert.equal(queryEffect(64, 16, 8), 0.25); // "16 of 64": quantity 1, ratio 1/4
  assert.equal(queryEffect(0, 0, 8), 0); // nothing selected
  assert.equal(queryEffect(5, 0, 8), 0);
});

test('query effect rejects impossible counts', () => {
  assert.throws(() => queryEffect(3, 4, 8), (e: unknown) => e instanceof MetricError && /n' \(unique correct\) must be an integer in \[0, n=3\], found 4/.test(e.message));
  assert.throws(() => queryEffect(-1, 0, 8), MetricError);
  assert.throws(() => queryEffect(3, 1, 0), /n\* must be a finite number > 0, found 0/);
});

test('n* = ceil(N/M) or a fixed number', () => {
  assert.equal(resolveNStar('ceil(N/M)', 67500, 11500), 6);
  assert.equal(resolveNStar('ceil(N/M)', 64, 8), 8);
  assert.equal(resolveNStar(8, 1, 1), 8);
  assert.throws(() => resolveNStar('ceil(N/M)', 10, 0), /M \(queries per iteration\)/);
});

test('distinct equations: unique sequences over correct responses', () => {
  const eq = (t: string) => t.split(';').filter((x) => x.length > 0);
  const rs = [
    { text: '1+1=2', correct: true },
    { text: '1+1=2', correct: true },
    { text: '2*1=2', correct: true },
    { text: '3-1=2', correct: false }, // wrong responses do not count
  ];
  assert.equal(distinctEquations(rs, eq), 2 / 3);
  // Order inside a sequence matters; the empty sequence is one sequence.
  assert.equal(distinctEquations([{ text: 'a;b', correct: true }, { text: 'b;a', correct: true }], eq), 1);
  assert.equal(distinctEquations([{ text: '', correct: true }, { text: '', correct: true }], eq), 0.5);
  assert.equal(distinctEquations([{ text: 'x', correct: false }], eq), null);
});
