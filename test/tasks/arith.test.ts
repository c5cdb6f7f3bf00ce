import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARITH_ALPHABET, allOrders, arithKnobs, arithLengths, arithPlan, arithSplitOf, countOrders, countSolutions,
  selfCheck, solutionVariants, task,
} from '../../src/tasks/arith.js';
import { TaskOptionError } from '../../src/tasks/options.js';
import { completeRow } from '../../src/tasks/index.js';
import type { Query, Verdict } from '../../src/tasks/types.js';

const load = (split: 'train' | 'dev' | 'test', opts = {}) => task.load(split, opts) as Query[];
const verify = (text: string, q: Query) => task.verify(text, q) as Verdict;

// ---------------------------------------------------------------------------------------------
// An independent reader of the question text: tracks every person's count sentence by sentence and
// answers the question. It knows the sentence shapes, not the generator's plan.

const WORD_FACTOR: Record<string, number> = {
  twice: 2, 'three times': 3, 'four times': 4, 'five times': 5, 'six times': 6, 'seven times': 7, 'eight times': 8, 'nine times': 9,
  half: 2, 'a third': 3, 'a quarter': 4, 'a fifth': 5, 'a sixth': 6, 'a seventh': 7, 'an eighth': 8, 'a ninth': 9,
};
const MULT = new Set(['twice', 'three times', 'four times', 'five times', 'six times', 'seven times', 'eight times', 'nine times']);

function solveByReading(question: string): number {
  const parts = question.match(/[^.?]+[.?]/g)!.map((s) => s.trim());
  const ask = parts.pop()!;
  const item = /^How many (?:more )?(\w+)/.exec(ask)![1];
  const sing = item.slice(0, -1);
  const has = new Map<string, number>();
  const get = (n: string) => {
    assert.ok(has.has(n), `${n} used before stated in: ${question}`);
    return has.get(n)!;
  };
  let m: RegExpExecArray | null;
  for (const s of parts) {
    if ((m = /^(\w+) (?:has|owns) (\d+) (\w+)\.$/.exec(s))) {
      if (m[3] === item || m[3] === sing) has.set(m[1], Number(m[2]));
    } else if ((m = /^(\w+) has (\d+) (more|fewer) \w+ than (\w+)\.$/.exec(s))) {
      has.set(m[1], get(m[4]) + (m[3] === 'more' ? 1 : -1) * Number(m[2]));
    } else if ((m = /^(\w+) has (.+) as many \w+ as (\w+)\.$/.exec(s))) {
      const f = WORD_FACTOR[m[2]];
      has.set(m[1], MULT.has(m[2]) ? get(m[3]) * f : get(m[3]) / f);
    } else if ((m = /^(\w+) (?:buys|finds|gets|wins|makes) (\d+) more\.$/.exec(s))) {
      has.set(m[1], get(m[1]) + Number(m[2]));
    } else if ((m = /^(\w+) (?:loses|gives away|sells|breaks) (\d+)\.$/.exec(s)) || (m = /^(\w+) gives (\d+) to a friend\.$/.exec(s))) {
      has.set(m[1], get(m[1]) - Number(m[2]));
    } else if ((m = /^(\w+) now has (.+) as many\.$/.exec(s))) {
      has.set(m[1], get(m[1]) * WORD_FACTOR[m[2]]);
    } else if ((m = /^(\w+) keeps (.+) of them\.$/.exec(s))) {
      has.set(m[1], get(m[1]) / WORD_FACTOR[m[2]]);
    } else if ((m = /^(\w+) (?:buys (\d+) \w+ of (\d+)|gets (\d+) \w+ with (\d+) in each)\.$/.exec(s))) {
      has.set(m[1], get(m[1]) + Number(m[2] ?? m[4]) * Number(m[3] ?? m[5]));
    } else if (/^(\w+) is (\d+) years old\.$/.test(s) || /^(\w+) also has (\d+) \w+\.$/.test(s)) {
      // distractor
    } else assert.fail(`unreadable sentence "${s}" in: ${question}`);
    for (const v of has.values()) assert.ok(Number.isInteger(v) && v >= 0, `count ${v} after "${s}"`);
  }
  if ((m = /^How many \w+ does (\w+) (?:have now|end up with|have)\?$/.exec(ask))) return get(m[1]);
  if ((m = /^How many \w+ do (\w+) and (\w+) have (?:together|in all)\?$/.exec(ask))) return get(m[1]) + get(m[2]);
  if ((m = /^How many more \w+ does (\w+) have than (\w+)\?$/.exec(ask))) return get(m[1]) - get(m[2]);
  return assert.fail(`unreadable question "${ask}"`);
}

