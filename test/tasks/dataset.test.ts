// A user's own dataset (task.file / --dataset, task.fields): JSONL, JSON and Parquet records, the
// Hugging Face datasets layout on disk and in the hub cache, field mapping for every task family, and
// errors that name the file, the line or row, and the field.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import { readRecords, splitFilesInDir } from '../../src/tasks/dataset.js';
import { MalformedDataError, DataError } from '../../src/tasks/data.js';
import { CodeDataError } from '../../src/tasks/code.js';
import { taskFromConfig, TaskOptionError } from '../../src/tasks/index.js';
import type { Query, Verdict } from '../../src/tasks/types.js';

const root = mkdtempSync(join(tmpdir(), 'bstar-dataset-'));
after(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string | Buffer): string {
  const f = join(root, rel);
  mkdirSync(join(f, '..'), { recursive: true });
  writeFileSync(f, text);
  return f;
}
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

test('readRecords: JSONL (plain and .gz), a JSON array, {"data": [...]}, JSON lines named .json, Parquet', async () => {
  const rows = [{ a: 'x', n: 1 }, { a: 'y', n: 2 }];
  const plain = await readRecords(write('r/a.jsonl', `${JSON.stringify(rows[0])}\n\n${JSON.stringify(rows[1])}\n`));
  assert.deepEqual(plain.map((r) => [r.value, r.line, r.unit ?? 'line']), [[rows[0], 1, 'line'], [rows[1], 3, 'line']]);
  const gz = await readRecords(write('r/a.jsonl.gz', gzipSync(jsonl(rows))));
  assert.deepEqual(gz.map((r) => r.value), rows);
  const arr = await readRecords(write('r/b.json', JSON.stringify(rows)));
  assert.deepEqual(arr.map((r) => [r.value, r.line, r.unit]), [[rows[0], 1, 'row'], [rows[1], 2, 'row']]);
  const wrapped = await readRecords(write('r/c.json', JSON.stringify({ version: '1', data: rows })));
  assert.deepEqual(wrapped.map((r) => r.value), rows);
  const lines = await readRecords(write('r/d.json', jsonl(rows)));
  assert.deepEqual(lines.map((r) => r.value), rows);
  const pq = join(root, 'r', 'e.parquet');
  parquetWriteFile({
    filename: pq,
    columnData: [
      { name: 'a', data: ['x', 'y'], type: 'STRING' },
      { name: 'n', data: [1n, 2n ** 40n], type: 'INT64' },
      { name: 'f', data: [0.5, -1.25], type: 'DOUBLE' },
    ],
  });
  const p = await readRecords(pq);
  // INT64 arrives as a JS number (exact below 2^53), strings as strings; rows are counted from 1.
  assert.deepEqual(p.map((r) => [r.value, r.line, r.unit]), [[{ a: 'x', n: 1, f: 0.5 }, 1, 'row'], [{ a: 'y', n: 2 ** 40, f: -1.25 }, 2, 'row']]);
  await assert.rejects(readRecords(write('r/f.csv', 'a,b\n')), /not a dataset file bstar reads/);
  await assert.rejects(readRecords(write('r/g.parquet', 'not parquet')), (e: Error) => e instanceof DataError && /g\.parquet: not a readable Parquet file/.test(e.message));
  await assert.rejects(readRecords(write('r/h.json', '[{"a": 1}, 7]')), (e: Error) => e instanceof MalformedDataError && /h\.json row 2: expected a JSON object, found number 7/.test(e.message));
});

