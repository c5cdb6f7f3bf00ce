// The MATH task: data loading and its errors, splits, prompt/gold formats, verification of gold
// solutions, equations(), and the full self-checks over the shipped data (about 1-2 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  MathTaskError, createMathTask, crossAnswerCheck, devIndices, loadMath, mathEquations, mathTask, selfCheck,
} from '../../src/tasks/math.js';
import { parseAnswer } from '../../src/tasks/math-answer.js';
import { MalformedDataError, MissingDataError } from '../../src/tasks/data.js';
import { rewriteAnswer } from '../../src/tasks/math-rewrite.js';
import type { Query, Verdict } from '../../src/tasks/types.js';

test('splits: train 7,498 gradable rows, MATH500 test, seeded dev subset of train', () => {
  const train = loadMath('train');
  const testSplit = loadMath('test');
  assert.equal(train.length, 7498); // 7,500 minus the 2 rows with an empty \boxed{}
  assert.equal(testSplit.length, 500);
  assert.equal(new Set(train.map((q) => q.id)).size, train.length);
  const trainProblems = new Set(train.map((q) => q.prompt));
  assert.equal(testSplit.filter((q) => trainProblems.has(q.prompt)).length, 0, 'MATH500 must not overlap train');
  const dev = loadMath('dev');
  assert.equal(dev.length, 500);
  const trainIds = new Set(train.map((q) => q.id));
  assert.ok(dev.every((q) => trainIds.has(q.id)));
  assert.deepEqual(loadMath('dev').map((q) => q.id), dev.map((q) => q.id)); // deterministic
  // Pinned: the default dev set must not drift between versions (it is what runs are tuned on).
  assert.deepEqual(dev.slice(0, 3).map((q) => q.id), ['math/train/algebra/19', 'math/train/algebra/20', 'math/train/algebra/42']);
  const dev7 = loadMath('dev', { seed: 7, devSize: 100 });
  assert.equal(dev7.length, 100);
  assert.notDeepEqual(dev7.map((q) => q.id), dev.slice(0, 100).map((q) => q.id));
  assert.equal(loadMath('test', { limit: 3 }).length, 3);
  const q = train[0]!;
  assert.equal(typeof q.gold.solution, 'string');
  assert.equal(q.meta?.['subject'], 'Algebra');
  assert.equal(q.meta?.['level'], 5);
  assert.equal(testSplit[0]!.gold.solution, undefined);
});

test('devIndices: a uniform-looking seeded sample without repeats', () => {
  const idx = devIndices(1000, 300, 3);
  assert.equal(new Set(idx).size, 300);
  assert.ok(idx.every((v, i) => i === 0 || v > idx[i - 1]!));
  const low = idx.filter((i) => i < 500).length;
  assert.ok(low > 110 && low < 190, `half of the range should hold about half the sample, got ${low}`);
  assert.throws(() => devIndices(10, 11, 0), /devSize/);
});

