// The one JSONL line reader (src/util/jsonl.ts): blank lines, CRLF, gzip, bad lines named file:line,
// a torn last line (error or reported), non-object lines, lenient reading and line numbering.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { jsonlLines, JsonlError, readJsonlLines, splitLines } from '../../src/util/jsonl.js';

const dir = mkdtempSync(path.join(tmpdir(), 'bstar-jsonl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The error a call throws (fails the test when it does not throw a JsonlError). */
function errorOf(f: () => unknown): JsonlError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof JsonlError, `expected a JsonlError, got ${String(e)}`);
    return e;
  }
  assert.fail('did not throw');
}

const lineNos = (t: ReturnType<typeof jsonlLines>) => t.rows.map((r) => [r.line, r.value]);

test('blank and whitespace-only lines are skipped; line numbers count them', () => {
  const t = jsonlLines('{"a":1}\n\n   \n{"a":2}\n\t\n', 'f');
  assert.deepEqual(lineNos(t), [[1, { a: 1 }], [4, { a: 2 }]]);
  assert.equal(t.torn, null);
  assert.equal(t.unterminated, false);
  assert.deepEqual(jsonlLines('', 'f'), { rows: [], torn: null, unterminated: false });
  assert.deepEqual(jsonlLines('\n\n', 'f'), { rows: [], torn: null, unterminated: false });
});

test('CRLF line ends: the \\r is not part of the line text and the values parse', () => {
  const t = jsonlLines('{"a":"x"}\r\n\r\n{"a":"y"}\r\n', 'f');
  assert.deepEqual(lineNos(t), [[1, { a: 'x' }], [3, { a: 'y' }]]);
  assert.deepEqual(t.rows.map((r) => r.text), ['{"a":"x"}', '{"a":"y"}']);
});

test('a bad middle line names file:line, what was expected and what was found', () => {
  const e = errorOf(() => jsonlLines('{"a":1}\n{"a": \n{"a":3}\n', 'data/x.jsonl'));
  assert.equal(e.file, 'data/x.jsonl');
  assert.equal(e.line, 2);
  assert.equal(e.problem, 'json');
  assert.match(e.message, /^data\/x\.jsonl:2: expected one JSON object per line, found invalid JSON \(.+\)$/);
  // a middle line is never "torn", even when torn lines are reported
  assert.equal(errorOf(() => jsonlLines('{"a":1}\n{"a": \n{"a":3}\n', 'f', { torn: 'report' })).line, 2);
  // a bad line that does end in a newline is not torn either
  assert.equal(errorOf(() => jsonlLines('{"a":1}\n{"a": \n', 'f', { torn: 'report' })).line, 2);
});

test('a line that is JSON but not an object: expected a JSON object, found …', () => {
  const cases: [string, string][] = [
    ['[1, 2]', 'an array of 2'],
    ['7', 'number 7'],
    ['null', 'null'],
    ['"s"', 'the string "s"'],
  ];
  for (const [line, found] of cases) {
    const e = errorOf(() => jsonlLines(`{"a":1}\n${line}\n`, 'f'));
    assert.equal(e.problem, 'object');
    assert.equal(e.message, `f:2: expected a JSON object, found ${found}`);
  }
});

test('a torn last line (no newline, not JSON): an error by default, reported with torn: "report"', () => {
  const text = '{"a":1}\n\n{"a":2}\n{"a":3, "b": [1,';
  const e = errorOf(() => jsonlLines(text, 'm.jsonl'));
  assert.equal(e.line, 4);
  assert.match(e.message, /^m\.jsonl:4: expected one JSON object per line, found invalid JSON/);
  const t = jsonlLines(text, 'm.jsonl', { torn: 'report' });
  assert.deepEqual(lineNos(t), [[1, { a: 1 }], [3, { a: 2 }]]);
  assert.deepEqual(t.torn, { line: 4, text: '{"a":3, "b": [1,', at: text.indexOf('{"a":3') });
  assert.equal(text.slice(0, t.torn!.at), '{"a":1}\n\n{"a":2}\n', 'cutting at `at` leaves the complete lines');
  assert.equal(t.unterminated, false);
});

test('a complete last line without its newline is read, and flagged unterminated', () => {
  for (const torn of ['error', 'report'] as const) {
    const t = jsonlLines('{"a":1}\n{"a":2}', 'f', { torn });
    assert.deepEqual(lineNos(t), [[1, { a: 1 }], [2, { a: 2 }]]);
    assert.equal(t.unterminated, true);
    assert.equal(t.torn, null);
  }
  // a non-object last line is an error in both modes (a cut object line never parses)
  assert.equal(errorOf(() => jsonlLines('{"a":1}\n12', 'f', { torn: 'report' })).problem, 'object');
});

test('onBadLine: lenient readers get each bad line and the rest of the rows', () => {
  const seen: string[] = [];
  const t = jsonlLines('{"a":1}\nnope\n[1]\n{"a":4}\n{"a', 'f', { onBadLine: (e) => seen.push(`${e.line}:${e.problem}`) });
  assert.deepEqual(lineNos(t), [[1, { a: 1 }], [4, { a: 4 }]]);
  assert.deepEqual(seen, ['2:json', '3:object', '5:json']);
});

test('firstLine: a text that continues a file is numbered from there', () => {
  assert.deepEqual(lineNos(jsonlLines('{"a":1}\n\n{"a":2}\n', 'f', { firstLine: 11 })), [[11, { a: 1 }], [13, { a: 2 }]]);
  assert.equal(errorOf(() => jsonlLines('{"a":1}\n{x}\n', 'f', { firstLine: 11 })).message.startsWith('f:12: '), true);
});

test('splitLines: the newline-terminated lines and the tail after the last newline', () => {
  assert.deepEqual(splitLines(''), { lines: [], tail: '' });
  assert.deepEqual(splitLines('a\n\nb\n'), { lines: ['a', '', 'b'], tail: '' });
  assert.deepEqual(splitLines('a\nb'), { lines: ['a'], tail: 'b' });
});

test('files: plain, .gz by name, gzip by its magic bytes; unreadable and non-gzip files name the file', () => {
  const text = '{"q":"one"}\r\n\n{"q":"two"}\n';
  const plain = path.join(dir, 'd.jsonl');
  const gz = path.join(dir, 'd.jsonl.gz');
  const sniffed = path.join(dir, 'gz-without-suffix.jsonl');
  writeFileSync(plain, text);
  writeFileSync(gz, gzipSync(Buffer.from(text)));
  writeFileSync(sniffed, gzipSync(Buffer.from(text)));
  for (const f of [plain, gz, sniffed]) assert.deepEqual(lineNos(readJsonlLines(f)), [[1, { q: 'one' }], [3, { q: 'two' }]], f);
  // a bad line inside a .gz file is named by the .gz file and its line
  writeFileSync(gz, gzipSync(Buffer.from('{"q":1}\n{"q":\n')));
  assert.equal(errorOf(() => readJsonlLines(gz)).message.startsWith(`${gz}:2: expected one JSON object per line`), true);
  const missing = errorOf(() => readJsonlLines(path.join(dir, 'none.jsonl')));
  assert.equal(missing.problem, 'read');
  assert.equal(missing.line, undefined);
  assert.match(missing.message, /none\.jsonl: expected a readable file, found ENOENT/);
  writeFileSync(gz, 'not gzip at all');
  const notGz = errorOf(() => readJsonlLines(gz));
  assert.equal(notGz.problem, 'gzip');
  assert.match(notGz.message, /d\.jsonl\.gz: expected a readable gzip file, found /);
});