test('HF datasets layout: data/<split>-*.parquet shards in order, validation = dev, config folders', () => {
  const d = join(root, 'hf1');
  for (const n of ['train-00001-of-00002.parquet', 'train-00000-of-00002.parquet', 'test-00000-of-00001.parquet', 'validation-00000-of-00001.parquet']) write(`hf1/data/${n}`, '');
  write('hf1/README.md', '# card');
  assert.deepEqual(splitFilesInDir(d, 'train').map((f) => f.slice(d.length + 1)), ['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet']);
  assert.deepEqual(splitFilesInDir(d, 'dev').map((f) => f.slice(d.length + 1)), ['data/validation-00000-of-00001.parquet']);
  // Files named by split at the top, and one config subfolder (openai/gsm8k's main/).
  write('hf2/train.jsonl', '');
  write('hf2/test.jsonl', '');
  assert.deepEqual(splitFilesInDir(join(root, 'hf2'), 'test').map((f) => f.slice(root.length + 1)), ['hf2/test.jsonl']);
  write('hf3/main/train-00000-of-00001.parquet', '');
  assert.deepEqual(splitFilesInDir(join(root, 'hf3'), 'train').map((f) => f.slice(root.length + 1)), ['hf3/main/train-00000-of-00001.parquet']);
  write('hf3/socratic/train-00000-of-00001.parquet', '');
  assert.throws(() => splitFilesInDir(join(root, 'hf3'), 'train'), /2 dataset configurations \(main, socratic\); pass one of the folders/);
});

test('numeric family (gsm8k): user column names, plain-number answers, errors name file, line and the mapped field', async () => {
  const f = write('num/mine.jsonl', jsonl([
    { q: 'What is 2 plus 3?', final: 5 },
    { q: 'Half of 9?', final: '4.5', work: '9 / 2 = 4.5\n#### 4.5' },
    { q: 'Total?', final: 'We add <<1+2=3>>3\n#### 3' },
  ]));
  const { task, loadOptions } = taskFromConfig({ name: 'gsm8k', file: f, fields: { question: 'q', answer: 'final', solution: 'work' } });
  assert.deepEqual(loadOptions, {});
  const qs = (await task.load('train', {})) as Query[];
  assert.deepEqual(qs.map((q) => [q.id, q.prompt, q.gold.answer]), [['gsm8k-mine-1', 'What is 2 plus 3?', '5'], ['gsm8k-mine-2', 'Half of 9?', '4.5'], ['gsm8k-mine-3', 'Total?', '3']]);
  // The same file serves every split when one path is given; the gold solution (or `#### n`) verifies.
  assert.deepEqual(((await task.load('test', { limit: 1 })) as Query[]).map((q) => q.id), ['gsm8k-mine-1']);
  for (const q of qs) assert.equal((task.verify(task.goldSolution(q), q) as Verdict).correct, true, q.id);
  assert.equal(task.goldSolution(qs[0]), '#### 5');
  // Errors: the dataset's column, the task field it maps, file and line.
  const bad = write('num/bad.jsonl', jsonl([{ q: 'ok?', final: 1 }, { q: '', final: 2 }]));
  const t2 = taskFromConfig({ name: 'gsm8k', file: bad, fields: { question: 'q', answer: 'final' } }).task;
  await assert.rejects(async () => t2.load('train', {}), (e: Error) => e instanceof MalformedDataError && e.message === `${bad}:2: field "q" (task.fields.question): expected a non-empty string, found the string ""`);
  const t3 = taskFromConfig({ name: 'gsm8k', file: write('num/c.jsonl', jsonl([{ question: 'q?', answer: 'about four' }])) }).task;
  await assert.rejects(async () => t3.load('train', {}), /c\.jsonl:1: field "answer": expected a number or a solution ending in a line "#### <number>"/);
  assert.throws(() => taskFromConfig({ name: 'gsm8k', file: f, fields: { qestion: 'q' } }), /task\.fields\.qestion: not a field of task gsm8k \(numeric answer\) \(fields: question, answer, solution, id, problem\)/);
  assert.throws(() => taskFromConfig({ name: 'gsm8k', file: f, options: { devSize: 3 } }), (e: Error) => e instanceof TaskOptionError && /unknown option "devSize"/.test(e.message));
  assert.throws(() => taskFromConfig({ name: 'arith', file: f }), /task arith does not read a user dataset \(task\.file\); tasks that do: gsm8k, arc, math, mbpp, humaneval, apps/);
  assert.throws(() => taskFromConfig({ name: 'gsm8k', fields: { question: 'q' } }), /task\.fields: applies to a dataset given with --dataset or task\.file/);
  await assert.rejects(async () => taskFromConfig({ name: 'gsm8k', file: join(root, 'nope.jsonl') }).task.load('train', {}), /dataset .*nope\.jsonl: no such file or folder/);
});

