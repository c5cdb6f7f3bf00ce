import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  annotatedEquations, evalFlat, formatNumber, hashAnswer, lastNumber, normaliseEquation, numbersEqual, numbersInText,
  parseNumber, textEquations,
} from '../../src/tasks/numeric.js';

test('parseNumber reads commas, $, signs and decimals, and refuses non-numbers', () => {
  assert.equal(parseNumber('1,200'), 1200);
  assert.equal(parseNumber('$1,200.50'), 1200.5);
  assert.equal(parseNumber('-3'), -3);
  assert.equal(parseNumber('.5'), 0.5);
  assert.equal(parseNumber('18.00'), 18);
  assert.equal(parseNumber('12,34'), null); // not a thousands separator
  assert.equal(parseNumber('abc'), null);
  assert.equal(parseNumber(''), null);
});

test('formatNumber is canonical', () => {
  assert.equal(formatNumber(18), '18');
  assert.equal(formatNumber(-0), '0');
  assert.equal(formatNumber(0.1 + 0.2), '0.3');
  assert.equal(formatNumber(2.5), '2.5');
  assert.equal(formatNumber(109200000), '109200000');
});

test('numbersInText: minus is a sign only where it cannot be subtraction', () => {
  assert.deepEqual(numbersInText('5-3=2'), [5, 3, 2]);
  assert.deepEqual(numbersInText('the change is -10 degrees'), [-10]);
  assert.deepEqual(numbersInText('She paid $1,234.50 for 3 items, 25% off.'), [1234.5, 3, 25]);
  assert.deepEqual(numbersInText('3x4=12 and v1.5'), [3, 4, 12, 1.5]);
  assert.deepEqual(numbersInText('It ends at 18.'), [18]);
  assert.deepEqual(numbersInText('no numbers here'), []);
});

test('hashAnswer takes the last #### line; lastNumber the last number', () => {
  assert.equal(hashAnswer('a\n#### 72'), '72');
  assert.equal(hashAnswer('#### 1\nmore\n#### $1,080'), '1080');
  assert.equal(hashAnswer('#### -3.50'), '-3.5');
  assert.equal(hashAnswer('#### none'), null);
  assert.equal(hashAnswer('72'), null);
  assert.equal(hashAnswer('so she has 72 apples. #### 72'), '72');
  assert.equal(hashAnswer('#### \n72'), null);
  assert.equal(lastNumber('He has 5 apples, then 7 apples.'), '7');
  assert.equal(lastNumber('nothing'), null);
});

test('numbersEqual compares values, not strings', () => {
  assert.ok(numbersEqual('18', '18.0'));
  assert.ok(numbersEqual('1,000', '1000'));
  assert.ok(!numbersEqual('17.99', '18'));
  assert.ok(!numbersEqual('x', '18'));
});

test('equations: normal form sorts commutative operands, keeps sequence order', () => {
  assert.equal(normaliseEquation(' 4 + 3 = 7 '), '3+4=7');
  assert.equal(normaliseEquation('9*2=18'), '2*9=18');
  assert.equal(normaliseEquation('9-2=7'), '9-2=7'); // not commutative
  assert.equal(normaliseEquation('12/4=3'), '12/4=3');
  assert.equal(normaliseEquation('0.2 x 50 = 10.00'), '0.2*50=10');
  assert.equal(normaliseEquation('50*.2=10'), '0.2*50=10');
  assert.equal(normaliseEquation('$1,200/4=$300'), '1200/4=300');
  assert.equal(normaliseEquation('(3+4)*2=14'), '(3+4)*2=14'); // only single binary ops are reordered
  assert.deepEqual(annotatedEquations('A <<48/2=24>>24 then <<24+48=72>>72.\n#### 72'), ['48/2=24', '24+48=72']);
  assert.deepEqual(annotatedEquations('B <<5+3=8>>8. C <<3+5=8>>8'), ['3+5=8', '3+5=8']);
  assert.deepEqual(textEquations('He earns 12 x 5 = $60 and spends 60 - 15 = 45 dollars; 1,000 / 4 = 250.'), [
    '5*12=60', '60-15=45', '1000/4=250',
  ]);
  assert.deepEqual(textEquations('no arithmetic = here'), []);
});

test('evalFlat: precedence, signs, malformed input', () => {
  assert.equal(evalFlat('3-1'), 2);
  assert.equal(evalFlat('2+3*4'), 14);
  assert.equal(evalFlat('10/4'), 2.5);
  assert.equal(evalFlat('3--1'), 4);
  assert.equal(evalFlat('8-2-1'), 5);
  assert.equal(evalFlat('1+'), null);
  assert.equal(evalFlat('+1'), null);
  assert.equal(evalFlat('(1+2)'), null);
});

test('textEquations does not swallow punctuation after a number', () => {
  assert.deepEqual(textEquations('So 60 - 15 = 45, then 45 + 5 = 50.'), ['60-15=45', '5+45=50']);
});

test('textEquations ignores algebra glued to numbers', () => {
  assert.deepEqual(textEquations('192 / 1.2 = 1.2Y / 1.2 or 160 = Y.'), []);
  assert.deepEqual(textEquations('so 100/5 = 5A/5'), []);
  assert.deepEqual(textEquations('then 192 / 1.2 = 160.'), ['192/1.2=160']);
});

test('textEquations: chained equalities, and linear time on operator garbage', () => {
  assert.deepEqual(textEquations('5 + 3 = 8 + 2 = 10'), ['3+5=8', '2+8=10']);
  const t0 = performance.now();
  assert.deepEqual(textEquations('1+'.repeat(20000)), []);
  assert.ok(performance.now() - t0 < 200, `took ${performance.now() - t0} ms`);
});