test('bad options and bad data files give typed errors naming the file, line and field', () => {
  assert.throws(() => loadMath('train', { bogus: 1 }), (e: unknown) => e instanceof MathTaskError && /unknown MATH load option "bogus"/.test(e.message));
  assert.throws(() => loadMath('dev', { devSize: 0 }), /devSize/);
  assert.throws(() => createMathTask({ answerFormat: 'latex' as never }), /answerFormat/);
  const dir = mkdtempSync(join(tmpdir(), 'bstar-math-'));
  try {
    assert.throws(() => loadMath('test', { dataDir: dir }), (e: unknown) => e instanceof MissingDataError && e.message.includes(join(dir, 'math', 'math500.jsonl')));
    mkdirSync(join(dir, 'math'));
    const good = JSON.stringify({ id: 'a', problem: 'p', answer: '1', subject: 's', level: 1 });
    writeFileSync(join(dir, 'math', 'math500.jsonl'), `${good}\n{"id": "b", "problem": \n`);
    assert.throws(() => loadMath('test', { dataDir: dir }), (e: unknown) => e instanceof MalformedDataError && e.line === 2 && /math500\.jsonl:2: expected one JSON object per line, found invalid JSON/.test(e.message));
    const dir2 = mkdtempSync(join(tmpdir(), 'bstar-math-'));
    mkdirSync(join(dir2, 'math'));
    writeFileSync(join(dir2, 'math', 'train.jsonl'), `${JSON.stringify({ id: 'a', problem: 'p', answer: '1', subject: 's', level: 'Level 2' })}\n`);
    assert.throws(() => loadMath('train', { dataDir: dir2 }), (e: unknown) => e instanceof MalformedDataError && e.field === 'solution' && /train\.jsonl:1: field "solution": expected a non-empty string, found nothing/.test(e.message));
    rmSync(dir2, { recursive: true });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('BSTAR_DATA overrides the default data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bstar-math-'));
  const old = process.env['BSTAR_DATA'];
  try {
    mkdirSync(join(dir, 'math'));
    writeFileSync(join(dir, 'math', 'math500.jsonl'), `${JSON.stringify({ id: 'z/1', problem: 'What is 1+1?', answer: '2', subject: 's', level: 1 })}\n`);
    process.env['BSTAR_DATA'] = dir;
    assert.deepEqual(loadMath('test').map((q) => q.id), ['z/1']);
  } finally {
    if (old === undefined) delete process.env['BSTAR_DATA']; else process.env['BSTAR_DATA'] = old;
    rmSync(dir, { recursive: true });
  }
});

test('prompt, gold solution and verification in both answer formats', () => {
  const q: Query = { id: 't', prompt: 'Compute $1/2+1/4$.', gold: { answer: '\\frac{3}{4}', solution: 'We get $\\frac12+\\frac14=\\boxed{\\frac{3}{4}}$.' } };
  assert.equal(mathTask.formatPrompt(q), '# Question\n\nCompute $1/2+1/4$.\n\n# Solution\n\n');
  const gold = mathTask.goldSolution(q);
  assert.equal(gold, 'We get $\\frac12+\\frac14=\\frac{3}{4}$.\n\n# Answer\n\n\\frac{3}{4}');
  assert.deepEqual(mathTask.verify(gold, q), { correct: true, answer: '\\frac{3}{4}', reason: 'match' });
  assert.equal((mathTask.verify('blah\n\n# Answer\n\n0.75', q) as Verdict).correct, true);
  assert.equal((mathTask.verify('blah\n\n# Answer\n\n0.7', q) as Verdict).correct, false);
  assert.deepEqual(mathTask.verify('the answer is $\\boxed{0.75}$', q), { correct: false, answer: null, reason: 'no-answer' });
  const boxed = createMathTask({ answerFormat: 'boxed' });
  assert.equal(boxed.goldSolution(q), q.gold.solution);
  assert.equal((boxed.verify('the answer is $\\boxed{0.75}$', q) as Verdict).correct, true);
  assert.equal(boxed.extractAnswer('\n\n# Answer\n\n5'), null);
  const custom = createMathTask({ template: 'Problem: {question}\nAnswer:' });
  assert.equal(custom.formatPrompt(q), 'Problem: Compute $1/2+1/4$.\nAnswer:');
  assert.throws(() => mathTask.goldSolution(loadMath('test', { limit: 1 })[0]!), /MATH500 ships answers only/);
});

