// Hand-written equivalence / non-equivalence table for the MATH grader, plus extraction and the
// bounds on pathological input. Each case: [given, gold, expected]; `sym` cases are checked in both
// orders (the PRM800K strictness rules make some cases one-way: an integer gold needs an integer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gamma, gradeAnswer } from '../../src/tasks/math-grader.js';
import { answerSection, lastBoxed, normalizeAnswerString, parseAnswer, unwrapBoxes } from '../../src/tasks/math-answer.js';
import { Rng } from '../../src/util/rng.js';

type Case = [given: string, gold: string, equal: boolean, sym?: 'sym'];

const CASES: Case[] = [
  // fractions, decimals, frac spellings
  ['0.5', '\\frac{1}{2}', true, 'sym'],
  ['.5', '\\frac12', true, 'sym'],
  ['1/2', '\\frac{1}{2}', true, 'sym'],
  ['\\dfrac{1}{2}', '\\frac{1}{2}', true, 'sym'],
  ['\\tfrac12', '\\frac{1}{2}', true, 'sym'],
  ['\\frac 34', '\\frac{3}{4}', true, 'sym'],
  ['\\frac9{19}', '\\frac{9}{19}', true, 'sym'],
  ['-\\frac{3}{8}', '\\frac{-3}{8}', true, 'sym'],
  ['-0.375', '-\\frac{3}{8}', true, 'sym'],
  ['2/4', '\\frac{1}{2}', false, 'sym'], // unreduced fractions are wrong (PRM800K)
  ['0.33', '\\frac{1}{3}', false, 'sym'],
  ['0.3333333333', '\\frac{1}{3}', true, 'sym'], // within the 1e-6 relative tolerance
  ['\\frac{3}{4}', '\\frac{4}{3}', false, 'sym'],
  ['1\\frac{4}{5}', '\\frac{9}{5}', true, 'sym'], // mixed number
  ['137 \\frac{1}{2}', '137.5', true, 'sym'],
  ['7 3/4', '7.75', true, 'sym'],
  // integers (strict: an integer gold needs an integer answer)
  ['5', 'x=5', true, 'sym'],
  ['5.0', '5', true],
  ['\\frac{10}{2}', '5', false],
  ['-5', '5', false, 'sym'],
  ['10080', '10,\\!080', true, 'sym'],
  ['10{,}080', '10080', true, 'sym'],
  ['11111111100', '11,\\! 111,\\! 111,\\! 100', true, 'sym'],
  ['58,500', '58500', true, 'sym'],
  ['58,501', '58500', false, 'sym'],
  // units, degrees, percent, dollars, text
  ['90', '90^\\circ', true, 'sym'],
  ['90^{\\circ}', '90^\\circ', true, 'sym'],
  ['90 degrees', '90^\\circ', true, 'sym'],
  ['\\frac{270}{7}', '\\frac{270}7\\text{ degrees}', true, 'sym'],
  ['864', '864 \\mbox{ inches}^2', true, 'sym'],
  ['15 \\text{ cm}^2', '15\\mbox{ cm}^2', true, 'sym'],
  ['5.4', '5.4 \\text{ cents}', true, 'sym'],
  ['25\\%', '25', true, 'sym'],
  ['\\$18.90', '18.9', true, 'sym'],
  ['\\$32,348', '\\$32,\\!348', true, 'sym'],
  ['\\text{Evelyn}', 'Evelyn', true, 'sym'],
  ['evelyn', '\\text{Evelyn}', true, 'sym'],
  ['\\text{Navin}', '\\text{Evelyn}', false, 'sym'],
  ['\\text{odd}', '\\text{even}', false, 'sym'],
  ['\\text{(C)}', 'C', true, 'sym'],
  ['(C)', '\\text{(C)}', true, 'sym'],
  ['B', '\\text{(C)}', false, 'sym'],
  ['2 million', '2000000', true],
  ['0.5 million', '500000', true],
  ['1.25 billion', '1250000000', true],
  // \left/\right, tuples, intervals, sets, unions
  ['(3, \\pi/2)', '\\left( 3, \\frac{\\pi}{2} \\right)', true, 'sym'],
  ['(\\pi/2, 3)', '\\left( 3, \\frac{\\pi}{2} \\right)', false, 'sym'], // tuples are ordered
  ['[-2,7]', 'x \\in [-2,7]', true, 'sym'],
  ['(-2,7]', '[-2,7]', false, 'sym'], // open vs closed end
  ['\\left(\\frac{3}{5},\\frac{8}{3}\\right]', '(0.6, 8/3]', true, 'sym'],
  ['(-\\infty,2)\\cup(3,\\infty)', '(-\\infty, 2) \\cup (3, \\infty)', true, 'sym'],
  ['(3,\\infty)\\cup(-\\infty,2)', '(-\\infty, 2) \\cup (3, \\infty)', true, 'sym'], // union is unordered
  ['(-\\infty,2]\\cup(3,\\infty)', '(-\\infty, 2) \\cup (3, \\infty)', false, 'sym'],
  ['(2,12)\\cup(12,102)', '(2,12) \\cup (12,102)', true, 'sym'], // no thousands-comma misread
  ['-2, 1', '1,-2', true, 'sym'], // solution lists are unordered
  ['1, -2, 3', '1,-2', false, 'sym'],
  ['\\{-2, 1+\\sqrt5, 1-\\sqrt5\\}', '\\{1\\pm\\sqrt{5},-2\\}', true, 'sym'],
  ['1 + \\sqrt{19}, 1 - \\sqrt{19}', '1 \\pm \\sqrt{19}', true, 'sym'],
  ['1 + \\sqrt{19}', '1 \\pm \\sqrt{19}', false, 'sym'],
  ['x = 3 \\text{ or } x = 5', '3, 5', true, 'sym'],
  ['(1,2)', '1, 2', false, 'sym'], // a tuple is not a list of solutions
  // matrices and vectors
  ['\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}', '\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}', true, 'sym'],
  ['\\begin{bmatrix} -1 & 0 \\\\ 0 & -1 \\end{bmatrix}', '\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}', true, 'sym'],
  ['\\begin{pmatrix} 0 & -1 \\\\ -1 & 0 \\end{pmatrix}', '\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}', false, 'sym'],
  ['(-2, -14, -7)', '\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}', true, 'sym'],
  ['(-2, -14, 7)', '\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}', false, 'sym'],
  // radicals, pi, complex numbers
  ['\\sqrt{3}/3', '\\frac{\\sqrt{3}}{3}', true, 'sym'],
  ['\\frac{1}{\\sqrt3}', '\\frac{\\sqrt{3}}{3}', true, 'sym'],
  ['11\\sqrt2', '11 \\sqrt{2}', true, 'sym'],
  ['\\sqrt{242}', '11\\sqrt2', true, 'sym'],
  ['2\\sqrt{3}', '3\\sqrt{2}', false, 'sym'],
  ['\\sqrt[3]{-8}', '-2', false], // integer gold: integer answers only
  ['2\\pi', '6.283185307', true, 'sym'],
  ['3.14', '\\pi', false, 'sym'],
  ['\\frac{20000}{\\pi}', '20000/\\pi', true, 'sym'],
  ['6-5i', '6 - 5i', true, 'sym'],
  ['6+5i', '6 - 5i', false, 'sym'],
  ['-5i+6', '6 - 5i', true, 'sym'],
  // algebraic equality
  ['x^2+2x+1', '(x+1)^2', true, 'sym'],
  ['x^2+2x-1', '(x+1)^2', false, 'sym'],
  ['(a+5)(b+2)', 'ab+2a+5b+10', true, 'sym'],
  ['-q+p', 'p - q', true, 'sym'],
  ['q-p', 'p - q', false, 'sym'],
  ['\\frac{1}{\\tan x}', '\\cot x', true, 'sym'],
  ['\\tan x', '\\cot x', false, 'sym'],
  ['6r^2 - 4r - 24', '2(3r^2-2r-12)', true, 'sym'],
  ['2x+3', 'y = 2x + 3', true, 'sym'],
  ['2x + 3 = y', 'y = 2x + 3', true, 'sym'],
  ['10x - 14y + 22z + 8 = 0', '5x - 7y + 11z + 4 = 0', true, 'sym'], // same plane, scaled
  ['5x - 7y + 11z + 5 = 0', '5x - 7y + 11z + 4 = 0', false, 'sym'],
  ['x^5 - x^4 + x^3 - x^2 + x - 1', '(x-1)(x^4+x^2+1)', true, 'sym'],
  // base-n numerals and misc
  ['52_{8}', '52_8', true, 'sym'],
  ['52', '52_8', false, 'sym'],
  ['1.25.', '1.25', true, 'sym'],
  ['\\boxed{\\frac{1}{4}}', '\\frac14', true, 'sym'],
  ['', '5', false],
  ['\\frac{-1 \\pm \\sqrt{5}}{2}', '\\frac{-1+\\sqrt5}{2}, \\frac{-1-\\sqrt5}{2}', true, 'sym'], // inner \\pm
  ['10', '\\binom{5}{2}', true],
  ['\\binom{5}{2}', '10', false], // integer gold: integer literal only (PRM800K)
  ['\\dbinom{6}{3}', '\\binom{6}{3}', true, 'sym'],
  ['\\frac{n(n-1)}{2}', '\\binom{n}{2}', true, 'sym'],
  ['\\frac{n(n+1)}{2}', '\\binom{n}{2}', false, 'sym'],
  ['0.\\overline{3}', '\\frac13', true, 'sym'],
  ['\\emptyset', '\\varnothing', true, 'sym'],
  ['x > 2', '(2,\\infty)', true, 'sym'], // inequalities read as intervals
  ['x \\le -1', '(-\\infty, -1]', true, 'sym'],
  ['-2 < x \\leq 3', '(-2, 3]', true, 'sym'],
  ['3 > x > 1', '(1, 3)', true, 'sym'],
  ['x < 5', '(5, \\infty)', false, 'sym'],
  ['x \\ge 2', '(2, \\infty)', false, 'sym'],
  ['5 apples', '5', true],
  ['12 red marbles.', '12', true],
  ['3 dogs and 2 cats', '3', false],
  ['2m', '2', false], // a variable, not metres
  ['\\frac{1}{2}m', '\\frac{1}{2}', false, 'sym'],
  ['3 m', '3', true],
  ['5cm', '5', true],
  ['The answer is $\\frac{1}{2}$.', '0.5', true],
  ['Final answer: 12', '12', true],
  // more non-equivalences
  ['\\frac{1}{2}', '\\frac{1}{3}', false, 'sym'],
  ['0.125', '\\frac{1}{4}', false, 'sym'],
  ['2\\sqrt{2}', '\\sqrt{6}', false, 'sym'],
  ['x^2', 'x^3', false, 'sym'],
  ['\\frac{x}{2}', '2x', false, 'sym'],
  ['(1,2)', '(2,1)', false, 'sym'],
  ['[1,2]', '(1,2)', false, 'sym'],
  ['\\{1,2\\}', '\\{1,3\\}', false, 'sym'],
  ['\\text{north}', '\\text{east}', false, 'sym'],
  ['90', '\\frac{\\pi}{2}', false],
  ['e', '\\pi', false, 'sym'],
  ['2i', '-2i', false, 'sym'],
  ['(-\\infty, 2)', '(-\\infty, -2)', false, 'sym'],
  ['1000', '10,\\!080', false, 'sym'],
  ['\\frac{N}{N+1}', '\\frac{1}{N+1}', false, 'sym'],
  ['\\frac{N}{N+1}', '1-\\frac{1}{N+1}', true, 'sym'], // N is a variable, not the engine's N()
];

