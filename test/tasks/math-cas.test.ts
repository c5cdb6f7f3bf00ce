// The CAS parser runs in a worker under a hard time limit: a runaway parse is cut off, the worker is
// replaced, and later parses still work. The grader's prefilter keeps such input away from the CAS.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CasTimeoutError, parseLatex, stopCas } from '../../src/tasks/math-cas.js';
import { casRefusal, gradeAnswer } from '../../src/tasks/math-grader.js';
import { Rng } from '../../src/util/rng.js';

after(() => stopCas());

// Found by fuzzing: the compute-engine parser spends seconds on this (about 1.9 s on the dev machine).
const SLOW = '\\left(sqrt(\\sqrt^\\binom{x^\\$\\{2\\}\\end{pmatrix}sqrt(pi\\ln|][x\\\\\\{\\boxed{,i} !\\right)cm]\\right)2or\\\\\\}\\infty_sqrt(';

test('parseLatex: MathJSON back from the worker', () => {
  assert.deepEqual(parseLatex('\\frac{1}{2}+x'), ['Add', 'x', ['Rational', 1, 2]]);
});

test('parseLatex: a runaway parse is cut off at the limit and the worker is replaced', () => {
  const t0 = performance.now();
  assert.throws(() => parseLatex(SLOW, 150), CasTimeoutError);
  const dt = performance.now() - t0;
  assert.ok(dt < 1500, `cut off after ${dt} ms`);
  assert.deepEqual(parseLatex('2x'), ['Multiply', 2, 'x']);
});

test('the grader never hands malformed input to the CAS, and stays fast on random garbage', () => {
  assert.notEqual(casRefusal(SLOW), null);
  assert.equal(casRefusal('\\frac{\\sqrt{3}}{2}+\\pi x'), null);
  for (const bad of ['(1+2', '1+', '\\frac{1}{', 'x^^2', '\\begin{pmatrix}1\\end{pmatrix}', 'a & b', '\\foo{1}', '{}']) assert.notEqual(casRefusal(bad), null, bad);
  const TOK = ['\\frac{', '}{', '}', '{', '(', ')', '[', ']', '\\sqrt', '^', '_', '\\pi', 'x', 'y', '2', '10', '-', '+', ',', '.',
    '\\left(', '\\right)', '\\text{', ' ', '\\boxed{', '\\{', '\\}', '\\pm', '=', '\\infty', '\\cup', '!', '%', '$', '9^{9^{9}}',
    'sqrt(', 'pi', '\\begin{pmatrix}', '\\\\', '&', '\\end{pmatrix}', '\\cot', 'i', 'e', '0.', '1/2', '\\dfrac', '\\circ', 'cm', 'or'];
  const rng = new Rng(5);
  const t0 = performance.now();
  let worst = 0;
  for (let i = 0; i < 600; i++) {
    const pick = (n: number) => Array.from({ length: n }, () => TOK[rng.int(TOK.length)]).join('');
    const a = pick(1 + rng.int(i % 10 === 0 ? 80 : 12));
    const b = pick(1 + rng.int(8));
    const t = performance.now();
    assert.equal(gradeAnswer(a, a).correct, true);
    const r = gradeAnswer(a, b);
    assert.equal(typeof r.reason, 'string');
    worst = Math.max(worst, performance.now() - t);
  }
  const total = performance.now() - t0;
  assert.ok(total < 8000, `600 garbage pairs took ${total} ms (worst ${worst} ms)`);
});
