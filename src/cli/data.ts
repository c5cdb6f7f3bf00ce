// `bstar data check [--task t] [--json] [--data-dir d] [--limit n]`: run every task's self-check over the
// shipped (or generated) data and print one row per check; exit non-zero when any check fails. Bad or
// missing data surfaces as the task's DataError (file, line, field) through main's one-line handler.
// `bstar data show --task t [--split s] [-n k] [--knobs json]`: print a few queries as the policy sees
// them (prompt, gold solution, answer).
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { getTask, runSelfChecks, taskNames } from '../tasks/index.js';
import type { LoadOptions, Query, Split } from '../tasks/index.js';
import type { CheckedRow } from '../tasks/index.js';

/** Thrown after the table is printed so that main exits non-zero with a one-line reason. */
export class SelfCheckFailedError extends Error {
  constructor(readonly failed: CheckedRow[]) {
    super(`data check: ${failed.length} self-check(s) failed: ${failed.map((r) => `${r.task}/${r.split} ${r.check}`).join('; ')}`);
    this.name = 'SelfCheckFailedError';
  }
}

/** The rows as an aligned text table. */
export function formatCheckTable(rows: CheckedRow[]): string {
  const head = ['task', 'split', 'check', 'rows', 'rate', 'expect', 'time', 'ok'];
  const body = rows.map((r) => [
    r.task,
    r.split,
    r.check,
    String(r.rows),
    `${(r.rate * 100).toFixed(r.rate === 1 || r.rate === 0 ? 0 : 2)}%`,
    r.expect,
    r.ms >= 1000 ? `${(r.ms / 1000).toFixed(1)}s` : `${Math.round(r.ms)}ms`,
    r.ok ? 'ok' : 'FAIL',
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const right = new Set([3, 4, 6]);
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd();
  const out = [line(head), ...body.map(line)];
  for (const r of rows) {
    const notes = [r.detail, ...r.failures.slice(0, 3).map((f) => `${f.id}: ${f.reason}`)].filter((x) => x);
    if (r.failures.length > 3) notes.push(`… ${r.rows - r.verified - 3} more`);
    if (notes.length > 0) out.push(`  ${r.task}/${r.split} ${r.check}: ${notes.join('; ')}`);
  }
  return out.join('\n');
}

export interface DataCheckOptions {
  task?: string;
  json?: boolean;
  dataDir?: string;
  limit?: number;
}

/** Runs the checks and prints them; returns the rows (throws SelfCheckFailedError when any failed). */
export async function dataCheck(opts: DataCheckOptions, print: (s: string) => void = console.log): Promise<CheckedRow[]> {
  const rows = await runSelfChecks({ task: opts.task, dataDir: opts.dataDir, limit: opts.limit });
  const failed = rows.filter((r) => !r.ok);
  if (opts.json) print(JSON.stringify({ ok: failed.length === 0, rows }));
  else print(formatCheckTable(rows));
  if (failed.length > 0) throw new SelfCheckFailedError(failed);
  return rows;
}

function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer, found "${v}"`);
    return n;
  };
}

function parseKnobs(v: string): LoadOptions {
  let o: unknown;
  try {
    o = JSON.parse(v);
  } catch {
    throw new InvalidArgumentError(`--knobs must be a JSON object such as '{"steps": [1, 2]}', found ${JSON.stringify(v)}`);
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new InvalidArgumentError(`--knobs must be a JSON object, found ${v}`);
  return o as LoadOptions;
}

function parseSplit(v: string): Split {
  if (v !== 'train' && v !== 'dev' && v !== 'test') throw new InvalidArgumentError(`--split must be train, dev or test, found "${v}"`);
  return v;
}

export interface DataShowOptions {
  task: string;
  split: Split;
  n: number;
  knobs?: LoadOptions;
  dataDir?: string;
}

/** The first n queries of a split as the policy sees them. */
export async function dataShow(opts: DataShowOptions, print: (s: string) => void = console.log): Promise<Query[]> {
  const task = getTask(opts.task);
  const lo: LoadOptions = { ...opts.knobs, limit: opts.n };
  if (opts.dataDir !== undefined) lo.dataDir = opts.dataDir;
  const qs = await task.load(opts.split, lo);
  for (const q of qs) {
    print(`=== ${q.id} (answer ${q.gold.answer})`);
    print(`${task.formatPrompt(q)}${task.goldSolution(q)}`);
  }
  return qs;
}

export function register(program: Command): void {
  const data = program.command('data').description('inspect and check the task data');
  data
    .command('check')
    .description('run every task self-check (gold answers verify, chance answers do not) and print a table')
    .option('--task <name>', `only this task (${taskNames().join(', ')}); default: all`)
    .option('--json', 'print {ok, rows:[{task, split, check, rows, verified, failures, rate, expect, ok, ms, detail}]} instead of a table')
    .option('--data-dir <dir>', 'the task data directory (default: $BSTAR_DATA, else the data/ folder shipped with bstar)')
    .option('--limit <n>', 'at most n rows per split, a fast subset (default: every row)', positiveInt('--limit'))
    .addHelpText('after', '\nExample:\n  bstar data check --task gsm8k --json\n')
    .action(async (o: DataCheckOptions) => {
      await dataCheck(o);
    });
  data
    .command('show')
    .description('print the first queries of a split: prompt (as formatted for the policy) and gold solution')
    .requiredOption('--task <name>', `the task (${taskNames().join(', ')})`)
    .option('--split <split>', 'train, dev or test', parseSplit, 'test')
    .option('-n <count>', 'how many queries', positiveInt('-n'), 3)
    .option('--knobs <json>', 'task options as a JSON object, e.g. \'{"steps": [1, 2], "ops": ["+", "-", "*"]}\'', parseKnobs)
    .option('--data-dir <dir>', 'the task data directory (default: $BSTAR_DATA, else the data/ folder shipped with bstar)')
    .addHelpText('after', '\nExample:\n  bstar data show --task arith --split train -n 2 --knobs \'{"steps": 3}\'\n')
    .action(async (o: { task: string; split: Split; n: number; knobs?: LoadOptions; dataDir?: string }) => {
      await dataShow(o);
    });
}
