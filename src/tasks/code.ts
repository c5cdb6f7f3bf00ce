// The code task: MBPP (shipped; assert tests), HumanEval (shipped; check(candidate)) and APPS-format files
// (stdin/stdout cases or call-based `fn_name` cases) that a user points the task at.
//
// A completion's program is extracted (```python fenced block, or raw code; a HumanEval completion may be
// a function body to append to the prompt, or the whole function), run with the task's tests in the
// sandbox (./sandbox.ts) and judged: reason 'pass' or why not ('failed assertion', 'exception: KeyError',
// 'syntax error', 'timeout', 'timeout (cpu)', 'memory', 'output limit', 'wrong output (case 3 of 10)', …).
//
// Data: <dataDir>/code/{mbpp,humaneval}.jsonl(.gz); dataDir = opts.dataDir, else $BSTAR_DATA, else the
// package's own data/ folder. MBPP's standard split by task_id: 1–10 few-shot prompts, 11–510 test,
// 511–600 dev (validation), 601–974 train. HumanEval has only a test split.

import { Rng } from '../util/rng.js';
import { Sandbox, defaultSandbox, type SandboxOptions } from './sandbox.js';
import { failureReason, gradeInSandbox } from './grader.js';
import { readRecords } from './dataset.js';
import { DataError, dataFile, readJsonl, resolveDataDir as resolveSharedDataDir, whereOf, type DataRow, type RowUnit } from './data.js';
import type { LoadOptions, Query, Split, Task, Verdict } from './types.js';

// ---------------------------------------------------------------------------------------------------
// Errors

/** A line of a code data file is malformed (a DataError); names file:line (or row) and the field. */
export class CodeDataError extends DataError {
  constructor(file: string, line: number | null, field: string | null, detail: string, unit: RowUnit = 'line', mappedAs?: string) {
    const at = line === null ? file : whereOf(file, line, unit);
    const f = field === null ? '' : `field ${JSON.stringify(field)}${mappedAs !== undefined && mappedAs !== field ? ` (task.fields.${mappedAs})` : ''}: `;
    super(`${at}: ${f}${detail}`, file, line ?? undefined, field ?? undefined);
  }

  /** The error for `field` of a row (the dataset's column name when task.fields mapped it). */
  static at(row: DataRow, field: string | null, detail: string): CodeDataError {
    const head = field?.split('.')[0];
    const mapped = head === undefined ? undefined : row.fields?.[head];
    const column = field === null || mapped === undefined ? field : [mapped, ...field.split('.').slice(1)].join('.');
    return new CodeDataError(row.file, row.line, column, detail, row.unit ?? 'line', field ?? undefined);
  }
}

/** A load option or task option is unknown or out of range. */
export class CodeTaskOptionError extends Error {
  override name = 'CodeTaskOptionError';
}

// ---------------------------------------------------------------------------------------------------
// Data files


/** The data directory: opts.dataDir, else $BSTAR_DATA, else the package's own data/ folder. */
export function resolveDataDir(opts?: LoadOptions): string {
  if (opts?.dataDir !== undefined) {
    if (typeof opts.dataDir !== 'string') throw new CodeTaskOptionError(`load option dataDir: expected a path, found ${typeof opts.dataDir}`);
    return opts.dataDir;
  }
  return resolveSharedDataDir().dir;
}

type Row = Record<string, unknown>;

function str(r: DataRow, field: string, optional = false): string {
  const v = r.value[field];
  if ((v === undefined || v === null) && optional) return '';
  if (typeof v !== 'string') throw CodeDataError.at(r, field, `expected a string, found ${v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 60)}`);
  return v;
}

function strList(r: DataRow, field: string, optional = false): string[] {
  const v = r.value[field];
  if ((v === undefined || v === null) && optional) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw CodeDataError.at(r, field, `expected a list of strings, found ${v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 60)}`);
  return v as string[];
}

const crlf = (s: string) => s.replace(/\r\n/g, '\n');

// ---------------------------------------------------------------------------------------------------
// Load options: dataDir, limit, seed (limit + seed = a seeded sample of `limit` rows, kept in id order)