/** An independent check of a worked solution against its question: every equation is true, each operand
 * is a number of the question (or a factor word) or an earlier result, and the last line is the answer. */
function checkSolution(question: string, solution: string, answer: number): void {
  const lines = solution.split('\n');
  const last = lines.pop()!;
  assert.equal(last, `#### ${answer}`);
  const stated = new Set((question.match(/\d+/g) ?? []).map(Number));
  for (const [w, f] of Object.entries(WORD_FACTOR)) if (question.includes(` ${w} `)) stated.add(f);
  const results: number[] = [];
  for (const line of lines) {
    const m = /<<(\d+)([-+*/])(\d+)=(\d+)>>(\d+)/.exec(line);
    assert.ok(m, `no equation in "${line}"`);
    const [a, op, b, c, shown] = [Number(m[1]), m[2], Number(m[3]), Number(m[4]), Number(m[5])];
    const v = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
    assert.equal(v, c, `false equation in "${line}"`);
    assert.equal(shown, c);
    for (const x of [a, b]) assert.ok(stated.has(x) || results.includes(x), `operand ${x} in "${line}" comes from nowhere`);
    results.push(c);
  }
  assert.equal(results[results.length - 1], answer);
}

// ---------------------------------------------------------------------------------------------

test('every generated problem is answered the same by an independent reader, across knobs', () => {
  const settings = [
    {},
    { steps: [1, 6], ops: ['+', '-', '*', '/'], distractors: 1, size: 300, maxChars: 0 },
    { steps: 5, ops: ['*', '/'], numbers: [2, 20], maxValue: 500, size: 100, maxChars: 0 },
    { asks: ['now'], relative: 0, steps: [2, 3], ops: ['+', '*'], size: 100 },
    { asks: ['more'], relative: 1, steps: [2, 4], size: 100 },
  ];
  for (const s of settings) {
    for (const q of load('train', { size: 300, ...s })) {
      assert.equal(solveByReading(q.prompt), Number(q.gold.answer), q.prompt);
      checkSolution(q.prompt, task.goldSolution(q), Number(q.gold.answer));
    }
  }
});

test('every solution variant is a valid worked solution; variants are distinct; gold comes first', () => {
  let multi = 0;
  for (const q of load('test', { size: 300, ops: ['+', '-', '*', '/'], steps: [1, 5], maxChars: 0 })) {
    const vs = solutionVariants(q, { max: 1000 });
    assert.equal(vs[0], task.goldSolution(q));
    assert.equal(new Set(vs).size, vs.length);
    assert.equal(vs.length, countSolutions(arithPlan(q).steps, Number(q.gold.answer)));
    assert.equal(vs.length, (q.meta as { solutions: number }).solutions);
    for (const v of vs) {
      checkSolution(q.prompt, v, Number(q.gold.answer));
      assert.ok(verify(v, q).correct);
    }
    if (vs.length > 1) multi++;
  }
  assert.ok(multi > 100, `only ${multi}/300 problems have more than one solution`);
});

test('sampled variants (more solutions than max) are distinct, valid and seeded', () => {
  const qs = load('train', { size: 200, steps: 6, maxChars: 0 });
  const q = qs.find((x) => (x.meta as { solutions: number }).solutions > 20)!;
  assert.ok(q, 'expected a 6-step problem with more than 20 solutions');
  const a = solutionVariants(q, { max: 10, seed: 1 });
  assert.equal(a.length, 10);
  assert.equal(new Set(a).size, 10);
  assert.deepEqual(solutionVariants(q, { max: 10, seed: 1 }), a);
  for (const v of a) checkSolution(q.prompt, v, Number(q.gold.answer));
});

test('countOrders (hook formula) equals brute-force enumeration of step orders', () => {
  for (const q of load('dev', { size: 100, steps: [3, 6], ops: ['+', '-', '*'], maxChars: 0 })) {
    const steps = arithPlan(q).steps;
    assert.equal(countOrders(steps), allOrders(steps).length);
  }
});

test('equations() keeps step order and canonicalises commutative operands', () => {
  const q = load('train', { size: 400 }).find((x) => solutionVariants(x).length >= 3)!;
  const vs = solutionVariants(q);
  const seqs = vs.map((v) => task.equations!(v).join(' '));
  assert.equal(new Set(seqs).size, vs.length, 'different solutions must have different equation sequences');
  assert.deepEqual(task.equations!('A has <<4+3=7>>7.\nB has <<7-2=5>>5.'), ['3+4=7', '7-2=5']);
  assert.deepEqual(task.equations!('A has <<3+4=7>>7.'), task.equations!('A has <<4+3=7>>7.'));
});

