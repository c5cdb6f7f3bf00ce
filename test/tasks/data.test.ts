import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MalformedDataError, MissingDataError, packageRoot, resolveDataDir } from '../../src/tasks/data.js';
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

test('data dir: option, then BSTAR_DATA, then ../shared/data beside the package', () => {
  const saved = process.env.BSTAR_DATA;
  try {
    delete process.env.BSTAR_DATA;
    assert.equal(resolveDataDir().dir, resolve(packageRoot(), '..', 'shared', 'data'));
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
      (e: Error) => e instanceof MissingDataError && e.message.includes(join(dir, 'gsm8k/test.jsonl')),
    );
  });
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
