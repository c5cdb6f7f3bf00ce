import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GSM8K_DEV_SIZE, extractGsm8kAnswer, gsm8kEquations, selfCheck, task, verifyGsm8k } from '../../src/tasks/gsm8k.js';
import { completeRow } from '../../src/tasks/index.js';
import type { Query } from '../../src/tasks/types.js';

const load = (split: 'train' | 'dev' | 'test', opts = {}) => task.load(split, opts) as Query[];

test('loads the shipped splits; dev is a fixed seeded subset of train', () => {
  const train = load('train');
  const testSplit = load('test');
  assert.equal(train.length, 7473);
  assert.equal(testSplit.length, 1319);
  const natalia = train[0];
  assert.equal(natalia.id, 'gsm8k-train-0');
  assert.match(natalia.prompt, /^Natalia sold clips to 48 of her friends/);
  assert.equal(natalia.gold.answer, '72');
  assert.equal(testSplit[489].gold.answer, '-10');
  const dev = load('dev');
  assert.equal(dev.length, GSM8K_DEV_SIZE);
  const ids = new Map(train.map((q) => [q.id, q]));
  for (const q of dev) assert.deepEqual(ids.get(q.id), q);
  assert.deepEqual(load('dev'), dev);
  // Golden: the dev subset must not drift between versions (runs name queries by id).
  assert.deepEqual(dev.slice(0, 5).map((q) => q.id), ['gsm8k-train-38', 'gsm8k-train-74', 'gsm8k-train-203', 'gsm8k-train-230', 'gsm8k-train-292']);
  assert.notDeepEqual(load('dev', { seed: 1 }).map((q) => q.id), dev.map((q) => q.id));
  assert.equal(load('dev', { devSize: 50 }).length, 50);
  assert.equal(load('train', { limit: 5 }).length, 5);
  assert.equal(new Set(train.map((q) => q.id)).size, train.length);
  assert.throws(() => load('dev', { devSize: 10_000 }), /option "devSize"/);
  assert.throws(() => load('train', { size: 10 }), /unknown option "size".*devSize/);
});

test('extraction: #### line, # Answer, "answer is", \\boxed, last number; commas, $, units, signs, decimals', () => {
  const cases: [string, string | null][] = [
    ['Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72', '72'],
    ['#### 1,080', '1080'],
    ['#### $18.00', '18'],
    ['#### -10 degrees', '-10'],
    ['so we get 3 more.\n\n# Answer\n\n42', '42'],
    ['The answer is $1,234.5, which is 3 more than before', '1234.5'],
    ['Answer: 7 apples. Check: 7 - 2 = 5', '7'],
    ['we have \\boxed{36} in the end, 12 each', '36'],
    ['She has 5 apples and buys 3, so 8 apples.', '8'],
    ['The temperature is -4.5 degrees.', '-4.5'],
    ['It is 20% of 150, i.e. 30%.', '30'],
    ['I cannot solve this.', null],
  ];
  for (const [text, want] of cases) assert.equal(extractGsm8kAnswer(text), want, text);
});

test('verify compares numerically', () => {
  const q: Query = { id: 'x', prompt: 'p', gold: { answer: '1080' } };
  assert.deepEqual(verifyGsm8k('#### 1,080', q), { correct: true, answer: '1080', reason: 'match' });
  assert.equal(verifyGsm8k('The total is $1080.00.', q).correct, true);
  assert.equal(verifyGsm8k('#### 1081', q).reason, 'mismatch');
  assert.deepEqual(verifyGsm8k('no idea', q), { correct: false, answer: null, reason: 'no-answer' });
});

test('equations: annotations when present, else arithmetic in the text', () => {
  const train = load('train');
  assert.deepEqual(gsm8kEquations(task.goldSolution(train[0])), ['48/2=24', '24+48=72']);
  // Rows 29 and 109 have no annotations: their arithmetic is in the text, mixed with algebra
  // ("100/5 = 5A/5", "(40/100)*p = 2p/5") that is not taken for an equation.
  assert.ok(!task.goldSolution(train[109]).includes('<<'));
  assert.deepEqual(gsm8kEquations(task.goldSolution(train[109])), []);
  assert.deepEqual(gsm8kEquations(task.goldSolution(train[29])), []);
  assert.deepEqual(gsm8kEquations('He pays 3 x 4 = 12 dollars, then 12 + 8 = $20.'), ['3*4=12', '8+12=20']);
  assert.deepEqual(gsm8kEquations('Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nShe earned 0.2 x 50 = $<<0.2*50=10>>10.'), [
    '12/60=0.2', '0.2*50=10',
  ]);
});

test('prompt template and gold solution', () => {
  const q = load('test', { limit: 1 })[0];
  assert.equal(task.formatPrompt(q), `# Question\n\n${q.prompt}\n\n# Solution\n\n`);
  assert.match(task.goldSolution(q), /\n#### \d+$/);
});

test('self-check over every row: gold 100 %, shuffled gold accepted only on equal answers', () => {
  const rows = selfCheck({}).map(completeRow);
  assert.equal(rows.length, 4);
  for (const r of rows) assert.ok(r.ok, `${r.split} ${r.check} ${r.detail ?? ''}`);
  const shuffled = rows.filter((r) => r.check.startsWith('shuffled'));
  for (const r of shuffled) assert.ok(r.rate < 0.03, `shuffled gold accepted at ${r.rate}`);
});
