import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SelfCheckFailedError, formatCheckTable } from '../../src/cli/data.js';
import { completeRow } from '../../src/tasks/index.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const bstar = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

test('data check --task arc --json: every row ok, exit 0', () => {
  const r = bstar('data', 'check', '--task', 'arc', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; rows: { task: string; split: string; ok: boolean; rows: number }[] };
  assert.equal(out.ok, true);
  // The shipped files are checked against data/SHA256SUMS first, then the task's own checks.
  assert.deepEqual(out.rows.map((x) => x.split), ['arc/dev.jsonl', 'arc/test.jsonl', 'arc/train.jsonl', 'train', 'train', 'dev', 'dev', 'test', 'test']);
  assert.deepEqual(out.rows.filter((x) => x.split === 'test').map((x) => x.rows), [1172, 1172]);
});

test('data check: a malformed line is one error line naming file:line, exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bstar-cli-'));
  try {
    mkdirSync(join(dir, 'gsm8k'));
    writeFileSync(join(dir, 'gsm8k/train.jsonl'), '{"question": "q", "answer": "#### 1"}\n{"question": "q"\n');
    const r = bstar('data', 'check', '--task', 'gsm8k', '--data-dir', dir);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${join(dir, 'gsm8k/train.jsonl')}:2: expected one JSON object per line`));
    const missing = bstar('data', 'check', '--task', 'arc', '--data-dir', join(dir, 'nope'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /data directory .*nope.* does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data check --limit must be a positive integer', () => {
  const r = bstar('data', 'check', '--limit', 'ten');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--limit must be a positive integer, found "ten"/);
  const ok = bstar('data', 'check', '--task', 'gsm8k', '--limit', '30', '--json');
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual((JSON.parse(ok.stdout) as { rows: { rows: number }[] }).rows.map((x) => x.rows), [1, 1, 30, 30, 30, 30]);
});

test('data check: a failing check prints the table and exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bstar-cli-'));
  try {
    mkdirSync(join(dir, 'gsm8k'));
    writeFileSync(join(dir, 'gsm8k/train.jsonl'), '{"question": "q", "answer": "#### 1"}\n{"question": "r", "answer": "#### 2"}\n');
    writeFileSync(join(dir, 'gsm8k/test.jsonl'), '\n'); // no rows: nothing verified
    const r = bstar('data', 'check', '--task', 'gsm8k', '--data-dir', dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /gsm8k\s+train\s+gold verifies\s+2\s+100%.*ok/);
    assert.match(r.stdout, /gsm8k\s+test\s+gold verifies\s+0\s+0%.*FAIL/);
    assert.match(r.stderr, /data check: 2 self-check\(s\) failed: gsm8k\/test gold verifies; gsm8k\/test shuffled gold accepted/);
    const j = bstar('data', 'check', '--task', 'gsm8k', '--data-dir', dir, '--json');
    assert.equal(j.status, 1);
    assert.equal((JSON.parse(j.stdout) as { ok: boolean }).ok, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// `bstar data check` over every task and the shipped data must exit 0. CI (.ci/run) sets
// BSTAR_FULL_CHECKS=1 and runs the full check (every row; about 3-5 min, mostly the code sandbox);
// otherwise the same command runs over the first 10 rows of each split.
const FULL = process.env.BSTAR_FULL_CHECKS === '1';
test(`data check over every task exits 0 (${FULL ? 'full: every row' : 'first 10 rows per split; BSTAR_FULL_CHECKS=1 for all'})`, () => {
  const env = { ...process.env };
  delete env.BSTAR_DATA; // the package's own data/
  const args = [CLI, 'data', 'check', '--json', ...(FULL ? [] : ['--limit', '10'])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout.slice(0, 4000)}`);
  const out = JSON.parse(r.stdout) as { ok: boolean; rows: { task: string; split: string; check: string; rows: number; ok: boolean }[] };
  assert.equal(out.ok, true);
  const tasks = new Set(out.rows.map((x) => x.task));
  assert.deepEqual([...tasks], ['arith', 'gsm8k', 'arc', 'math', 'mbpp', 'humaneval']);
  assert.equal(out.rows.filter((x) => x.check === 'sha256 matches' && x.ok).length, 9);
  if (FULL) {
    const rows = (task: string, split: string) => out.rows.find((x) => x.task === task && x.split === split && x.check === 'gold verifies')?.rows;
    assert.deepEqual([rows('gsm8k', 'train'), rows('math', 'train'), rows('arc', 'test'), rows('mbpp', 'test'), rows('humaneval', 'test')], [7473, 7498, 1172, 500, 164]);
  }
});

test('data check --task unknown lists the known tasks, exit 1', () => {
  const r = bstar('data', 'check', '--task', 'nope');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown task "nope"; known tasks: arith, gsm8k, arc/);
});

test('table and failure message', () => {
  const rows = [
    completeRow({ task: 'gsm8k', split: 'test', rows: 10, verified: 9, failures: [{ id: 'q7', reason: 'extracted 3, gold 4' }], ms: 12.3, detail: 'note' }),
    completeRow({ task: 'arc', split: 'dev', rows: 200, verified: 200, failures: [], ms: 1500 }),
  ];
  const table = formatCheckTable(rows).split('\n');
  assert.match(table[0], /^task\s+split\s+check\s+rows\s+rate\s+expect\s+time\s+ok$/);
  assert.match(table[1], /^gsm8k\s+test\s+gold verifies\s+10\s+90\.00%\s+= 100%\s+12ms\s+FAIL$/);
  assert.match(table[2], /^arc\s+dev\s+gold verifies\s+200\s+100%\s+= 100%\s+1\.5s\s+ok$/);
  assert.equal(table[3], '  gsm8k/test gold verifies: note; q7: extracted 3, gold 4');
  assert.equal(table.length, 4);
  assert.match(new SelfCheckFailedError([rows[0]]).message, /1 self-check\(s\) failed: gsm8k\/test gold verifies/);
});

test('data show prints formatted prompts and gold solutions; bad flags are one-line errors', () => {
  const r = bstar('data', 'show', '--task', 'arith', '--split', 'train', '-n', '2', '--knobs', '{"steps": 2}');
  assert.equal(r.status, 0, r.stderr);
  const blocks = r.stdout.split(/^=== /m).filter((b) => b.trim() !== '');
  assert.equal(blocks.length, 2);
  for (const b of blocks) {
    assert.match(b, /^arith-[0-9a-f]{12} \(answer \d+\)\n[^\n]+\?\n[^\n]*<<[^\n]*\n[^\n]*<<[^\n]*\n#### \d+\n$/);
  }
  const bad = bstar('data', 'show', '--task', 'arith', '--knobs', '{"stpes": 2}');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /unknown option "stpes"/);
  const badJson = bstar('data', 'show', '--task', 'arith', '--knobs', '{steps');
  assert.equal(badJson.status, 1);
  assert.match(badJson.stderr, /--knobs must be a JSON object/);
});