test('equations(): "=" pieces of math segments, normalised; plain-text fallback', () => {
  const sol = 'Let $x = 2$. Then\n\\begin{align*}\ny &= 3x + 1 \\\\\n&= 7,\n\\end{align*} and $z > 1$, so \\[ \\left( y \\right) \\!= \\dfrac{14}{2} .\\]';
  assert.deepEqual(mathEquations(sol), ['x=2', 'y=3x+1', '=7', '(y)=\\frac{14}{2}']);
  assert.deepEqual(mathEquations('no math here'), []);
  assert.deepEqual(mathEquations('3 * 4 = 12\nso a = 12 + 1'), ['3*4=12', 'soa=12+1']);
  assert.deepEqual(mathEquations('$\\sin x \\le 1$ and $a \\ne b$ and $\\cos x = 1$'), ['\\cos x=1']);
  assert.deepEqual(mathEquations('$$a=\\boxed{5}$$'), ['a=5']);
  assert.deepEqual(mathEquations('$x=2, y=3$ and $a=1, 2, 3$ and $f(1,2)=3$'), ['x=2', 'y=3', 'a=1,2,3', 'f(1,2)=3']);
  assert.deepEqual(mathEquations('$2a=-6 \\Rightarrow a=-3$; $b = 4 \\text{ so } c = 5$'), ['2a=-6', 'a=-3', 'b=4', 'c=5']);
  // The first MATH train solution: one equation per statement.
  const first = loadMath('train', { limit: 1 })[0]!;
  assert.deepEqual(mathTask.equations!(first.gold.solution!), ['x=2', 'a(2)+3=2-5', '2a=-6', 'a=-3', 'x=-2', '-2-5=2(-2)-b', 'b=3', 'a+b=-3+3=0']);
});

test('self-check: every train gold answer verifies; MATH500 answers verify in >= 3 rewritten forms', async () => {
  const rows = await selfCheck();
  const train = rows.find((r) => r.split === 'train')!;
  const testRow = rows.find((r) => r.split === 'test')!;
  // The two rows with an empty \boxed{} have no gold answer: left out of the splits and of the count.
  assert.equal(train.rows, 7498);
  assert.equal(train.verified, 7498);
  assert.deepEqual(train.failures, []);
  assert.match(train.detail ?? '', /2 of 7500 rows left out: empty \\boxed\{\}.*number_theory\/7115, math\/train\/number_theory\/7117/);
  assert.equal(testRow.rows, 500);
  assert.deepEqual(testRow.failures, []);
  assert.equal(testRow.verified, 500);
  // The same rewrite check over the train answers.
  const tr = rows.find((r) => r.split === 'train-rewrites')!;
  assert.equal(tr.rows, 7498);
  assert.deepEqual(tr.failures, []);
});

test('frac-slash: a function argument is parenthesised whole; spelling-compared answers are left alone', () => {
  const slash = (a: string) => rewriteAnswer(a).find(([n]) => n === 'frac-slash')?.[1] ?? null;
  // sec(θ/2), not sec(1/2)·θ
  assert.equal(slash('3 \\sec \\frac{1}{2} \\theta'), '3 \\sec ((1/2) \\theta)');
  assert.equal(slash('\\sin \\frac{\\pi}{4} + \\cos x'), '\\sin ((\\pi)/4) + \\cos x');
  assert.equal(slash('\\frac{35}{2}\\pi'), '(35/2)\\pi');
  assert.equal(slash('\\$\\dfrac23 \\approx \\$0.67'), null);
  assert.equal(slash('\\frac{1}{7}\\triangle ABC'), null);
});

test('rewrites are really different spellings, and the grader does not accept other problems\' answers', () => {
  const forms = rewriteAnswer('\\frac{3}{8}').map(([n]) => n);
  for (const n of ['frac-slash', 'dfrac', 'decimal-or-thousands']) assert.ok(forms.includes(n), n);
  assert.deepEqual(rewriteAnswer('\\frac{3}{8}').find(([n]) => n === 'decimal-or-thousands')![1], '0.375');
  assert.deepEqual(rewriteAnswer('12345').find(([n]) => n === 'decimal-or-thousands')![1], '12,345');
  const c = crossAnswerCheck({ offsets: 10 });
  assert.equal(c.pairs, 5000);
  // Every pair judged equal is the same answer: equal structure after normalisation, or the same
  // unordered solution list.
  const differing = c.judgedEqual.filter(([a, b]) => JSON.stringify(parseAnswer(a)) !== JSON.stringify(parseAnswer(b)));
  assert.ok(differing.every(([a, b]) => a.split(',').sort().join() === b.split(',').sort().join()), JSON.stringify(differing));
  assert.ok(c.judgedEqual.length < 0.02 * c.pairs);
});