test('prompts and solutions use only ARITH_ALPHABET (≤ 96 symbols)', () => {
  assert.ok(ARITH_ALPHABET.length <= 96);
  assert.equal(new Set(ARITH_ALPHABET).size, ARITH_ALPHABET.length);
  const alphabet = new Set(ARITH_ALPHABET);
  for (const opts of [{}, { ops: ['+', '-', '*', '/'], distractors: 1, steps: [1, 6], maxChars: 0 }]) {
    for (const q of load('train', { size: 500, ...opts })) {
      for (const text of [task.formatPrompt(q), ...solutionVariants(q, { max: 4 })]) {
        for (const c of text) assert.ok(alphabet.has(c), `char ${JSON.stringify(c)} in ${JSON.stringify(text)}`);
      }
    }
  }
});

test('splits are disjoint by construction and deterministic from the seed', () => {
  const knobs = [{ size: 800 }, { size: 300, steps: 1 }, { size: 300, ops: ['+'], numbers: [1, 3], steps: [1, 2] }];
  const ids = { train: new Set<string>(), dev: new Set<string>(), test: new Set<string>() };
  for (const k of knobs) {
    for (const split of ['train', 'dev', 'test'] as const) {
      for (const q of load(split, k)) {
        ids[split].add(q.id);
        assert.equal(arithSplitOf(q.prompt).split, split);
      }
    }
  }
  for (const [a, b] of [['train', 'dev'], ['train', 'test'], ['dev', 'test']] as const) {
    for (const id of ids[a]) assert.ok(!ids[b].has(id), `${id} in ${a} and ${b}`);
  }
  // Same seed → same problems; another seed → others.
  assert.deepEqual(load('test', { size: 50 }), load('test', { size: 50 }));
  const other = new Set(load('test', { size: 50, seed: 7 }).map((q) => q.id));
  assert.ok(load('test', { size: 50 }).filter((q) => other.has(q.id)).length < 10);
  // A prefix of a bigger load is the smaller load; limit caps.
  assert.deepEqual(load('dev', { size: 100 }).slice(0, 40), load('dev', { size: 40 }));
  assert.equal(load('dev', { size: 100, limit: 7 }).length, 7);
  // Ids are unique within a split.
  const ts = load('train', { size: 2000, steps: [1, 2] });
  assert.equal(new Set(ts.map((q) => q.id)).size, ts.length);
});

test('knobs shape the problems: steps, ops, numbers, maxValue', () => {
  const stepsOf = (q: Query) => (q.meta as { steps: number }).steps;
  const qs = load('train', { size: 1000, steps: { 1: 3, 4: 1 } });
  const ones = qs.filter((q) => stepsOf(q) === 1).length;
  assert.ok(qs.every((q) => stepsOf(q) === 1 || stepsOf(q) === 4));
  assert.ok(ones > 680 && ones < 820, `expected ~750 one-step problems, got ${ones}`);
  for (const q of load('train', { size: 300 })) {
    for (const e of task.equations!(task.goldSolution(q))) assert.match(e, /^\d+[-+]\d+=\d+$/);
    assert.ok((q.prompt.match(/\d+/g) ?? []).every((n) => Number(n) >= 1 && Number(n) <= 9), q.prompt);
  }
  const big = load('train', { size: 300, ops: ['*'], steps: [1, 3], numbers: [2, 9], maxValue: 60 });
  for (const q of big) {
    for (const e of task.equations!(task.goldSolution(q))) assert.match(e, /^\d+\*\d+=\d+$/);
    for (const s of arithPlan(q).steps) assert.ok(s.value <= 60);
  }
  const withDiv = load('train', { size: 300, ops: ['/', '+'] });
  assert.ok(withDiv.some((q) => task.goldSolution(q).includes('/')));
});

test('asks and relative choose the question kinds and relative starts', () => {
  const only = (asks: string[], relative: number) => load('train', { asks, relative, size: 200 });
  for (const q of only(['now'], 0)) {
    assert.match(q.prompt, /How many \w+ does \w+ (?:have now|end up with|have)\?$/);
    assert.equal(new Set(q.prompt.match(/[A-Z][a-z]+(?= (?:has|owns) )/g)).size, 1, q.prompt);
  }
  for (const q of only(['together'], 0)) assert.match(q.prompt, /have (?:together|in all)\?$/);
  for (const q of only(['more'], 0)) assert.match(q.prompt, /How many more /);
  const rel = only(['together', 'more'], 1).filter((q) => (q.meta as { steps: number }).steps >= 2);
  assert.ok(rel.every((q) => / (?:more|fewer) \w+ than |as many \w+ as /.test(q.prompt)), 'every 2+-step problem starts relative');
});

