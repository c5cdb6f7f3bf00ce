// The task registry: a config says `task: gsm8k` and gets the Task here. Adding a task is one
// import line and one entry in MODULES: its Task and, if it has one, its self-check.
import * as arc from './arc.js';
import * as arith from './arith.js';
import * as code from './code.js';
import * as gsm8k from './gsm8k.js';
import * as math from './math.js';
import { basename } from 'node:path';
import { applyFieldMap, datasetSplitFiles, readRecords, type DatasetSource } from './dataset.js';
import { TaskOptionError, applyLimit, checkKnobs } from './options.js';
import type { DataRow } from './data.js';
import type { LoadOptions, Query, SelfCheckOptions, SelfCheckRow, Split, Task, TaskModule } from './types.js';

export type { Task, Query, Verdict, Split, LoadOptions, SelfCheckRow, SelfCheckOptions, TaskModule } from './types.js';
export { DataError, MissingDataError, MalformedDataError } from './data.js';
import { verifyChecksums } from './data.js';
export { TaskOptionError } from './options.js';
export type { DatasetSource } from './dataset.js';

/** `gsm8k-train` for rows of …/train.jsonl: ids of a user's rows are `<prefix>-<line or row>`. */
const stem = (file: string) => basename(file).replace(/\.(jsonl|ndjson|json|parquet)(\.gz)?$/i, '');

const MODULES: Record<string, TaskModule> = {
  arith: { task: arith.task, selfCheck: arith.selfCheck },
  gsm8k: {
    task: gsm8k.task,
    selfCheck: gsm8k.selfCheck,
    family: 'numeric answer',
    fields: gsm8k.GSM8K_FIELDS,
    fieldAliases: gsm8k.GSM8K_FIELD_ALIASES,
    fromRows: (rows) => rows.map((r) => gsm8k.gsm8kQuery(r, r.line, `gsm8k-${stem(r.file)}`)),
  },
  arc: {
    task: arc.task,
    selfCheck: arc.selfCheck,
    family: 'multiple choice',
    fields: arc.ARC_FIELDS,
    fieldAliases: arc.ARC_FIELD_ALIASES,
    fromRows: (rows) => rows.map((r) => arc.arcQuery(r, r.line, `arc-${stem(r.file)}`)),
  },
  math: {
    task: math.mathTask,
    selfCheck: math.selfCheck,
    taskOptions: ['answerFormat', 'template'],
    create: (o) => math.createMathTask(o as math.MathTaskOptions),
    family: 'math (\\boxed{} or answer section)',
    fields: math.MATH_FIELDS,
    fieldAliases: math.MATH_FIELD_ALIASES,
    fromRows: (rows) => rows.flatMap((r) => math.mathQueries([r], `math/${stem(r.file)}`)),
  },
  mbpp: {
    task: code.mbppTask,
    selfCheck: (o) => code.selfCheck({ ...o, tasks: ['mbpp'] }),
    taskOptions: ['fewShot', 'sandbox'],
    create: (o) => code.makeMbppTask(o as code.MbppOptions),
    family: 'code with assert tests (MBPP)',
    fields: code.MBPP_FIELDS,
    fieldAliases: code.MBPP_FIELD_ALIASES,
    fromRows: (rows) => rows.flatMap((r) => code.mbppQueries([r], stem(r.file))),
  },
  humaneval: {
    task: code.humanevalTask,
    selfCheck: (o) => code.selfCheck({ ...o, tasks: ['humaneval'] }),
    taskOptions: ['sandbox'],
    create: (o) => code.makeHumanEvalTask(o as code.CodeTaskOptions),
    family: 'code with a check(candidate) test (HumanEval)',
    fields: code.HUMANEVAL_FIELDS,
    fieldAliases: code.HUMANEVAL_FIELD_ALIASES,
    fromRows: (rows) => rows.map((r) => code.humanEvalQuery(r, r.line, false, `humaneval-${stem(r.file)}/`)),
  },
  apps: {
    task: code.appsTask({}),
    taskOptions: ['sandbox'],
    create: (o) => code.appsTask({}, o as code.CodeTaskOptions),
    needsFile: true,
    family: 'code with stdin/stdout or call-based cases (APPS)',
    fields: code.APPS_FIELDS,
    fieldAliases: code.APPS_FIELD_ALIASES,
    fromRows: (rows) => rows.map((r) => ({ ...code.appsQuery(r, r.line), id: `apps-${stem(r.file)}/${String(r.value.problem_id ?? r.value.id ?? r.line)}` })),
  },
};