test(`MATH grader: ${CASES.length} hand-written cases`, () => {
  assert.ok(CASES.length >= 60);
  assert.ok(CASES.filter((c) => c[2]).length >= 30 && CASES.filter((c) => !c[2]).length >= 25);
  const wrong: string[] = [];
  for (const [given, gold, equal, sym] of CASES) {
    const g = gradeAnswer(given, gold);
    if (g.correct !== equal) wrong.push(`${JSON.stringify(given)} vs gold ${JSON.stringify(gold)}: got ${g.correct} (${g.reason}), expected ${equal}`);
    if (sym) {
      const r = gradeAnswer(gold, given);
      if (r.correct !== equal) wrong.push(`(reversed) ${JSON.stringify(gold)} vs gold ${JSON.stringify(given)}: got ${r.correct} (${r.reason}), expected ${equal}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('pathological answers are refused quickly instead of hanging', () => {
  const t0 = performance.now();
  // Huge exact values: the CAS's own exact evaluation would exhaust memory on 10^{10^{10}}.
  assert.equal(gradeAnswer('10^{10^{10}}+1', '10^{10^{10}}').correct, false);
  assert.equal(gradeAnswer('10^{10^{10}}', '10^{10^{10}}').correct, true); // same string
  assert.equal(gradeAnswer('9^{9^{9^{9}}}', '3^{2\\cdot 9^{9^{9}}}').correct, false);
  assert.equal(gradeAnswer('100000!', '100001!').correct, false);
  assert.equal(gradeAnswer('x^{x^{x^{x}}}', 'x^{x^{x^{x}}}+1').correct, false);
  const long = Array.from({ length: 200 }, (_, i) => `${i}`).join('+');
  assert.match(gradeAnswer(long, '19900.5').reason, /too long|mismatch/);
  const nested = '\\frac{1}{'.repeat(60) + '2' + '}'.repeat(60);
  gradeAnswer(nested, '\\frac{1}{3}');
  assert.ok(performance.now() - t0 < 3000, `took ${performance.now() - t0} ms`);
});

test('extraction: last \\boxed / \\fbox with nested braces, bare \\boxed, # Answer section', () => {
  assert.equal(lastBoxed('so $\\boxed{1}$ and then $\\boxed{\\frac{1}{\\sqrt{2}}}$.'), '\\frac{1}{\\sqrt{2}}');
  assert.equal(lastBoxed('answer \\fbox{ \\{1,2\\} }'), '\\{1,2\\}');
  assert.equal(lastBoxed('thus $\\boxed 5$.'), '5');
  assert.equal(lastBoxed('\\boxed {7}'), '7');
  assert.equal(lastBoxed('\\boxed{\\frac{1}{2}'), null); // unbalanced
  assert.equal(lastBoxed('no box here'), null);
  assert.equal(lastBoxed('\\boxedx'), null);
  assert.equal(answerSection('step one\n\nstep two\n\n# Answer\n\n\\frac{1}{2}'), '\\frac{1}{2}');
  assert.equal(answerSection('a\n\n# Answer\n\n1\n\n# Answer\n\n2\n\n# Question\n\nmore'), '2');
  assert.equal(answerSection('# Answer\n\n5'), null); // the marker needs the blank line before it
  assert.equal(answerSection('x\n\n# Answer\n\n   '), null);
  assert.equal(unwrapBoxes('is $\\boxed{\\frac{1}{2}}$ and \\boxed{3}.'), 'is $\\frac{1}{2}$ and 3.');
});

test('normalisation keeps structure and words apart', () => {
  assert.equal(normalizeAnswerString('\\left( 3, \\dfrac{\\pi}{2} \\right).'), '( 3, \\frac{\\pi}{2} )');
  assert.deepEqual(parseAnswer('(1,2]'), { kind: 'tuple', open: '(', close: ']', items: [{ kind: 'scalar', text: '1' }, { kind: 'scalar', text: '2' }] });
  assert.equal(parseAnswer('(a+5)(b+2)').kind, 'scalar');
  assert.equal(parseAnswer('\\{1,2\\}').kind, 'list');
  assert.deepEqual(parseAnswer('\\cot x'), { kind: 'scalar', text: '\\cot x' });
});

test('gamma (for factorials of non-integers) against known values', () => {
  // References: Γ(n) = (n-1)!, Γ(1/2) = √π, Γ(-1/2) = -2√π, Γ(3.7) from Python's math.gamma.
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.abs(b);
  assert.ok(close(gamma(5), 24));
  assert.ok(close(gamma(20), 121645100408832000));
  assert.ok(close(gamma(0.5), Math.sqrt(Math.PI)));
  assert.ok(close(gamma(-0.5), -2 * Math.sqrt(Math.PI)));
  assert.ok(close(gamma(3.7), 4.170651783796603));
});

test('random fractions against decimals, neighbours and unreduced forms (brute-force reference)', () => {
  const rng = new Rng(11);
  const gcd = (a: number, b: number): number => (b === 0 ? Math.abs(a) : gcd(b, a % b));
  const terminates = (q: number) => { while (q % 2 === 0) q /= 2; while (q % 5 === 0) q /= 5; return q === 1; };
  let checked = 0;
  for (let t = 0; t < 300; t++) {
    const q = 2 + rng.int(63);
    const p = rng.int(401) - 200;
    if (gcd(p, q) !== 1) continue;
    const gold = `${p < 0 ? '-' : ''}\\frac{${Math.abs(p)}}{${q}}`;
    // Exact decimal by long division (independent of the rewrite module).
    if (terminates(q)) {
      let k = 0, scale = 1;
      while ((scale * Math.abs(p)) % q !== 0) { scale *= 10; k++; }
      const digits = String((scale * Math.abs(p)) / q).padStart(k + 1, '0');
      const dec = `${p < 0 ? '-' : ''}${digits.slice(0, digits.length - k)}${k ? '.' + digits.slice(digits.length - k) : ''}`;
      assert.equal(gradeAnswer(dec, gold).correct, true, `${dec} = ${gold}`);
    } else {
      assert.equal(gradeAnswer((p / q).toPrecision(10), gold).correct, true, `${(p / q).toPrecision(10)} ≈ ${gold}`);
      assert.equal(gradeAnswer((p / q).toPrecision(3), gold).correct, false, `${(p / q).toPrecision(3)} too coarse for ${gold}`);
    }
    assert.equal(gradeAnswer(`${p + 1}/${q}`, gold).correct, false, `${p + 1}/${q} ≠ ${gold}`);
    assert.equal(gradeAnswer(`\\frac{${2 * p}}{${2 * q}}`, gold).correct, false, 'unreduced');
    assert.equal(gradeAnswer(`${p}/${q}`, gold).correct, true, `${p}/${q} = ${gold}`);
    checked++;
  }
  assert.ok(checked > 150);
});

test('integerGold: strict by default (PRM800K); the named cas option accepts exact expressions of the integer', async () => {
  const { createMathTask, mathTask } = await import('../../src/tasks/math.js');
  const accepted: Array<[string, string]> = [
    ['\\sqrt{16}', '4'], ['2^{4}', '16'], ['1.6e1', '16'], ['1.6\\times10^{1}', '16'], ['\\frac{32}{2}', '16'],
    ['\\sqrt{2}^2', '2'], ['-2^{3}', '-8'], ['1e20', '100000000000000000000'], ['\\binom{5}{2}', '10'],
  ];
  const refused: Array<[string, string]> = [
    ['\\sqrt{17}', '4'], ['2.5e0', '2'], ['4.0000001', '4'], ['x', '4'], ['2^{x}', '4'], ['\\frac{33}{2}', '16'],
    ['10^{20}', '100000000000000000000'], // beyond exact float evaluation: not shown equal
    ['1.6e1', '17'],
  ];
  for (const [given, gold] of accepted) {
    assert.deepEqual(gradeAnswer(given, gold), { correct: false, reason: 'mismatch: integer gold needs an integer answer' }, `${given} strict`);
    assert.deepEqual(gradeAnswer(given, gold, { integerGold: 'strict' }).correct, false);
    assert.deepEqual(gradeAnswer(given, gold, { integerGold: 'cas' }), { correct: true, reason: 'match (cas: an expression equal to the integer gold)' }, `${given} = ${gold}`);
  }
  for (const [given, gold] of refused) assert.equal(gradeAnswer(given, gold, { integerGold: 'cas' }).correct, false, `${given} ≠ ${gold}`);
  // Inside structures, and through the task option.
  assert.equal(gradeAnswer('(\\sqrt{4}, 3)', '(2, 3)', { integerGold: 'cas' }).correct, true);
  assert.equal(gradeAnswer('(\\sqrt{4}, 3)', '(2, 3)').correct, false);
  const q = { id: 'q', prompt: 'p', gold: { answer: '16' } };
  assert.equal(mathTask.verify('# Answer\n\n2^{4}', q) instanceof Promise, false);
  assert.equal((mathTask.verify('x\n\n# Answer\n\n2^{4}', q) as { correct: boolean }).correct, false);
  assert.equal((createMathTask({ integerGold: 'cas' }).verify('x\n\n# Answer\n\n2^{4}', q) as { correct: boolean }).correct, true);
  assert.throws(() => createMathTask({ integerGold: 'loose' as 'cas' }), /option integerGold: expected 'strict' or 'cas', found "loose"/);
});
