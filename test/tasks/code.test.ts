// The code task: extraction, loading and splits, verdict reasons, gold solutions (a seeded subset here;
// all 1,138 in selfCheck / `bstar data check`), APPS-format files, data errors.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CodeDataError,
  CodeTaskOptionError,
  appsOutputMatches,
  appsTask,
  extractProgram,
  humanEvalProgram,
  makeHumanEvalTask,
  makeMbppTask,
  resolveDataDir,
  selfCheck,
} from '../../src/tasks/code.js';
import { Sandbox } from '../../src/tasks/sandbox.js';
import { MalformedDataError, MissingDataError, packageRoot } from '../../src/tasks/data.js';
import type { Query } from '../../src/tasks/types.js';

const SKIP = existsSync('/usr/bin/bwrap') ? false : 'bubblewrap is not installed (apt-get install bubblewrap)';
const sandbox = new Sandbox({ wallMs: 20000, cpuSeconds: 5 });
const mbpp = makeMbppTask({ sandbox });
const humaneval = makeHumanEvalTask({ sandbox });
const scratch = mkdtempSync(join(tmpdir(), 'bstar-code-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------
// Extraction

test('extractProgram: fenced blocks, a fence the prompt opened, raw code, nothing', () => {
  assert.equal(extractProgram('Here:\n```python\ndef f():\n    return 1\n```\nDone.'), 'def f():\n    return 1\n');
  assert.equal(extractProgram('```py\nx = 1\n```'), 'x = 1\n');
  assert.equal(extractProgram('text\n```\nx = 2\n```\n'), 'x = 2\n');
  assert.equal(extractProgram('```python\na = 1\n```\nand\n```python\nb = 2\n```'), 'a = 1\n', 'first block');
  assert.equal(extractProgram('```python\nx = 3\n'), 'x = 3\n', 'unclosed fence (cut by a stop string)');
  assert.equal(extractProgram('def g():\n    pass\n```\nexplanation'), 'def g():\n    pass\n', 'prompt opened the fence');
  assert.equal(extractProgram('def h(): return 4'), 'def h(): return 4\n');
  assert.equal(extractProgram('    return x + 1\n'), '    return x + 1\n', 'leading indentation kept');
  assert.equal(extractProgram('a = 1\r\nb = 2\r\n'), 'a = 1\nb = 2\n');
  assert.equal(extractProgram(''), null);
  assert.equal(extractProgram('```python\n\n```'), null);
  assert.equal(extractProgram('   \n  '), null);
});

test('humanEvalProgram: a body is appended to the prompt, a whole function replaces the stub', () => {
  const prompt = 'def add(a, b):\n    """Add."""\n';
  assert.equal(humanEvalProgram(prompt, '    return a + b\n'), 'def add(a, b):\n    """Add."""\n    return a + b\n');
  const full = humanEvalProgram(prompt, 'def add(a, b):\n    return a + b\n');
  assert.ok(full.startsWith(prompt) && full.endsWith('def add(a, b):\n    return a + b\n'));
});

test('appsOutputMatches: whitespace-tolerant lines, tokens, numeric tolerance', () => {
  assert.ok(appsOutputMatches('1 2\n3\n', '1 2\n3'));
  assert.ok(appsOutputMatches('  1 2  \r\n\n3\n\n', '1 2\n3\n'));
  assert.ok(appsOutputMatches('1\n2\n', '1 2'), 'same tokens over different lines');
  assert.ok(appsOutputMatches('0.3333333\n', '0.33333333333\n'));
  assert.ok(!appsOutputMatches('0.3334\n', '0.3333\n'));
  assert.ok(!appsOutputMatches('1 2\n', '1 2 3\n'));
  assert.ok(!appsOutputMatches('YES\n', 'yes\n'));
  assert.ok(!appsOutputMatches('', '0\n'));
});

// ---------------------------------------------------------------------------------------------------
// Loading

test('mbpp: standard split by task_id, sizes, order, prompt format', () => {
  const tr = mbpp.load('train') as Query[];
  const dev = mbpp.load('dev') as Query[];
  const te = mbpp.load('test') as Query[];
  assert.deepEqual([tr.length, dev.length, te.length], [374, 90, 500]);
  const num = (q: Query) => Number(q.id.split('/')[1]);
  assert.deepEqual([num(te[0]), num(te[499]), num(dev[0]), num(dev[89]), num(tr[0]), num(tr[373])], [11, 510, 511, 600, 601, 974]);
  const q = te[0];
  const p = mbpp.formatPrompt(q);
  assert.ok(p.startsWith(q.prompt));
  assert.ok(p.includes((q.meta!.tests as string[])[0]));
  assert.ok(!p.includes((q.meta!.tests as string[])[1]), 'only one test is shown');
  assert.ok(p.endsWith('```python\n'));
  const few = makeMbppTask({ fewShot: 3, sandbox });
  const fp = few.formatPrompt((few.load('test') as Query[])[0]);
  assert.equal(fp.split('```python\n').length - 1, 4, 'three worked examples, then the question');
  assert.ok(fp.endsWith(p));
});

test('load options: limit, seeded sample, unknown keys and bad values refused', () => {
  const a = mbpp.load('train', { limit: 7, seed: 3 }) as Query[];
  const b = mbpp.load('train', { limit: 7, seed: 3 }) as Query[];
  const c = mbpp.load('train', { limit: 7, seed: 4 }) as Query[];
  assert.deepEqual(a.map((q) => q.id), b.map((q) => q.id));
  assert.notDeepEqual(a.map((q) => q.id), c.map((q) => q.id));
  assert.equal(new Set(a.map((q) => q.id)).size, 7);
  assert.deepEqual((mbpp.load('train', { limit: 2 }) as Query[]).map((q) => q.id), ['mbpp/601', 'mbpp/602']);
  assert.throws(() => mbpp.load('train', { limt: 2 }), (e: Error) => e instanceof CodeTaskOptionError && /limt: unknown/.test(e.message));
  assert.throws(() => mbpp.load('train', { limit: -1 }), /limit: expected a non-negative integer/);
  assert.throws(() => humaneval.load('train'), /only a test split/);
  assert.equal((humaneval.load('test') as Query[]).length, 164);
  assert.throws(() => makeMbppTask({ fewShot: 4 }), /fewShot: expected an integer 0..3/);
});

test("data dir: opts.dataDir beats BSTAR_DATA beats the package's data/", () => {
  const old = process.env.BSTAR_DATA;
  try {
    process.env.BSTAR_DATA = '/from/env';
    assert.equal(resolveDataDir({ dataDir: '/from/opts' }), '/from/opts');
    assert.equal(resolveDataDir({}), '/from/env');
    delete process.env.BSTAR_DATA;
    assert.equal(resolveDataDir(), join(packageRoot(), 'data'));
  } finally {
    if (old === undefined) delete process.env.BSTAR_DATA;
    else process.env.BSTAR_DATA = old;
  }
});

test('bad data files: missing file, malformed line, missing field — each named', () => {
  const dir = join(scratch, 'bad');
  mkdirSync(join(dir, 'code'), { recursive: true });
  const file = join(dir, 'code', 'mbpp.jsonl');
  assert.throws(() => mbpp.load('test', { dataDir: dir }), (e: Error) => e instanceof MissingDataError && e.message.includes(file) && /does not exist/.test(e.message));
  const good = JSON.stringify({ task_id: 11, text: 't', code: 'x=1', test_setup_code: '', test_list: ['assert x == 1'], challenge_test_list: [] });
  writeFileSync(file, `${good}\n{"task_id": 12, "text": oops}\n`);
  assert.throws(() => mbpp.load('test', { dataDir: dir }), (e: Error) => e instanceof MalformedDataError && e.message.startsWith(`${file}:2: expected one JSON object per line, found invalid JSON`));
  writeFileSync(file, `${good}\n\n${JSON.stringify({ task_id: 12, text: 't', code: 'x=1', test_list: 'assert x' })}\n`);
  assert.throws(() => mbpp.load('test', { dataDir: dir }), (e: Error) => e instanceof CodeDataError && e.message.startsWith(`${file}:3: field "test_list": expected a list of strings`));
  writeFileSync(file, `${JSON.stringify({ task_id: 'x', text: 't', code: '', test_list: [] })}\n`);
  assert.throws(() => mbpp.load('test', { dataDir: dir }), /:1: field "task_id": expected a positive integer/);
  writeFileSync(join(dir, 'code', 'humaneval.jsonl'), `${JSON.stringify({ task_id: 'H/0', prompt: 'def f():\n', entry_point: 'f g', canonical_solution: '', test: '' })}\n`);
  assert.throws(() => humaneval.load('test', { dataDir: dir }), /humaneval\.jsonl:1: field "entry_point": expected a Python identifier/);
});

// ---------------------------------------------------------------------------------------------------
// Gold solutions (seeded subsets; all rows in selfCheck) and negatives

test('mbpp: gold solutions of a seeded subset of every split pass; another task\'s gold fails', { skip: SKIP }, async () => {
  for (const split of ['train', 'dev', 'test'] as const) {
    const qs = mbpp.load(split, { limit: 25, seed: 20260 }) as Query[];
    const vs = await Promise.all(qs.map((q) => mbpp.verify(mbpp.goldSolution(q), q)));
    vs.forEach((v, i) => assert.deepEqual([qs[i].id, v.correct, v.reason], [qs[i].id, true, 'pass']));
    const neg = await Promise.all(qs.slice(0, 10).map((q, i) => mbpp.verify(mbpp.goldSolution(qs[i + 1]), q)));
    neg.forEach((v, i) => assert.equal(v.correct, false, `${qs[i].id} accepted ${qs[i + 1].id}'s gold`));
  }
});

test('humaneval: canonical bodies of a seeded subset pass, as bodies and as whole fenced functions', { skip: SKIP }, async () => {
  const qs = humaneval.load('test', { limit: 30, seed: 7 }) as Query[];
  const bodies = await Promise.all(qs.map((q) => humaneval.verify(humaneval.goldSolution(q), q)));
  bodies.forEach((v, i) => assert.deepEqual([qs[i].id, v.reason], [qs[i].id, 'pass']));
  // The whole function, as a chat model would answer: the prompt's def + the body, fenced.
  const wholes = await Promise.all(qs.slice(0, 10).map((q) => humaneval.verify(`Sure:\n\`\`\`python\n${q.prompt}${q.gold.solution}\`\`\`\n`, q)));
  wholes.forEach((v, i) => assert.deepEqual([qs[i].id, v.reason], [qs[i].id, 'pass']));
  const neg = await Promise.all(qs.slice(0, 10).map((q) => humaneval.verify('    return None\n', q)));
  neg.forEach((v, i) => assert.equal(v.correct, false, qs[i].id));
});

test('verdict reasons: pass, failed assertion, exception type, syntax error, early exit, no code, timeout, memory', { skip: SKIP }, async () => {
  const quick = makeMbppTask({ sandbox: new Sandbox({ wallMs: 8000, cpuSeconds: 1, memoryBytes: 512 << 20 }) });
  const q = (quick.load('test') as Query[]).find((x) => x.id === 'mbpp/17')!; // square_perimeter(a) = 4a
  assert.ok((q.meta!.tests as string[])[0].includes('square_perimeter'));
  const reason = async (text: string) => (await quick.verify(text, q)).reason;
  assert.equal(await reason('def square_perimeter(a):\n    return 4 * a\n```'), 'pass');
  assert.equal(await reason('```python\ndef square_perimeter(a):\n    return 4 * a\n```'), 'pass');
  assert.equal(await reason('def square_perimeter(a):\n    return 3 * a\n'), 'failed assertion');
  assert.equal(await reason('def square_perimeter(a):\n    return {}[a]\n'), 'exception: KeyError');
  assert.equal(await reason('def square_perimeter(a)\n    return 4 * a\n'), 'syntax error');
  assert.equal(await reason('def square_perimeter(a):\nreturn 4 * a\n'), 'syntax error');
  assert.equal(await reason('def square_perimeter(a):\n    return 4 * a\nimport sys\nsys.exit(0)\n'), 'exited before the tests ran');
  assert.equal(await reason('def square_perimeter(a):\n    return 4 * a\nimport os\nos._exit(0)\n'), 'exited before the tests ran');
  assert.equal(await reason('def square_perimeter(a):\n    return 4 * a\nimport sys\nsys.exit(2)\n'), 'exit 2');
  assert.equal(await reason('def square_perimeter(a):\n    while True: pass\n'), 'timeout (cpu)');
  assert.equal(await reason('def square_perimeter(a):\n    return len(bytearray(8 << 30))\n'), 'memory');
  assert.equal(await reason('while True: print("spam" * 100)\n'), 'output limit');
  assert.equal(await reason('The answer is four times a.\n'), 'syntax error');
  assert.equal(await reason('class Boom(Exception): pass\ndef square_perimeter(a):\n    raise Boom("no")\n'), 'exception: Boom');
  assert.equal(await reason('import sys\ndef square_perimeter(a):\n    sys.stderr.write("Warning: x\\n"); sys.exit(4)\n'), 'exit 4');
  const none = await quick.verify('```python\n```', q);
  assert.deepEqual(none, { correct: false, answer: null, reason: 'no code' });
  const v = await quick.verify('def square_perimeter(a):\n    return 4 * a\n', q);
  assert.equal(v.answer, 'def square_perimeter(a):\n    return 4 * a\n');
});

// ---------------------------------------------------------------------------------------------------
// APPS format

const APPS_ROWS = [
  {
    problem_id: 4001,
    question: 'Read T, then T lines with two integers; print their sums, one per line.',
    solutions: JSON.stringify(['t = int(input())\nfor _ in range(t):\n    a, b = map(int, input().split())\n    print(a + b)\n']),
    input_output: JSON.stringify({ inputs: ['2\n1 2\n3 4\n', '1\n-5 5\n'], outputs: ['3\n7\n', '0  \n'] }),
    difficulty: 'introductory',
    starter_code: '',
  },
  {
    problem_id: 4002,
    question: 'Print the average of the numbers on the line.',
    solutions: ['xs = list(map(float, input().split()))\nprint(sum(xs) / len(xs))\n'],
    input_output: { inputs: [['1 2 2']], outputs: [['1.6666666667']] },
    difficulty: 'interview',
  },
  {
    problem_id: 4003,
    question: 'Return the number of vowels in s.',
    solutions: JSON.stringify(['class Solution:\n    def countVowels(self, s):\n        return sum(c in "aeiou" for c in s)\n']),
    input_output: JSON.stringify({ fn_name: 'countVowels', inputs: [['hello'], ['xyz']], outputs: [[2], [0]] }),
    starter_code: 'class Solution:\n    def countVowels(self, s):\n        ',
  },
  {
    problem_id: 4004,
    question: 'Return the pair (a+b, a*b).',
    solutions: ['def pair(a, b):\n    return (a + b, a * b)\n'],
    input_output: { fn_name: 'pair', inputs: [[2, 3], [0, 9]], outputs: [[5, 6], [9, 0]] },
  },
];

test('apps format: stdin/stdout and call-based cases; gold passes, wrong programs fail with the case named', { skip: SKIP }, async () => {
  const file = join(scratch, 'apps.jsonl');
  writeFileSync(file, APPS_ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const apps = appsTask(file, { sandbox });
  const qs = apps.load('test') as Query[];
  assert.deepEqual(qs.map((q) => q.id), ['apps/4001', 'apps/4002', 'apps/4003', 'apps/4004']);
  assert.match(apps.formatPrompt(qs[0]), /^\nQUESTION:\nRead T[\s\S]*Use Standard Input format\nANSWER:\n$/);
  assert.match(apps.formatPrompt(qs[2]), /class Solution:[\s\S]*Use Call-Based format\nANSWER:\n$/);
  for (const q of qs) assert.deepEqual([q.id, (await apps.verify(apps.goldSolution(q), q)).reason], [q.id, 'pass']);
  const r1 = await apps.verify('t = int(input())\nfor _ in range(t):\n    a, b = map(int, input().split())\n    print(a - b if a < 0 else a + b)\n', qs[0]);
  assert.deepEqual([r1.correct, r1.reason], [false, 'wrong output (case 2 of 2)']);
  const r2 = await apps.verify('print(int(input()) // 0)\n', qs[0]);
  assert.equal(r2.reason, 'exception: ZeroDivisionError (case 1 of 2)');
  const r3 = await apps.verify('xs = list(map(float, input().split()))\nprint(round(sum(xs) / len(xs), 2))\n', qs[1]);
  assert.equal(r3.reason, 'wrong output (case 1 of 1)');
  const r4 = await apps.verify('def pair(a, b):\n    return (a + b, a - b)\n', qs[3]);
  assert.equal(r4.reason, 'wrong output (case 1 of 2)');
  const r5 = await apps.verify('def pair(a, b):\n    print("noise")\n    return (a + b, a * b)\n', qs[3]);
  assert.equal(r5.reason, 'pass', 'prints inside the function do not spoil a call-based answer');
  const byId = appsTask({ train: file }, { sandbox });
  assert.equal((byId.load('train') as Query[]).length, 4);
  assert.throws(() => byId.load('test'), /no file given for split "test"/);
});

test('apps format: malformed rows are named', () => {
  const file = join(scratch, 'apps-bad.jsonl');
  writeFileSync(file, JSON.stringify({ problem_id: 1, question: 'q', input_output: '{"inputs": [1], "outputs": []}' }) + '\n');
  assert.throws(() => appsTask(file).load('test'), (e: Error) => e instanceof CodeDataError && e.message.startsWith(`${file}:1: field "input_output": expected non-empty inputs and outputs lists of equal length`));
  writeFileSync(file, JSON.stringify({ problem_id: 1, question: 'q', input_output: '{"inputs": [' }) + '\n');
  assert.throws(() => appsTask(file).load('test'), /:1: field "input_output": malformed JSON inside the string/);
});

// ---------------------------------------------------------------------------------------------------

test('selfCheck: table rows per task and split, all gold verified (seeded subset)', { skip: SKIP }, async () => {
  const rows = await selfCheck({ limit: 4, seed: 1, sandbox });
  assert.deepEqual(rows.map((r) => `${r.task}/${r.split}`), ['mbpp/fewshot', 'mbpp/train', 'mbpp/dev', 'mbpp/test', 'humaneval/test']);
  for (const r of rows) {
    assert.equal(r.rows, 4);
    assert.equal(r.verified, 4, JSON.stringify(r.failures));
    assert.ok(r.ms >= 0);
  }
});