/**
 * Adds a task to the registry under its name, so a config can say `task: <name>` (a library user's own
 * task; see examples/custom-task.ts). A name already registered is refused.
 */
export function registerTask(task: Task, module: Omit<TaskModule, 'task'> = {}): void {
  if (Object.hasOwn(MODULES, task.name)) throw new TaskOptionError(`task ${task.name} is already registered (known: ${taskNames().join(', ')})`, task.name, 'name');
  MODULES[task.name] = { ...module, task };
}

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

/** What a config's `task` section says about the task (config.ts's task schema). */
export interface TaskSpec {
  name: string;
  /** Task options (e.g. MATH's answerFormat) and load knobs (limit, seed, devSize, …) together. */
  options?: Record<string, unknown>;
  /** A user's dataset: a file (JSONL, JSON, Parquet), a folder in the HF datasets layout, or a hub id; or one per split. */
  file?: DatasetSource | null;
  /** The task's field name → the dataset's column (dotted paths reach into nested records). */
  fields?: Record<string, string>;
}

/**
 * The Task a config describes, and the load options to pass to its load(): task options go to the
 * task's factory (MATH's answerFormat/template, MBPP's fewShot, …), the rest are load knobs. With a
 * `file`, the task reads the user's dataset (its family's fields, renamed by `fields`) instead of the
 * shipped data; the `log` receives hub download lines.
 */
export function taskFromConfig(spec: TaskSpec, log?: (line: string) => void): { task: Task; loadOptions: LoadOptions } {
  const m = getTaskModule(spec.name);
  const taskOpts: Record<string, unknown> = {};
  const loadOptions: LoadOptions = {};
  for (const [k, v] of Object.entries(spec.options ?? {})) {
    if (m.taskOptions?.includes(k)) taskOpts[k] = v;
    else loadOptions[k] = v;
  }
  const base = Object.keys(taskOpts).length > 0 && m.create ? m.create(taskOpts) : m.task;
  const file = spec.file ?? null;
  const fields = spec.fields ?? {};
  if (file === null) {
    if (m.needsFile) throw new TaskOptionError(`task ${spec.name} reads your dataset: pass --dataset <file, folder or org/name> (or set task.file); family: ${m.family}`, spec.name, 'file');
    if (Object.keys(fields).length > 0) throw new TaskOptionError(`task.fields: applies to a dataset given with --dataset or task.file (task ${spec.name} is reading its shipped data)`, spec.name, 'fields');
    return { task: base, loadOptions };
  }
  if (!m.fromRows || !m.fields) {
    const readers = taskNames().filter((n) => MODULES[n].fromRows).join(', ');
    throw new TaskOptionError(`task ${spec.name} does not read a user dataset (task.file); tasks that do: ${readers}`, spec.name, 'file');
  }
  const fromRows = m.fromRows;
  const known = m.fields;
  const aliases = m.fieldAliases ?? {};
  checkKnobs(spec.name, loadOptions, []);
  const what = `task ${spec.name} (${m.family})`;
  applyFieldMap([], fields, known, aliases, what); // bad field names fail here, before any file is read
  const task: Task = {
    ...base,
    async load(split: Split, lo: LoadOptions = {}): Promise<Query[]> {
      checkKnobs(spec.name, lo, []);
      const { files } = await datasetSplitFiles(file, split, log);
      const rows: DataRow[] = [];
      for (const f of files) rows.push(...(await readRecords(f)));
      const qs = fromRows(applyFieldMap(rows, fields, known, aliases, what));
      return applyLimit(qs, lo.limit);
    },
  };
  return { task, loadOptions };
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
