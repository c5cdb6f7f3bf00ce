// `bstar data check [--task t] [--json] [--data-dir d] [--limit n]`: run every task's self-check over the
// shipped (or generated) data and print one row per check; exit non-zero when any check fails. Bad or
// missing data surfaces as the task's DataError (file, line, field) through main's one-line handler.
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { runSelfChecks, taskNames } from '../tasks/index.js';
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

function parseLimit(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--limit must be a positive integer, found "${v}"`);
  return n;
}

export function register(program: Command): void {
  const data = program.command('data').description('inspect and check the task data');
  data
    .command('check')
    .description('run every task self-check (gold answers verify, chance answers do not) and print a table')
    .option('--task <name>', `only this task (${taskNames().join(', ')}); default: all`)
    .option('--json', 'print {ok, rows:[{task, split, check, rows, verified, failures, rate, expect, ok, ms, detail}]} instead of a table')
    .option('--data-dir <dir>', 'the shipped data directory (default: $BSTAR_DATA, else ../shared/data beside the package)')
    .option('--limit <n>', 'at most n rows per split, a fast subset (default: every row)', parseLimit)
    .addHelpText('after', '\nExample:\n  bstar data check --task gsm8k --json\n')
    .action(async (o: DataCheckOptions) => {
      await dataCheck(o);
    });
}
