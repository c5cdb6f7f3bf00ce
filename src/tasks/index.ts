// The task registry: a config says `task: gsm8k` and gets the Task here. Adding a task is one
// import line and one entry in MODULES: its Task and, if it has one, its self-check.
import * as arc from './arc.js';
import * as arith from './arith.js';
import * as code from './code.js';
import * as gsm8k from './gsm8k.js';
import * as math from './math.js';
import type { SelfCheckOptions, SelfCheckRow, Task, TaskModule } from './types.js';

export type { Task, Query, Verdict, Split, LoadOptions, SelfCheckRow, SelfCheckOptions, TaskModule } from './types.js';
export { DataError, MissingDataError, MalformedDataError } from './data.js';
import { verifyChecksums } from './data.js';
export { TaskOptionError } from './options.js';

const MODULES: Record<string, TaskModule> = {
  arith: { task: arith.task, selfCheck: arith.selfCheck },
  gsm8k: { task: gsm8k.task, selfCheck: gsm8k.selfCheck },
  arc: { task: arc.task, selfCheck: arc.selfCheck },
  math: { task: math.mathTask, selfCheck: math.selfCheck },
  mbpp: { task: code.mbppTask, selfCheck: (o) => code.selfCheck({ ...o, tasks: ['mbpp'] }) },
  humaneval: { task: code.humanevalTask, selfCheck: (o) => code.selfCheck({ ...o, tasks: ['humaneval'] }) },
};

/** An unknown task name. */
export class UnknownTaskError extends Error {
  constructor(readonly taskName: string) {
    super(`unknown task "${taskName}"; known tasks: ${taskNames().join(', ')}`);
    this.name = 'UnknownTaskError';
  }
}

/** Registered task names, in registration order (the default task first). */
export function taskNames(): string[] {
  return Object.keys(MODULES);
}

export function getTaskModule(name: string): TaskModule {
  const m = Object.hasOwn(MODULES, name) ? MODULES[name] : undefined;
  if (m === undefined) throw new UnknownTaskError(name);
  return m;
}

export function getTask(name: string): Task {
  return getTaskModule(name).task;
}

/** A self-check row with every optional field filled in (check, expect, rate, ok). */
export type CheckedRow = Required<Omit<SelfCheckRow, 'detail'>> & Pick<SelfCheckRow, 'detail'>;

export function completeRow(r: SelfCheckRow): CheckedRow {
  return {
    ...r,
    check: r.check ?? 'gold verifies',
    expect: r.expect ?? '= 100%',
    rate: r.rate ?? (r.rows === 0 ? 0 : r.verified / r.rows),
    ok: r.ok ?? (r.verified === r.rows && r.rows > 0),
  };
}

/** The task a data file belongs to: its folder, or for code/ its file name (code/mbpp.jsonl → mbpp). */
function dataFileTask(name: string): string {
  const [dir, file = ''] = name.split('/');
  return dir === 'code' ? file.replace(/\..*$/, '') : dir;
}

/** One row per data file of the task listed in the data folder's SHA256SUMS (none when there is no list). */
function checksumRows(task: string, dataDir: string | undefined): CheckedRow[] {
  const t0 = performance.now();
  const res = verifyChecksums(dataDir, (name) => dataFileTask(name) === task);
  const ms = (performance.now() - t0) / Math.max(1, res.length);
  return res.map((r) => completeRow({
    task,
    split: r.name,
    check: 'sha256 matches',
    rows: 1,
    verified: r.ok ? 1 : 0,
    failures: r.ok ? [] : [{ id: r.name, reason: r.file === null ? 'file missing' : `sha256 ${r.actual} ≠ SHA256SUMS ${r.expected}` }],
    ms,
  }));
}

/**
 * Run the self-checks of one task (or all); a task without one contributes no rows. When the data
 * folder has a SHA256SUMS list (the shipped data/ has), each task's files are checked against it first.
 */
export async function runSelfChecks(opts: SelfCheckOptions & { task?: string } = {}): Promise<CheckedRow[]> {
  const names = opts.task === undefined ? taskNames() : [opts.task];
  const rows: CheckedRow[] = [];
  for (const name of names) {
    const m = getTaskModule(name);
    rows.push(...checksumRows(name, opts.dataDir));
    const o: SelfCheckOptions = {};
    if (opts.dataDir !== undefined) o.dataDir = opts.dataDir;
    if (opts.limit !== undefined) o.limit = opts.limit;
    if (m.selfCheck) rows.push(...(await m.selfCheck(o)).map(completeRow));
  }
  return rows;
}
