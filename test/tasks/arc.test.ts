import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arcAnswer, arcChoices, extractArcLetter, formatArcPrompt, selfCheck, task, verifyArc } from '../../src/tasks/arc.js';
import { completeRow } from '../../src/tasks/index.js';
import type { Query } from '../../src/tasks/types.js';

const load = (split: 'train' | 'dev' | 'test', opts = {}) => task.load(split, opts) as Query[];

test('loads the shipped splits; dev is the authors\' subset of train', () => {
  const train = load('train');
  const dev = load('dev');
  const testSplit = load('test');
  assert.deepEqual([train.length, dev.length, testSplit.length], [1418, 200, 1172]);
  const trainIds = new Set(train.map((q) => q.id));
  assert.equal(trainIds.size, train.length);
  assert.ok(dev.every((q) => trainIds.has(q.id)));
  assert.ok(testSplit.every((q) => !trainIds.has(q.id)));
});

test('numeric labels are relabelled by position, with the key mapped alike', () => {
  // arc/test.jsonl line 129: NYSEDREGENTS_2008_8_11, labels 1–4, answerKey "4" (dead organisms).
  const q = load('test').find((x) => x.id === 'arc-NYSEDREGENTS_2008_8_11')!;
  assert.equal(q.gold.answer, 'D');
  assert.deepEqual(arcChoices(q).map((c) => c.letter), ['A', 'B', 'C', 'D']);
  assert.equal(arcChoices(q)[3].text, 'dead organisms');
  assert.equal(
    formatArcPrompt(q),
    'Your task is to answer the question below. Give step by step reasoning before you answer.\n\n' +
      'Question: What is the nutrient source for some fungi?\n(A) sunlight\n(B) oxygen\n(C) carbon dioxide\n(D) dead organisms\nSolution:\n',
  );
  assert.ok(verifyArc('Fungi decompose. Final answer: (D)', q).correct);
  assert.equal(verifyArc('Final answer: (4)', q).correct, false);
});

test('letter extraction from free text', () => {
  const cases: [string, string | null][] = [
    ['Final answer: (B)', 'B'],
    ['final answer: c', 'C'],
    ['Reasoning... Final Answer: [D]', 'D'],
    ['The answer is (C).', 'C'],
    ['the answer is c because heat rises', 'C'],
    ['Answer: B', 'B'],
    ['I think the correct option is D.', 'D'],
    ['I would choose B here.', 'B'],
    ['(A) is wrong and (B) too, so (C)', 'C'],
    ['C. dry palms', 'C'],
    ['B) wet palms', 'B'],
    ['A plant needs light, so the best choice is clear: D', 'D'],
    ['A is correct.', 'A'],
    ['It must be C', 'C'],
    ['A plant needs water.', null],
    ['I do not know.', null],
    ['The answer is a bit unclear, but heat rises.', null],
    ['The answer is a bit unclear, so (B) it is.', 'B'],
    ['The answer is a.', 'A'],
    ['The answer is (a) sunlight', 'A'],
    ['The answer is (C). Final answer: (A)', 'A'],
  ];
  for (const [text, want] of cases) assert.equal(extractArcLetter(text), want, text);
});

test('verify: a letter beyond the choices is wrong with its reason', () => {
  const q = load('dev', { limit: 1 })[0];
  assert.equal(arcChoices(q).length, 4);
  const v = verifyArc('Final answer: (F)', q);
  assert.equal(v.correct, false);
  assert.match(v.reason, /not a choice/);
  assert.deepEqual(verifyArc('nothing', q), { correct: false, answer: null, reason: 'no-answer' });
});

test('a hedge between letters is never credited, whichever letter is right', () => {
  const q = load('dev', { limit: 1 })[0];
  const gold = q.gold.answer;
  const other = arcChoices(q).find((c) => c.letter !== gold)!.letter;
  const [x, y] = [gold, other].sort();
  const hedges = [
    `The answer is ${x} or ${y}.`,
    `The answer is ${y} or ${x}.`,
    `Final answer: (${x}) or (${y})`,
    `It is either ${x} or ${y}`,
    `I think ${x}/${y}`,
    `Final answer: (${x}), (${y})`,
    `Answer: ${x} and ${y} are both plausible`,
    `the correct option is ${x.toLowerCase()} or ${y}`,
    `Reasoning...\nFinal answer: ${y} or ${x}`,
  ];
  for (const t of hedges) {
    const v = verifyArc(t, q);
    assert.deepEqual(v, { correct: false, answer: null, reason: `hedge (${x} or ${y})` }, t);
    assert.equal(extractArcLetter(t), null, t);
  }
  // Not hedges: one letter chosen, others only discussed, or an article after "or".
  const clear: Array<[string, string]> = [
    [`Final answer: (${gold})`, gold],
    [`The answer is (${gold}), since the others are wrong.`, gold],
    [`Options ${x} or ${y} look close.\nFinal answer: (${gold})`, gold],
    [`The answer is ${gold} or a close variant of it.`, gold],
    [`Answer: ${gold} or ${gold.toLowerCase()}`, gold],
  ];
  for (const [t, want] of clear) {
    assert.deepEqual(arcAnswer(t), { letter: want, hedge: null }, t);
    assert.equal(verifyArc(t, q).correct, true, t);
  }
});

test('self-check: gold 100 %, a random letter near chance', () => {
  const rows = selfCheck({}).map(completeRow);
  assert.equal(rows.length, 6);
  for (const r of rows) assert.ok(r.ok, `${r.split} ${r.check}: rate ${r.rate} expect ${r.expect}`);
  const random = rows.filter((r) => r.check.startsWith('random'));
  const right = random.reduce((a, r) => a + r.verified, 0);
  const n = random.reduce((a, r) => a + r.rows, 0);
  assert.ok(Math.abs(right / n - 0.25) < 0.03, `random letter right ${right}/${n}`);
});
