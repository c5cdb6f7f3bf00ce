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

test("aggregate 'mean': the mean step score in place of the minimum; 'min' is the default and the paper's", () => {
  assert.equal(prmMin([1, 0, 1, 1], 'paper', 'mean'), 0.5);
  assert.equal(prmMin([0.9, 0.6, 0.8], 'paper', 'min'), prmMin([0.9, 0.6, 0.8]));
  assert.ok(Math.abs(prmMin([0.2, 0.6], 'paper', 'mean') - (2 * 0.4 - 1)) < 1e-15);
  const p = 1 / (1 + Math.exp(-1)); // mean of p and p is p: logit 1
  assert.ok(Math.abs(prmMin([p, p], 'official', 'mean') - 0.2) < 1e-12);
  assert.ok(Math.abs(combineReward(1, [1, 0, 1], 'paper', 'mean') - 4 / 3) < 1e-15);
  assert.throws(() => prmMin([0.5], 'paper', 'median' as 'min'), /aggregate must be "min" or "mean"/);
  // the same inputs give the same reward through the default path and an explicit 'min' (old configs)
  for (const steps of [[1, 1, 0], [0.3, 0.9], [1], [0]]) for (const a of [0, 1] as const) assert.equal(combineReward(a, steps), combineReward(a, steps, 'paper', 'min'));
});

test('equation check: min gives 4 reward levels, mean grades by the fraction of true steps', async () => {
  const { equationStepScores } = await import('../../src/reward/equationCheck.js');
  const q = 'Ann owns 2 nuts. Tom has 1 fewer nut than Ann. Tom finds 7 more. Tom loses 6. How many nuts does Tom end up with?\n';
  // hand-checked step scores: 3 equations + the final-answer step
  const texts: [string, 0 | 1, number[]][] = [
    ['Tom has <<2-1=1>>1.\nTom has <<1+7=8>>8.\nTom has <<8-6=2>>2.\n#### 2', 1, [1, 1, 1, 1]],
    ['Tom has <<2-1=1>>1.\nTom has <<1+7=9>>9.\nTom has <<9-6=2>>2.\n#### 2', 1, [1, 0, 0, 1]], // 1+7 ≠ 9, 9−6 ≠ 2: right by luck
    ['Tom has <<2-1=1>>1.\nTom has <<1+7=8>>8.\nTom has <<8-5=2>>2.\n#### 2', 1, [1, 1, 0, 1]], // 8−5 ≠ 2 and 5 is no given number
    ['Tom has <<2-1=1>>1.\nTom has <<1+7=8>>8.\nTom has <<8-6=3>>3.\n#### 3', 0, [1, 1, 0, 1]],
    ['Tom has <<2+1=3>>3.\nTom has <<3+7=10>>10.\nTom has <<10-6=4>>4.\n#### 4', 0, [1, 1, 1, 1]],
  ];
  const min = new Set<number>();
  const mean = new Set<number>();
  for (const [text, a, want] of texts) {
    const steps = equationStepScores(q, text);
    assert.deepEqual(steps, want, text);
    min.add(combineReward(a, steps));
    mean.add(combineReward(a, steps, 'paper', 'mean'));
  }
  assert.deepEqual([...min].sort((x, y) => x - y), [-1, 0, 1, 2]);
  // right-by-luck samples now rank by how much of their work is true; a wrong answer with true steps scores 1
  assert.deepEqual([...mean].sort((x, y) => x - y), [0.5, 1, 1.5, 2]);
});