test('math family: answer from the last \\boxed{} when there is no answer column; Parquet rows named in errors', async () => {
  const pq = join(root, 'm', 'data', 'train-00000-of-00001.parquet');
  mkdirSync(join(root, 'm', 'data'), { recursive: true });
  parquetWriteFile({
    filename: pq,
    columnData: [
      { name: 'question', data: ['Compute $1/2+1/4$.', 'What is $2^3$?'], type: 'STRING' },
      { name: 'worked', data: ['So $\\frac12+\\frac14=\\boxed{\\frac{3}{4}}$.', '$2^3 = \\boxed{8}$'], type: 'STRING' },
    ],
  });
  const { task } = taskFromConfig({ name: 'math', file: join(root, 'm'), fields: { solution: 'worked' }, options: { answerFormat: 'boxed' } });
  const qs = (await task.load('train', {})) as Query[];
  assert.deepEqual(qs.map((q) => [q.id, q.gold.answer]), [['math/train-00000-of-00001/1', '\\frac{3}{4}'], ['math/train-00000-of-00001/2', '8']]);
  for (const q of qs) assert.equal((task.verify(task.goldSolution(q), q) as Verdict).correct, true);
  await assert.rejects(async () => task.load('test', {}), /no test files \(looked for test-\*\.parquet/);
  const bad = join(root, 'm2.parquet');
  parquetWriteFile({ filename: bad, columnData: [{ name: 'question', data: ['a', 'b'], type: 'STRING' }, { name: 'worked', data: ['$\\boxed{1}$', 'no box'], type: 'STRING' }] });
  await assert.rejects(
    async () => taskFromConfig({ name: 'math', file: bad, fields: { solution: 'worked' } }).task.load('train', {}),
    (e: Error) => e instanceof MalformedDataError && e.message.startsWith(`${bad} row 2: field "answer": expected an answer (the solution has no \\boxed{})`),
  );
});

test('multiple-choice family (arc): a list of choices, the answer as text or 0-based index', async () => {
  const f = write('mc/q.json', JSON.stringify([
    { stem: 'Which is a planet?', options: ['Sun', 'Mars', 'Moon'], right: 'Mars' },
    { stem: 'Pick the even number.', options: ['3', '4'], right: 1 },
  ]));
  const { task } = taskFromConfig({ name: 'arc', file: f, fields: { question: 'stem', choices: 'options', answer: 'right' } });
  const qs = (await task.load('test', {})) as Query[];
  assert.deepEqual(qs.map((q) => [q.id, q.gold.answer]), [['arc-q-0', 'B'], ['arc-q-1', 'B']].map(([, a], i) => [`arc-q-${i + 1}`, a]));
  assert.match(task.formatPrompt(qs[0]), /\(A\) Sun\n\(B\) Mars\n\(C\) Moon\n/);
  for (const q of qs) assert.equal((task.verify(task.goldSolution(q), q) as Verdict).correct, true);
  const bad = write('mc/bad.json', JSON.stringify([{ stem: 's', options: ['a', 'b'], right: 'c' }]));
  await assert.rejects(
    async () => taskFromConfig({ name: 'arc', file: bad, fields: { question: 'stem', choices: 'options', answer: 'right' } }).task.load('test', {}),
    /bad\.json row 1: field "right" \(task\.fields\.answerKey\): expected one of the labels A, B/,
  );
});

test('code families: MBPP, HumanEval and APPS shapes from user files (trusted gold run unsandboxed)', async () => {
  const sandbox = { mode: 'none' };
  const mbpp = write('code/m.jsonl', jsonl([{ prompt: 'Add two numbers.', sol: 'def add(a, b):\n    return a + b\n', asserts: 'assert add(1, 2) == 3\nassert add(0, 0) == 0' }]));
  const t1 = taskFromConfig({ name: 'mbpp', file: mbpp, fields: { question: 'prompt', solution: 'sol', tests: 'asserts' }, options: { sandbox } }).task;
  const q1 = ((await t1.load('train', {})) as Query[])[0];
  assert.equal(q1.id, 'mbpp/m-1');
  assert.equal((await t1.verify(t1.goldSolution(q1), q1)).correct, true);
  assert.equal((await t1.verify('```python\ndef add(a, b):\n    return a - b\n```', q1)).reason, 'failed assertion');
  const he = write('code/h.jsonl', jsonl([{ prompt: 'def sq(x):\n    """Square."""\n', entry_point: 'sq', canonical_solution: '    return x * x\n', test: 'def check(c):\n    assert c(3) == 9\n' }]));
  const t2 = taskFromConfig({ name: 'humaneval', file: he, options: { sandbox } }).task;
  const q2 = ((await t2.load('test', {})) as Query[])[0];
  assert.equal((await t2.verify(t2.goldSolution(q2), q2)).correct, true);
  const apps = write('code/a.jsonl', jsonl([{ problem_id: 7, question: 'Print the sum of two integers.', input_output: JSON.stringify({ inputs: ['1 2\n', '5 5\n'], outputs: ['3\n', '10\n'] }), solutions: JSON.stringify(['a, b = map(int, input().split())\nprint(a + b)\n']) }]));
  const t3 = taskFromConfig({ name: 'apps', file: apps, options: { sandbox } }).task;
  const q3 = ((await t3.load('test', {})) as Query[])[0];
  assert.equal(q3.id, 'apps-a/7');
  assert.equal((await t3.verify(t3.goldSolution(q3), q3)).correct, true);
  assert.throws(() => taskFromConfig({ name: 'apps' }), /task apps reads your dataset: pass --dataset/);
  const bad = write('code/bad.jsonl', jsonl([{ prompt: 'x', sol: 'y' }]));
  await assert.rejects(
    async () => taskFromConfig({ name: 'mbpp', file: bad, fields: { question: 'prompt', solution: 'sol', tests: 'asserts' } }).task.load('train', {}),
    (e: Error) => e instanceof CodeDataError && e.message === `${bad}:1: field "asserts" (task.fields.test_list): expected a list of strings, found nothing`,
  );
});

test('hub cache on disk: org/name resolves to $HF_HOME/hub/datasets--org--name/snapshots/<refs/main> offline', async () => {
  const home = join(root, 'hfhome');
  const sha = 'a'.repeat(40);
  const snap = join(home, 'hub', 'datasets--someone--tiny-math', 'snapshots', sha);
  mkdirSync(join(snap, 'data'), { recursive: true });
  mkdirSync(join(home, 'hub', 'datasets--someone--tiny-math', 'refs'), { recursive: true });
  writeFileSync(join(home, 'hub', 'datasets--someone--tiny-math', 'refs', 'main'), sha);
  writeFileSync(join(snap, 'data', 'test-00000-of-00001.jsonl'), jsonl([{ question: 'What is 6 times 7?', answer: '#### 42' }]));
  const saved = { HF_HOME: process.env.HF_HOME, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE, HF_HUB_CACHE: process.env.HF_HUB_CACHE };
  try {
    process.env.HF_HOME = home;
    process.env.HF_HUB_OFFLINE = '1';
    delete process.env.HF_HUB_CACHE;
    const { task } = taskFromConfig({ name: 'gsm8k', file: 'someone/tiny-math' });
    assert.deepEqual(((await task.load('test', {})) as Query[]).map((q) => [q.id, q.gold.answer]), [['gsm8k-test-00000-of-00001-1', '42']]);
    await assert.rejects(async () => taskFromConfig({ name: 'gsm8k', file: 'someone/other' }).task.load('test', {}), /dataset someone\/other: not in the hub cache .* and HF_HUB_OFFLINE is set; pass a local dataset instead: --dataset/);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
});