function checkLoadOptions(task: string, opts: LoadOptions | undefined): void {
  if (!opts) return;
  for (const k of Object.keys(opts))
    if (!['dataDir', 'limit', 'seed'].includes(k)) throw new CodeTaskOptionError(`${task} load option ${k}: unknown (known: dataDir, limit, seed)`);
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || (opts.limit as number) < 0))
    throw new CodeTaskOptionError(`${task} load option limit: expected a non-negative integer, found ${JSON.stringify(opts.limit)}`);
  if (opts.seed !== undefined && !Number.isInteger(opts.seed))
    throw new CodeTaskOptionError(`${task} load option seed: expected an integer, found ${JSON.stringify(opts.seed)}`);
}

function applyLimit<T>(xs: T[], opts: LoadOptions | undefined): T[] {
  const n = opts?.limit as number | undefined;
  if (n === undefined || n >= xs.length) return xs;
  if (opts?.seed === undefined) return xs.slice(0, n);
  const rng = new Rng(opts.seed as number);
  const idx = xs.map((_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(idx.length - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, n).sort((a, b) => a - b).map((i) => xs[i]);
}

// ---------------------------------------------------------------------------------------------------
// Program extraction

/**
 * The program in a completion. Fence lines (```, ```python, ```py) are paired in order, except that when
 * the first one is bare, not at the top, and their count is odd, it closes a fence the prompt opened
 * (MBPP's prompt ends with ```python): the program is then everything before it. Otherwise the program
 * is the first fenced block (to its closing fence, or to the end when a stop string cut it), or the whole
 * text when there is no fence. Leading indentation is kept (a HumanEval body), trailing whitespace
 * dropped. Null when nothing is left.
 */
export function extractProgram(text: string): string | null {
  const fences = [...crlf(text).matchAll(/^[ \t]*```[ \t]*([\w+-]*)[ \t]*$/gm)];
  const t = crlf(text);
  let code = t;
  if (fences.length > 0) {
    const first = fences[0];
    const before = t.slice(0, first.index);
    const closesPromptFence = first[1] === '' && fences.length % 2 === 1 && before.trim() !== '';
    if (closesPromptFence) code = before;
    else {
      const start = first.index! + first[0].length + 1;
      const close = fences[1];
      code = close ? t.slice(start, close.index) : t.slice(start);
    }
  }
  code = code.replace(/\s+$/, '');
  return code.trim() === '' ? null : code + '\n';
}

// ---------------------------------------------------------------------------------------------------
// Judging: ./grader.ts runs the tests in a pristine interpreter and calls the candidate through a pipe.

export { failureReason } from './grader.js';

// ---------------------------------------------------------------------------------------------------
// Options shared by the code tasks

export interface CodeTaskOptions {
  /** A Sandbox, or options for one (e.g. { mode: 'none' } for trusted code only). Default: a shared bwrap sandbox. */
  sandbox?: Sandbox | SandboxOptions;
}

function sandboxGetter(opts: CodeTaskOptions | undefined): () => Sandbox {
  const s = opts?.sandbox;
  if (s instanceof Sandbox) return () => s;
  if (s === undefined) return defaultSandbox;
  let made: Sandbox | null = null;
  return () => (made ??= new Sandbox(s));
}

// ---------------------------------------------------------------------------------------------------
// MBPP

export interface MbppOptions extends CodeTaskOptions {
  /** Worked examples before the question: 0 (default) to 3, taken from task_ids 2, 3, 4 as is customary. */
  fewShot?: number;
}

const MBPP_SPLITS: Record<Split, [number, number]> = { test: [11, 510], dev: [511, 600], train: [601, 974] };
const MBPP_SHOT_IDS = [2, 3, 4];

interface MbppRow {
  id: number | string;
  text: string;
  code: string;
  setup: string;
  tests: string[];
  challenge: string[];
}

/** Fields of an MBPP-style row (assert tests), and the names task.fields may also use. */
export const MBPP_FIELDS = ['text', 'code', 'test_list', 'test_setup_code', 'challenge_test_list', 'task_id'] as const;
export const MBPP_FIELD_ALIASES: Record<string, string> = { question: 'text', prompt: 'text', solution: 'code', tests: 'test_list', setup: 'test_setup_code', id: 'task_id' };

/**
 * One MBPP-style row. The shipped file (`strict`) needs a positive integer task_id (it decides the split);
 * a user's row may have any id (default: the row index), and its tests may be one string of asserts.
 */
function mbppRowOf(r: DataRow, index: number, strict: boolean): MbppRow {
  const rawId = r.value.task_id;
  let id: number | string;
  if (strict) {
    if (typeof rawId !== 'number' || !Number.isInteger(rawId) || rawId < 1) throw CodeDataError.at(r, 'task_id', `expected a positive integer, found ${JSON.stringify(rawId)}`);
    id = rawId;
  } else id = typeof rawId === 'number' || typeof rawId === 'string' ? rawId : index;
  const tests = !strict && typeof r.value.test_list === 'string' ? [r.value.test_list] : strList(r, 'test_list');
  if (tests.length === 0) throw CodeDataError.at(r, 'test_list', 'expected at least one test, found none');
  return {
    id,
    text: str(r, 'text'),
    code: crlf(str(r, 'code', !strict)),
    setup: crlf(str(r, 'test_setup_code', true)),
    tests: tests.map(crlf),
    challenge: strList(r, 'challenge_test_list', true).map(crlf),
  };
}

function loadMbppRows(dataDir: string): Array<MbppRow & { id: number }> {
  return readJsonl(dataFile('code/mbpp.jsonl', dataDir)).map((r, i) => mbppRowOf(r, i, true) as MbppRow & { id: number });
}

/** A user's MBPP-style rows as queries (zero-shot; ids `<idPrefix>-<task_id or line/row>`). */
export function mbppQueries(rows: DataRow[], idPrefix: string): Query[] {
  return rows.map((r) => {
    const row = mbppRowOf(r, r.line, false);
    return mbppQuery({ ...row, id: `${idPrefix}-${row.id}` }, []);
  });
}

function mbppQuery(r: MbppRow, shots: MbppRow[]): Query {
  return {
    id: `mbpp/${r.id}`,
    prompt: r.text,
    gold: { answer: r.code, solution: r.code },
    meta: {
      tests: r.tests,
      setup: r.setup,
      challengeTests: r.challenge,
      fewShot: shots.map((s) => ({ text: s.text, test: s.tests[0], code: s.code })),
    },
  };
}

function mbppProblem(text: string, test: string): string {
  return `${text}\nYour code should pass this test:\n${test}\n\`\`\`python\n`;
}

export function makeMbppTask(opts: MbppOptions = {}): Task {
  for (const k of Object.keys(opts))
    if (!['sandbox', 'fewShot'].includes(k)) throw new CodeTaskOptionError(`mbpp option ${k}: unknown (known: sandbox, fewShot)`);
  const fewShot = opts.fewShot ?? 0;
  if (!Number.isInteger(fewShot) || fewShot < 0 || fewShot > MBPP_SHOT_IDS.length)
    throw new CodeTaskOptionError(`mbpp option fewShot: expected an integer 0..${MBPP_SHOT_IDS.length}, found ${JSON.stringify(opts.fewShot)}`);
  const sandbox = sandboxGetter(opts);
  return {
    name: 'mbpp',
    stop: ['```'],
    load(split: Split, lo?: LoadOptions): Query[] {
      checkLoadOptions('mbpp', lo);
      const range = MBPP_SPLITS[split];
      if (!range) throw new CodeTaskOptionError(`mbpp: unknown split ${JSON.stringify(split)} (train, dev, test)`);
      const rows = loadMbppRows(resolveDataDir(lo));
      const byId = new Map(rows.map((r) => [r.id, r]));
      const shots = MBPP_SHOT_IDS.slice(0, fewShot).map((id) => {
        const r = byId.get(id);
        if (!r) throw new CodeDataError(dataFile('code/mbpp.jsonl', resolveDataDir(lo)), null, 'task_id', `few-shot example ${id} is missing`);
        return r;
      });
      const inSplit = rows.filter((r) => r.id >= range[0] && r.id <= range[1]).sort((a, b) => a.id - b.id);
      return applyLimit(inSplit, lo).map((r) => mbppQuery(r, shots));
    },
    formatPrompt(q: Query): string {
      const tests = q.meta?.tests as string[];
      const shots = (q.meta?.fewShot as Array<{ text: string; test: string; code: string }> | undefined) ?? [];
      const parts = shots.map((s) => `${mbppProblem(s.text, s.test)}${s.code}\n\`\`\`\n\n`);
      return parts.join('') + mbppProblem(q.prompt, tests[0]);
    },
    extractAnswer: extractProgram,
    goldSolution(q: Query): string {
      return `${q.gold.solution ?? q.gold.answer}\n\`\`\``;
    },
    async verify(text: string, q: Query): Promise<Verdict> {
      const program = extractProgram(text);
      if (program === null) return { correct: false, answer: null, reason: 'no code' };
      const tests = q.meta?.tests as string[];
      const setup = (q.meta?.setup as string | undefined) ?? '';
      const r = await gradeInSandbox(sandbox(), {
        program,
        tests: setup.trim() === '' ? tests : [setup, ...tests],
        remoteFrom: q.gold.solution ?? q.gold.answer,
      });
      return { correct: r.ok, answer: program, reason: r.reason };
    },
  };
}

/** MBPP with the shared bwrap sandbox, zero-shot. */
export const mbppTask: Task = makeMbppTask();

/** The 10 rows MBPP reserves for few-shot prompts (task_ids 1–10), as queries (for self-checks). */
export function loadMbppPromptRows(lo?: LoadOptions): Query[] {
  return loadMbppRows(resolveDataDir(lo)).filter((r) => r.id <= 10).sort((a, b) => a.id - b.id).map((r) => mbppQuery(r, []));
}

// ---------------------------------------------------------------------------------------------------
// HumanEval

const HUMANEVAL_STOP = ['\ndef ', '\nclass ', '\nif __name__', '\nprint(', '\n#', '\n```'];

/** Fields of a HumanEval-style row (a check(candidate) test), and the names task.fields may also use. */
export const HUMANEVAL_FIELDS = ['prompt', 'entry_point', 'canonical_solution', 'test', 'task_id'] as const;
export const HUMANEVAL_FIELD_ALIASES: Record<string, string> = { question: 'prompt', solution: 'canonical_solution', id: 'task_id' };

/** One HumanEval-style row as a query; a user's row may omit task_id (default: the row index) and the solution. */
export function humanEvalQuery(r: DataRow, index: number, strict = true, idPrefix = ''): Query {
  const rawId = r.value.task_id;
  const id = strict || typeof rawId === 'string' ? str(r, 'task_id') : typeof rawId === 'number' ? String(rawId) : String(index);
  const prompt = crlf(str(r, 'prompt'));
  const entry = str(r, 'entry_point');
  if (!/^[A-Za-z_]\w*$/.test(entry)) throw CodeDataError.at(r, 'entry_point', `expected a Python identifier, found ${JSON.stringify(entry)}`);
  const body = crlf(str(r, 'canonical_solution', !strict));
  return { id: `${idPrefix}${id}`, prompt, gold: { answer: body, solution: body }, meta: { entryPoint: entry, test: crlf(str(r, 'test')) } };
}

function loadHumanEval(dataDir: string): Query[] {
  return readJsonl(dataFile('code/humaneval.jsonl', dataDir)).map((r, i) => humanEvalQuery(r, i));
}

/**
 * The HumanEval program for a completion: the prompt (imports, helpers, the stub) followed by the
 * extracted code, which is either an indented function body (appended) or top-level code that defines
 * the entry point itself (it then replaces the stub).
 */
export function humanEvalProgram(prompt: string, code: string): string {
  const firstLine = code.split('\n').find((l) => l.trim() !== '') ?? '';
  const isBody = /^[ \t]/.test(firstLine);
  return isBody ? `${prompt.replace(/\s+$/, '')}\n${code}` : `${prompt}\n    pass\n\n${code}`;
}

export function makeHumanEvalTask(opts: CodeTaskOptions = {}): Task {
  for (const k of Object.keys(opts)) if (k !== 'sandbox') throw new CodeTaskOptionError(`humaneval option ${k}: unknown (known: sandbox)`);
  const sandbox = sandboxGetter(opts);
  return {
    name: 'humaneval',
    stop: HUMANEVAL_STOP,
    load(split: Split, lo?: LoadOptions): Query[] {
      checkLoadOptions('humaneval', lo);
      if (split !== 'test') throw new CodeTaskOptionError(`humaneval: only a test split exists (asked for ${JSON.stringify(split)})`);
      return applyLimit(loadHumanEval(resolveDataDir(lo)), lo);
    },
    formatPrompt: (q: Query) => q.prompt,
    extractAnswer: extractProgram,
    goldSolution: (q: Query) => q.gold.solution ?? q.gold.answer,
    async verify(text: string, q: Query): Promise<Verdict> {
      const code = extractProgram(text);
      if (code === null) return { correct: false, answer: null, reason: 'no code' };
      const entry = q.meta?.entryPoint as string;
      const program = humanEvalProgram(q.prompt, code);
      // The prompt (imports, helpers such as poly or encode_cyclic, the stub) is trusted: the harness runs
      // its own copy, so the tests' helpers are never the candidate's.
      const r = await gradeInSandbox(sandbox(), { program, trusted: q.prompt, remote: [entry], tests: [q.meta?.test as string, `check(${entry})`] });
      return { correct: r.ok, answer: code, reason: r.reason };
    },
  };
}

/** HumanEval with the shared bwrap sandbox. */
export const humanevalTask: Task = makeHumanEvalTask();

// ---------------------------------------------------------------------------------------------------
// APPS format: rows {problem_id, question, solutions (JSON list or list), input_output (JSON or object:
// {inputs, outputs, fn_name?}), starter_code?, difficulty?}. Standard-input cases feed `inputs[i]` on stdin
// and compare stdout with `outputs[i]`; call-based cases (fn_name) call the function with `inputs[i]` as
// arguments and compare the return value with `outputs[i]`.

export interface AppsCases {
  inputs: unknown[];
  outputs: unknown[];
  fnName: string | null;
}

function parseMaybeJson(r: DataRow, field: string): unknown {
  const v = r.value[field];
  if (typeof v !== 'string') return v;
  if (v.trim() === '') return undefined;
  try {
    return JSON.parse(v);
  } catch (e) {
    throw CodeDataError.at(r, field, `malformed JSON inside the string (${(e as Error).message})`);
  }
}

/** Fields of an APPS-style row (stdin/stdout or call-based cases), and the names task.fields may also use. */
export const APPS_FIELDS = ['question', 'input_output', 'solutions', 'starter_code', 'problem_id', 'difficulty'] as const;
export const APPS_FIELD_ALIASES: Record<string, string> = { prompt: 'question', tests: 'input_output', id: 'problem_id' };

/** One APPS-style row as a query; problem_id (or id) defaults to the row index. */
export function appsQuery(r: DataRow, index: number): Query {
  const pid = r.value.problem_id ?? r.value.id ?? index;
  if (typeof pid !== 'number' && typeof pid !== 'string') throw CodeDataError.at(r, 'problem_id', `expected a number or string, found ${JSON.stringify(pid)}`);
  const question = crlf(str(r, 'question'));
  const io = parseMaybeJson(r, 'input_output') as Row | undefined;
  if (!io || typeof io !== 'object') throw CodeDataError.at(r, 'input_output', 'expected {inputs, outputs}, found nothing');
  const { inputs, outputs } = io as { inputs: unknown; outputs: unknown };
  if (!Array.isArray(inputs) || !Array.isArray(outputs) || inputs.length !== outputs.length || inputs.length === 0)
    throw CodeDataError.at(r, 'input_output', `expected non-empty inputs and outputs lists of equal length, found ${Array.isArray(inputs) ? inputs.length : typeof inputs} inputs and ${Array.isArray(outputs) ? outputs.length : typeof outputs} outputs`);
  const fnName = (io as Row).fn_name;
  if (fnName !== undefined && (typeof fnName !== 'string' || !/^[A-Za-z_]\w*$/.test(fnName)))
    throw CodeDataError.at(r, 'input_output.fn_name', `expected a Python identifier, found ${JSON.stringify(fnName)}`);
  const sols = parseMaybeJson(r, 'solutions') ?? [];
  if (!Array.isArray(sols) || !sols.every((x) => typeof x === 'string')) throw CodeDataError.at(r, 'solutions', 'expected a list of program strings');
  const solutions = (sols as string[]).map(crlf);
  const cases: AppsCases = { inputs, outputs, fnName: (fnName as string | undefined) ?? null };
  return {
    id: `apps/${pid}`,
    prompt: question,
    gold: { answer: solutions[0] ?? '', ...(solutions.length > 0 ? { solution: solutions[0] } : {}) },
    meta: { cases, starterCode: crlf(str(r, 'starter_code', true)), difficulty: r.value.difficulty ?? null, solutions },
  };
}

async function loadApps(file: string): Promise<Query[]> {
  return (await readRecords(file)).map((r, i) => appsQuery(r, i));
}

/** APPS's whitespace-tolerant comparison: lines with surrounding whitespace and blank lines ignored; then
 *  whitespace-separated tokens; then tokens compared as numbers with a relative tolerance of 1e-5. */
export function appsOutputMatches(got: string, expected: string): boolean {
  const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const a = lines(got);
  const b = lines(expected);
  if (a.length === b.length && a.every((l, i) => l === b[i])) return true;
  const ta = a.join(' ').split(/\s+/).filter(Boolean);
  const tb = b.join(' ').split(/\s+/).filter(Boolean);
  if (ta.length !== tb.length) return false;
  return ta.every((t, i) => {
    if (t === tb[i]) return true;
    const x = Number(t);
    const y = Number(tb[i]);
    return Number.isFinite(x) && Number.isFinite(y) && /\d/.test(t) && /\d/.test(tb[i]) && Math.abs(x - y) <= 1e-8 + 1e-5 * Math.abs(y);
  });
}

const asText = (v: unknown): string => (Array.isArray(v) ? v.map(String).join('\n') : String(v));

/** A Python string literal holding this JSON text (JSON's string escapes are valid in Python too). */
const pyJson = (v: unknown): string => JSON.stringify(JSON.stringify(v));

/** One call-based case as harness test code: call the function (or Solution().fn, LeetCode-style), turn
 *  the plain result into JSON values and compare with the expected output, or with its only element (APPS
 *  stores call-based outputs wrapped in a list). */
function appsCallTest(fnName: string, args: unknown, want: unknown): string {
  return `import json as _bstar_json
_bstar_f = Solution().${fnName} if 'Solution' in globals() and hasattr(Solution, ${JSON.stringify(fnName)}) else ${fnName}
_bstar_r = _bstar_f(*_bstar_json.loads(${pyJson(args)}))
try:
    _bstar_got = _bstar_json.loads(_bstar_json.dumps(_bstar_r))
except (TypeError, ValueError):
    raise AssertionError('the return value is not JSON-serialisable')
_bstar_want = _bstar_json.loads(${pyJson(want)})
assert _bstar_got == _bstar_want or (type(_bstar_want) is list and len(_bstar_want) == 1 and _bstar_got == _bstar_want[0])
`;
}

/** Run every case (stopping at the first failure). Standard-input cases run the program once per case
 *  and compare its stdout here; call-based cases run in one grading run (./grader.ts). */
async function runAppsCases(sandbox: Sandbox, program: string, cases: AppsCases): Promise<{ ok: boolean; reason: string }> {
  const n = cases.inputs.length;
  const where = (i: number) => `case ${i + 1} of ${n}`;
  if (cases.fnName !== null) {
    const fn = cases.fnName;
    const tests = cases.inputs.map((args, i) => appsCallTest(fn, args, cases.outputs[i]));
    const r = await gradeInSandbox(sandbox, { program, tests, remote: [fn, 'Solution'] });
    if (r.ok) return { ok: true, reason: 'pass' };
    const at = r.test ?? 0;
    return { ok: false, reason: r.reason === 'failed assertion' ? `wrong output (${where(at)})` : `${r.reason} (${where(at)})` };
  }
  for (let i = 0; i < n; i++) {
    const r = await sandbox.run({ code: program, stdin: asText(cases.inputs[i]) });
    if (r.status !== 'exited' || r.exitCode !== 0 || r.signal) return { ok: false, reason: `${failureReason(r)} (${where(i)})` };
    if (!appsOutputMatches(r.stdout, asText(cases.outputs[i]))) return { ok: false, reason: `wrong output (${where(i)})` };
  }
  return { ok: true, reason: 'pass' };
}

export type AppsFiles = string | Partial<Record<Split, string>>;

/**
 * A task over APPS-format JSONL files: one path (used for whichever split is asked) or one per split.
 * The prompt follows the APPS paper (QUESTION / starter code / "Use Standard Input format" / ANSWER).
 */
export function appsTask(files: AppsFiles, opts: CodeTaskOptions = {}): Task {
  for (const k of Object.keys(opts)) if (k !== 'sandbox') throw new CodeTaskOptionError(`apps option ${k}: unknown (known: sandbox)`);
  if (typeof files !== 'string' && (typeof files !== 'object' || files === null))
    throw new CodeTaskOptionError(`apps: expected a JSONL path or {train?, dev?, test?} paths, found ${JSON.stringify(files)}`);
  const sandbox = sandboxGetter(opts);
  return {
    name: 'apps',
    stop: ['\nQUESTION:\n', '\nQUESTION', '\n\n\n\n'],
    async load(split: Split, lo?: LoadOptions): Promise<Query[]> {
      checkLoadOptions('apps', lo);
      const file = typeof files === 'string' ? files : files[split];
      if (!file) throw new CodeTaskOptionError(`apps: no file given for split ${JSON.stringify(split)} (given: ${Object.keys(files).join(', ') || 'none'})`);
      return applyLimit(await loadApps(file), lo);
    },
    formatPrompt(q: Query): string {
      const starter = (q.meta?.starterCode as string) ?? '';
      const call = (q.meta?.cases as AppsCases).fnName !== null;
      return `\nQUESTION:\n${q.prompt}\n${starter}\n${call ? 'Use Call-Based format' : 'Use Standard Input format'}\nANSWER:\n`;
    },
    extractAnswer: extractProgram,
    goldSolution: (q: Query) => q.gold.solution ?? q.gold.answer,
    async verify(text: string, q: Query): Promise<Verdict> {
      const program = extractProgram(text);
      if (program === null) return { correct: false, answer: null, reason: 'no code' };
      const r = await runAppsCases(sandbox(), program, q.meta?.cases as AppsCases);
      return { correct: r.ok, answer: program, reason: r.reason };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Self-check: every gold solution passes its own tests

export interface SelfCheckRow {
  task: string;
  split: string;
  rows: number;
  verified: number;
  failures: Array<{ id: string; reason: string }>;
  ms: number;
}

export interface SelfCheckOptions {
  dataDir?: string;
  /** Rows per split (seeded sample when `seed` is given); default all. */
  limit?: number;
  seed?: number;
  /** Which tasks (default both shipped ones). */
  tasks?: Array<'mbpp' | 'humaneval'>;
  sandbox?: Sandbox | SandboxOptions;
}

/** The self-check's default sandbox limits: generous, so that a slow but correct gold solution passes. */
export const SELF_CHECK_LIMITS: SandboxOptions = { wallMs: 120_000, cpuSeconds: 30 };

export async function selfCheck(opts: SelfCheckOptions = {}): Promise<SelfCheckRow[]> {
  const lo: LoadOptions = {};
  if (opts.dataDir !== undefined) lo.dataDir = opts.dataDir;
  if (opts.limit !== undefined) lo.limit = opts.limit;
  if (opts.seed !== undefined) lo.seed = opts.seed;
  // The check asks whether each gold solution passes its tests, not whether it is fast: its default
  // sandbox has SELF_CHECK_LIMITS (MBPP 123's reference solution needs about 4.8 s of CPU, right at the
  // run-time 5 s limit, and overruns the 10 s wall clock on a loaded machine).
  const co: CodeTaskOptions = { sandbox: opts.sandbox ?? SELF_CHECK_LIMITS };
  const which = opts.tasks ?? ['mbpp', 'humaneval'];
  const out: SelfCheckRow[] = [];
  const check = async (task: Task, split: string, qs: Query[]) => {
    const t0 = performance.now();
    const verdicts = await Promise.all(qs.map((q) => task.verify(task.goldSolution(q), q)));
    const failures = verdicts.flatMap((v, i) => (v.correct ? [] : [{ id: qs[i].id, reason: v.reason }]));
    out.push({ task: task.name, split, rows: qs.length, verified: qs.length - failures.length, failures, ms: Math.round(performance.now() - t0) });
  };
  if (which.includes('mbpp')) {
    const t = makeMbppTask(co);
    await check(t, 'fewshot', applyLimit(loadMbppPromptRows(lo), lo));
    for (const s of ['train', 'dev', 'test'] as const) await check(t, s, await t.load(s, lo));
  }
  if (which.includes('humaneval')) {
    const t = makeHumanEvalTask(co);
    await check(t, 'test', await t.load('test', lo));
  }
  return out;
}
