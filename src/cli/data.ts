// `bstar data check [--task t] [--json] [--data-dir d] [--quick]`: run every task's self-check over the
// shipped (or generated) data and print one row per check; exit non-zero when any check fails. Bad or
// missing data surfaces as the task's DataError (file, line, field) through main's one-line handler.
import type { Command } from 'commander';
import { runSelfChecks, taskNames } from '../tasks/index.js';
import type { SelfCheckRow } from '../tasks/index.js';

/** Thrown after the table is printed so that main exits non-zero with a one-line reason. */
export class SelfCheckFailedError extends Error {
  constructor(readonly failed: SelfCheckRow[]) {
    super(`data check: ${failed.length} self-check(s) failed: ${failed.map((r) => `${r.task}/${r.split} ${r.check}`).join('; ')}`);
    this.name = 'SelfCheckFailedError';
  }
}

/** The rows as an aligned text table. */
export function formatCheckTable(rows: SelfCheckRow[]): string {
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
  for (const r of rows) if (r.detail) out.push(`  ${r.task}/${r.split} ${r.check}: ${r.detail}`);
  return out.join('\n');
}

export interface DataCheckOptions {
  task?: string;
  json?: boolean;
  dataDir?: string;
  quick?: boolean;
}

/** Runs the checks and prints them; returns the rows (throws SelfCheckFailedError when any failed). */
export async function dataCheck(opts: DataCheckOptions, print: (s: string) => void = console.log): Promise<SelfCheckRow[]> {
  const rows = await runSelfChecks({ task: opts.task, dataDir: opts.dataDir, full: !opts.quick });
  const failed = rows.filter((r) => !r.ok);
  if (opts.json) print(JSON.stringify({ ok: failed.length === 0, rows }));
  else print(formatCheckTable(rows));
  if (failed.length > 0) throw new SelfCheckFailedError(failed);
  return rows;
}

export function register(program: Command): void {
  const data = program.command('data').description('inspect and check the task data');
  data
    .command('check')
    .description('run every task self-check (gold answers verify, chance answers do not) and print a table')
    .option('--task <name>', `only this task (${taskNames().join(', ')}); default: all`)
    .option('--json', 'print {ok, rows:[{task, split, check, rows, passed, rate, expect, ok, ms, detail}]} instead of a table')
    .option('--data-dir <dir>', 'the shipped data directory (default: $BSTAR_DATA, else ../shared/data beside the package)')
    .option('--quick', 'a fast subset (what npm test runs) instead of every row')
    .addHelpText('after', '\nExample:\n  bstar data check --task gsm8k --json\n')
    .action(async (o: { task?: string; json?: boolean; dataDir?: string; quick?: boolean }) => {
      await dataCheck(o);
    });
}
