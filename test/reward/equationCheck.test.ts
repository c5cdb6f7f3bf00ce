import assert from 'node:assert/strict';
import { test } from 'node:test';
import { equationCheckScorer, equationStepScores, questionNumbers } from '../../src/reward/equationCheck.js';
import { task } from '../../src/tasks/arith.js';

const q = 'Ann has 3 pens. Ann gets 4 more. Bob has twice as many as Ann. How many pens does Bob have?\n';

test('valid steps and answer score 1 each', () => {
  assert.deepEqual(equationStepScores(q, 'Ann has <<3+4=7>>7.\nBob has <<2*7=14>>14.\n#### 14'), [1, 1, 1]);
  assert.deepEqual([...questionNumbers(q)].sort((a, b) => a - b), [2, 3, 4]);
});

test('wrong arithmetic, an operand from nowhere, an answer that is not the last result', () => {
  assert.deepEqual(equationStepScores(q, 'Ann has <<3+4=8>>8.\n#### 8'), [0, 1]);
  assert.deepEqual(equationStepScores(q, 'Ann has <<5+8=13>>13.\n#### 13'), [0, 1]);
  assert.deepEqual(equationStepScores(q, 'Ann has <<3+4=7>>7.\n#### 9'), [1, 0]);
  assert.deepEqual(equationStepScores(q, '#### 14'), [0]);
  assert.deepEqual(equationStepScores(q, 'Ann has <<3+4=7>>7.'), [1, 0]);
});

test('every gold arith solution scores all ones', async () => {
  const qs = await task.load('train', { limit: 200 });
  const scores = await equationCheckScorer(qs.map((x) => ({ query: task.formatPrompt(x), text: task.goldSolution(x) })));
  scores.forEach((s, i) => assert.ok(s.every((v) => v === 1), `${qs[i].id}: ${s} for ${task.goldSolution(qs[i])}`));
});

test('gold solutions with × and ÷ (factor words) score all ones', async () => {
  const qs = await task.load('train', { limit: 200, ops: ['+', '-', '*', '/'] });
  const scores = await equationCheckScorer(qs.map((x) => ({ query: task.formatPrompt(x), text: task.goldSolution(x) })));
  scores.forEach((s, i) => assert.ok(s.every((v) => v === 1), `${qs[i].id}: ${s} for ${task.formatPrompt(qs[i])}${task.goldSolution(qs[i])}`));
});
