import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerReward, combineReward, prmMin, RewardError } from '../../src/reward/combine.js';

test('answerReward: 1 / 0, and null when the verifier cannot judge', () => {
  assert.equal(answerReward({ correct: true, answer: '7', reason: 'match' }), 1);
  assert.equal(answerReward({ correct: false, answer: '8', reason: 'mismatch' }), 0);
  assert.equal(answerReward({ correct: false, answer: null, reason: 'no-answer' }), 0);
  assert.equal(answerReward({ correct: false, answer: null, reason: 'error: sandbox crashed' }), null);
});

test('prmMin paper: 2·min − 1 over the steps', () => {
  assert.equal(prmMin([0.9, 0.625, 0.8]), 2 * 0.625 - 1);
  assert.equal(prmMin([1]), 1);
  assert.equal(prmMin([0]), -1);
  assert.equal(prmMin([0.5, 0.75], 'paper'), 0);
});

test('prmMin official: min raw logit / 5', () => {
  assert.equal(prmMin([0.5], 'official'), 0);
  const p = 1 / (1 + Math.exp(-2)); // logit 2
  assert.ok(Math.abs(prmMin([0.99, p], 'official') - 2 / 5) < 1e-12);
  // saturated probabilities stay finite
  assert.ok(Number.isFinite(prmMin([1], 'official')) && Number.isFinite(prmMin([0], 'official')));
});

test('combineReward: answer alone without a PRM, answer + prmMin with one', () => {
  assert.equal(combineReward(1), 1);
  assert.equal(combineReward(0), 0);
  assert.equal(combineReward(1, [0.8, 0.6]), 1 + (2 * 0.6 - 1));
  assert.equal(combineReward(0, [0.75]), 0.5);
  const p = 1 / (1 + Math.exp(1)); // logit -1
  assert.ok(Math.abs(combineReward(1, [p], 'official') - (1 - 0.2)) < 1e-12);
});

test('bad reward inputs are refused, not clamped', () => {
  assert.throws(() => prmMin([]), RewardError);
  assert.throws(() => prmMin([1.2]), /steps\[0\] must be a probability in \[0, 1\], found 1.2/);
  assert.throws(() => prmMin([0.5, NaN]), /steps\[1\]/);
  assert.throws(() => combineReward(2 as 0), /answerMatch must be 0 or 1/);
  assert.throws(() => prmMin([0.5], 'other' as 'paper'), /combine/);
});
