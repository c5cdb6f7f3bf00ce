import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MalformedDataError, MissingDataError, dataFile, defaultDataDir, packageRoot, readJsonl, resolveDataDir, verifyChecksums } from '../../src/tasks/data.js';
import { task as arc } from '../../src/tasks/arc.js';
import { task as gsm8k } from '../../src/tasks/gsm8k.js';

function withDataDir(files: Record<string, string>, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'bstar-data-'));
  try {
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GOOD = JSON.stringify({ question: 'q?', answer: 'a <<1+1=2>>2\n#### 2' });

test("data dir: option, then BSTAR_DATA, then the package's own data/", () => {
  const saved = process.env.BSTAR_DATA;
  try {
    delete process.env.BSTAR_DATA;
    assert.equal(resolveDataDir().dir, resolve(packageRoot(), 'data'));
    assert.equal(defaultDataDir(), resolve(packageRoot(), 'data'));
    // The shipped data is found with nothing set: no ../shared beside the checkout is needed.
    assert.equal((gsm8k.load('test', { limit: 2 }) as unknown[]).length, 2);
    assert.ok(dataFile('gsm8k/test.jsonl').endsWith(join('data', 'gsm8k', 'test.jsonl.gz')));
    process.env.BSTAR_DATA = '/tmp/somewhere';
    assert.deepEqual(resolveDataDir(), { dir: '/tmp/somewhere', from: 'BSTAR_DATA' });
    assert.equal(resolveDataDir('/opt/d').dir, '/opt/d');
    withDataDir({ 'gsm8k/test.jsonl': GOOD }, (dir) => {
      process.env.BSTAR_DATA = dir;
      assert.equal((gsm8k.load('test') as unknown[]).length, 1);
    });
  } finally {
    if (saved === undefined) delete process.env.BSTAR_DATA;
    else process.env.BSTAR_DATA = saved;
  }
});

test('a missing directory or file names the path and the fix', () => {
  assert.throws(
    () => gsm8k.load('test', { dataDir: '/nonexistent/bstar-data' }),
    (e: Error) => e instanceof MissingDataError && e.message.includes('/nonexistent/bstar-data') && e.message.includes('BSTAR_DATA'),
  );
  withDataDir({ 'gsm8k/train.jsonl': GOOD }, (dir) => {
    assert.throws(
      () => gsm8k.load('test', { dataDir: dir }),
      (e: Error) => e instanceof MissingDataError && e.message.includes(join(dir, 'gsm8k/test.jsonl')) && e.message.includes('.gz'),
    );
  });
});

test('a .jsonl.gz file is read like its plain form; the plain form wins when both exist', () => {
  const a = JSON.stringify({ question: 'gz?', answer: '#### 1' });
  const b = JSON.stringify({ question: 'plain?', answer: '#### 2' });
  const dir = mkdtempSync(join(tmpdir(), 'bstar-data-'));
  try {
    mkdirSync(join(dir, 'gsm8k'));
    writeFileSync(join(dir, 'gsm8k', 'test.jsonl.gz'), gzipSync(`${a}\n\n${a}\n`));
    const rows = readJsonl(join(dir, 'gsm8k', 'test.jsonl.gz'));
    assert.deepEqual(rows.map((r) => r.line), [1, 3]);
    assert.deepEqual((gsm8k.load('test', { dataDir: dir }) as { prompt: string }[]).map((q) => q.prompt), ['gz?', 'gz?']);
    writeFileSync(join(dir, 'gsm8k', 'test.jsonl'), `${b}\n`);
    assert.deepEqual((gsm8k.load('test', { dataDir: dir }) as { prompt: string }[]).map((q) => q.prompt), ['plain?']);
    // A broken gzip file is a DataError naming the file, not a crash.
    writeFileSync(join(dir, 'gsm8k', 'train.jsonl.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    assert.throws(() => readJsonl(join(dir, 'gsm8k', 'train.jsonl.gz')), /train\.jsonl\.gz: not a readable gzip file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shipped data: every file listed in data/SHA256SUMS matches its uncompressed content', () => {
  const res = verifyChecksums(defaultDataDir());
  assert.equal(res.length, 9);
  for (const r of res) assert.ok(r.ok && r.file !== null && r.file.endsWith('.gz'), `${r.name}: expected ${r.expected}, found ${r.actual}`);
  // And a changed file is caught: a copy with one byte altered fails its line.
  const dir = mkdtempSync(join(tmpdir(), 'bstar-data-'));
  try {
    mkdirSync(join(dir, 'gsm8k'));
    writeFileSync(join(dir, 'SHA256SUMS'), `${res.find((r) => r.name === 'gsm8k/test.jsonl')!.expected}  gsm8k/test.jsonl\n${'0'.repeat(64)}  gsm8k/none.jsonl\n`);
    writeFileSync(join(dir, 'gsm8k', 'test.jsonl'), GOOD);
    const bad = verifyChecksums(dir);
    assert.deepEqual(bad.map((r) => [r.name, r.ok, r.file === null]), [['gsm8k/test.jsonl', false, false], ['gsm8k/none.jsonl', false, true]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed lines name file:line and the field', () => {
  const cases: [string, number, string | undefined, RegExp][] = [
    [`${GOOD}\n\n{"question": "q", "answer": "#### 3"\n`, 3, undefined, /test\.jsonl:3: expected one JSON object per line, found invalid JSON/],
    [`${GOOD}\n[1, 2]\n`, 2, undefined, /test\.jsonl:2: expected a JSON object, found an array of 2/],
    [`${GOOD}\n{"question": "q"}\n`, 2, 'answer', /test\.jsonl:2: field "answer": expected a non-empty string, found nothing \(field missing\)/],
    [`{"question": 7, "answer": "#### 1"}\n`, 1, 'question', /test\.jsonl:1: field "question": expected a non-empty string, found number 7/],
    [`{"question": "q", "answer": "it is 4"}\n`, 1, 'answer', /field "answer": expected a solution ending in a line "#### <number>"/],
  ];
  for (const [text, line, field, re] of cases) {
    withDataDir({ 'gsm8k/test.jsonl': text }, (dir) => {
      assert.throws(
        () => gsm8k.load('test', { dataDir: dir }),
        (e: Error) => e instanceof MalformedDataError && e.line === line && e.field === field && re.test(e.message) && e.message.includes(dir),
      );
    });
  }
});

test('ARC rows: choices and answerKey are checked', () => {
  const row = (o: object) => JSON.stringify({ id: 'x', question: 'q?', choices: { text: ['a', 'b'], label: ['A', 'B'] }, answerKey: 'A', ...o });
  const cases: [string, string, RegExp][] = [
    [row({ answerKey: 'C' }), 'answerKey', /expected one of the labels A, B, found the string "C"/],
    [row({ choices: { text: 'a', label: ['A'] } }), 'choices.text', /expected an array of strings/],
    [row({ choices: { text: ['a', 'b'], label: ['A'] } }), 'choices', /2 texts and 1 labels/],
    [row({ choices: null }), 'choices', /expected an object/],
  ];
  for (const [text, field, re] of cases) {
    withDataDir({ 'arc/dev.jsonl': `${row({})}\n${text}\n` }, (dir) => {
      assert.throws(
        () => arc.load('dev', { dataDir: dir }),
        (e: Error) => e instanceof MalformedDataError && e.line === 2 && e.field === field && re.test(e.message),
      );
    });
  }
});