test('knob validation: unknown keys and bad values are refused with the knob named', () => {
  assert.throws(() => load('train', { stpes: 3 }), (e: Error) => e instanceof TaskOptionError && /unknown option "stpes"/.test(e.message) && /steps/.test(e.message));
  assert.throws(() => load('train', { steps: 7 }), /option "steps"/);
  assert.throws(() => load('train', { steps: [3, 2] }), /option "steps"/);
  assert.throws(() => load('train', { steps: { 0: 1 } }), /option "steps"/);
  assert.throws(() => load('train', { ops: ['^'] }), /option "ops"/);
  assert.throws(() => load('train', { ops: [] }), /option "ops"/);
  assert.throws(() => load('train', { numbers: [0, 9] }), /option "numbers"/);
  assert.throws(() => load('train', { factors: [1, 3] }), /option "factors"/);
  assert.throws(() => load('train', { distractors: 2 }), /option "distractors"/);
  assert.throws(() => load('train', { people: 2 }), /unknown option "people"/);
  assert.throws(() => load('train', { asks: ['why'] }), /option "asks"/);
  assert.throws(() => load('train', { asks: ['together'], ops: ['-'] }), /option "asks".*needs "\+"/);
  assert.throws(() => load('train', { relative: -0.1 }), /option "relative"/);
  assert.throws(() => load('train', { size: -1 }), /option "size"/);
  assert.throws(() => load('train', { seed: 1.5 }), /option "seed"/);
  // Too few distinct problems for the size asked: a clear error, not a hang.
  assert.throws(() => load('test', { size: 2, maxChars: 20 }), /too few problems/);
  assert.equal(arithKnobs('test').size, 500);
});

test('extractAnswer and verify: #### line first, last number as fallback, exact integers', () => {
  const q = load('test', { size: 1 })[0];
  const gold = Number(q.gold.answer);
  assert.equal(task.extractAnswer(`x\n#### ${gold}`), String(gold));
  assert.equal(task.extractAnswer(`#### ${gold}\nthen 3`), String(gold));
  assert.equal(task.extractAnswer('so the answer is 12 apples'), '12');
  assert.equal(task.extractAnswer('no digits'), null);
  assert.deepEqual(verify(`#### ${gold}`, q), { correct: true, answer: String(gold), reason: 'match' });
  assert.equal(verify(`#### ${gold + 1}`, q).reason, 'mismatch');
  assert.equal(verify(`#### ${gold}.5`, q).correct, false);
  assert.deepEqual(verify('I do not know', q), { correct: false, answer: null, reason: 'no-answer' });
});

test('length: default problems fit a 256-character context with the prompt', () => {
  const lens = arithLengths(load('test')).sort((a, b) => a - b);
  assert.ok(lens[lens.length - 1] <= 250, `longest default problem is ${lens[lens.length - 1]} chars`);
  const uncapped = arithLengths(load('test', { steps: [5, 6], size: 50, maxChars: 0 }));
  assert.ok(uncapped.some((l) => l > 250), 'long problems exist when the cap is off');
  const capped = arithLengths(load('test', { steps: [1, 6], size: 100, maxChars: 200 }));
  assert.ok(capped.every((l) => l <= 200));
});

test('self-check (fast) passes', () => {
  const rows = selfCheck({ limit: 200 }).map(completeRow);
  for (const r of rows) assert.ok(r.ok, `${r.split} ${r.check}: ${JSON.stringify(r.failures)}`);
  assert.equal(rows.length, 7);
  assert.deepEqual(rows.filter((r) => r.check.startsWith('gold')).map((r) => r.rows), [200, 200, 200]);
});

test('stream stability: seed 0 gives the same test problems as when this test was written', () => {
  // A golden check, not a correctness check: runs, checkpoints and reports name arith queries by id,
  // so a change to the generator's stream must be deliberate. If you change templates or drawing
  // order on purpose, update these ids (and say so in the change log).
  const qs = load('test', { size: 5 });
  assert.deepEqual(qs.map((q) => q.id), ['arith-ef87dc6f52e1', 'arith-fe1804d61a4e', 'arith-fbcfb6780dac', 'arith-fad46eca394c', 'arith-f9311d22cc0e']);
  assert.equal(qs[0].prompt, 'Val has 3 bells. Tom has 1 bell. Val wins 1 more. Tom wins 9 more. How many more bells does Tom have than Val?');
  assert.equal(task.goldSolution(qs[0]), 'Val has <<3+1=4>>4.\nTom has <<1+9=10>>10.\nTom has <<10-4=6>>6 more.\n#### 6');
});
