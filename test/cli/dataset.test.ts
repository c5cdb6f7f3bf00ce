// `bstar run --dataset FILE` with the user's own column names (task.fields): a JSONL file and a Parquet
// file each run a 1-iteration B-STaR run on the tiny budget; a bad row is one error line before any
// run directory is written.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetWriteFile } from 'hyparquet-writer';
import { TINY_OVERRIDES } from '../run/tiny.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const root = mkdtempSync(path.join(tmpdir(), 'bstar-cli-dataset-'));
after(() => rmSync(root, { recursive: true, force: true }));

const TINY = [...TINY_OVERRIDES.filter((s) => !s.startsWith('task.options=')), 'iterations=1', 'method=bstar', 'sft.epochs=1'].flatMap((s) => ['--set', s]);
const bstar = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, BSTAR_PROGRESS_EVERY_S: '0' } });

const problems = Array.from({ length: 30 }, (_, i) => ({ ask: `What is ${i} plus ${i + 1}?`, result: 2 * i + 1 }));

function checkRun(name: string, r: ReturnType<typeof bstar>): void {
  assert.equal(r.status, 0, r.stderr);
  const dir = path.join(root, name);
  const metrics = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { iteration: number });
  assert.deepEqual([...new Set(metrics.map((m) => m.iteration))], [0, 1]);
  assert.ok(existsSync(path.join(dir, 'checkpoints', '1')));
  const cfg = readFileSync(path.join(dir, 'config.yaml'), 'utf8');
  assert.match(cfg, /fields:\n\s+question: ask\n\s+answer: result/);
  // The evaluated queries are the dataset's own rows.
  const evals = readFileSync(path.join(dir, 'iterations', '1', 'eval-samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { queryId: string });
  assert.ok(evals.length > 0 && evals.every((e) => /^gsm8k-mine-\d+$/.test(e.queryId)), evals[0]?.queryId);
}

test('a JSONL dataset with user-chosen field names runs a 1-iteration bstar run', () => {
  const file = path.join(root, 'mine.jsonl');
  writeFileSync(file, problems.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const r = bstar(['run', '--runs-dir', root, '--name', 'jsonl', '--set', 'task.name=gsm8k', '--dataset', file, '--set', 'task.fields.question=ask', '--set', 'task.fields.answer=result', ...TINY]);
  checkRun('jsonl', r);
});

test('a Parquet dataset with user-chosen field names runs a 1-iteration bstar run', () => {
  const file = path.join(root, 'mine.parquet');
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'ask', data: problems.map((p) => p.ask), type: 'STRING' },
      { name: 'result', data: problems.map((p) => BigInt(p.result)), type: 'INT64' },
    ],
  });
  const r = bstar(['run', '--runs-dir', root, '--name', 'parquet', '--set', 'task.name=gsm8k', '--dataset', file, '--set', 'task.fields.question=ask', '--set', 'task.fields.answer=result', ...TINY]);
  checkRun('parquet', r);
});

test('a bad row is one line naming file, line and the mapped field; nothing is written', () => {
  const file = path.join(root, 'bad.jsonl');
  writeFileSync(file, `${JSON.stringify(problems[0])}\n${JSON.stringify({ ask: 'q?', result: 'many' })}\n`);
  const r = bstar(['run', '--runs-dir', root, '--name', 'bad', '--set', 'task.name=gsm8k', '--dataset', file, '--set', 'task.fields.question=ask', '--set', 'task.fields.answer=result', ...TINY]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:2: field "result" \\(task\\.fields\\.answer\\): expected a number or a solution`));
  assert.equal(existsSync(path.join(root, 'bad')), false);
});
