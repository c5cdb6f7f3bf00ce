// The MATH task (Hendrycks et al. 2021): train = the 7,500 MATH training problems, test = MATH500
// (the PRM800K test subset), dev = a fixed seeded subset of train. Prompts follow the paper
// ("# Question\n\n…\n\n# Solution\n\n"); the final answer is read either from the paper's
// "\n\n# Answer\n\n" section or from the last \boxed{} — an explicit option (answerFormat), because the
// prompt/SFT target decides which one the model learns. Grading is in math-grader.ts, answer strings
// in math-answer.ts, the self-checks in math-selfcheck.ts. docs/math-grading.md has the rules.

import { Rng, deriveSeed } from '../util/rng.js';
import { ANSWER_SEP, answerSection, lastBoxed, splitTopLevel, unwrapBoxes } from './math-answer.js';
import { gradeAnswer } from './math-grader.js';
import { rewriteAnswer } from './math-rewrite.js';
import { MalformedDataError, dataFile, describe, readJsonl, resolveDataDir as resolveSharedDataDir, stringField } from './data.js';
import type { LoadOptions, Query, SelfCheckOptions, SelfCheckRow, Split, Task, Verdict } from './types.js';

export type { SelfCheckOptions, SelfCheckRow } from './types.js';

/** Bad or missing MATH data, or bad options: the message names the file/line/field or option. */
export class MathTaskError extends Error {
  override name = 'MathTaskError';
}

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

export const MATH_FILES = { train: 'math/train.jsonl', test: 'math/math500.jsonl' } as const;
/** Default dev size: a fixed seeded subset of train (see devIndices). */
export const DEFAULT_DEV_SIZE = 500;
const LOAD_KEYS = new Set(['dataDir', 'limit', 'seed', 'devSize']);

/** opts.dataDir, else $BSTAR_DATA, else the package's own data/ folder (one rule for every task: data.ts). */
export function resolveDataDir(dataDir?: string): string {
  return resolveSharedDataDir(dataDir).dir;
}

interface MathRow {
  id: string;
  problem: string;
  answer: string;
  solution?: string;
  level: number | null;
  subject: string;
}

const fileCache = new Map<string, MathRow[]>();

/** Read and validate a MATH jsonl file (plain or .gz; train rows need `solution`). Cached per path. */
export function readMathFile(path: string, needSolution: boolean): MathRow[] {
  const cached = fileCache.get(path);
  if (cached) return cached;
  const rows: MathRow[] = readJsonl(path).map((row) => {
    const level = row.value['level'];
    let lv: number | null;
    if (typeof level === 'number' && Number.isInteger(level)) lv = level;
    else if (typeof level === 'string' && /^Level (\d|\?)$/.test(level)) lv = level.endsWith('?') ? null : Number(level.slice(6));
    else throw new MalformedDataError(row.file, row.line, 'level', 'an integer or "Level N"', describe(level));
    return {
      id: stringField(row, 'id'),
      problem: stringField(row, 'problem'),
      answer: stringField(row, 'answer', true),
      solution: needSolution ? stringField(row, 'solution') : undefined,
      level: lv,
      subject: stringField(row, 'subject'),
    };
  });
  fileCache.set(path, rows);
  return rows;
}

/** Indices (ascending) of the dev subset: the first `size` of a seeded shuffle of 0..n-1. */
export function devIndices(n: number, size: number, seed: number): number[] {
  if (!Number.isInteger(size) || size < 1 || size > n) throw new MathTaskError(`option devSize: expected an integer in [1, ${n}], found ${size}`);
  const rng = new Rng(deriveSeed(seed, 'math', 'dev'));
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + rng.int(n - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, size).sort((a, b) => a - b);
}

function toQuery(r: MathRow): Query {
  const gold: Query['gold'] = { answer: r.answer };
  if (r.solution !== undefined) gold.solution = r.solution;
  return { id: r.id, prompt: r.problem, gold, meta: { level: r.level, subject: r.subject } };
}

/** Load a split: train = math/train.jsonl, test = math/math500.jsonl, dev = seeded subset of train. */
export function loadMath(split: Split, opts: LoadOptions = {}): Query[] {
  for (const k of Object.keys(opts)) if (!LOAD_KEYS.has(k)) throw new MathTaskError(`unknown MATH load option "${k}" (known: ${[...LOAD_KEYS].join(', ')})`);
  const { limit, seed = 0, devSize = DEFAULT_DEV_SIZE } = opts as { limit?: number; seed?: number; devSize?: number };
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new MathTaskError(`option limit: expected a non-negative integer, found ${limit}`);
  if (!Number.isInteger(seed)) throw new MathTaskError(`option seed: expected an integer, found ${seed}`);
  const dir = opts.dataDir as string | undefined;
  // Two MATH train rows (number_theory/7115, 7117) have an empty \boxed{} and so no gold answer:
  // they cannot be graded and are left out of every split.
  const gradable = (rows: MathRow[]) => rows.filter((r) => r.answer.trim() !== '');
  let rows: MathRow[];
  if (split === 'train') rows = gradable(readMathFile(dataFile(MATH_FILES.train, dir), true));
  else if (split === 'test') rows = gradable(readMathFile(dataFile(MATH_FILES.test, dir), false));
  else if (split === 'dev') {
    const all = gradable(readMathFile(dataFile(MATH_FILES.train, dir), true));
    rows = devIndices(all.length, devSize, seed).map((i) => all[i]!);
  } else throw new MathTaskError(`unknown split "${split as string}" (train, dev, test)`);
  const qs = rows.map(toQuery);
  return limit === undefined ? qs : qs.slice(0, limit);
}

// ---------------------------------------------------------------------------------------------
// Prompt, extraction, verification
// ---------------------------------------------------------------------------------------------

/** Where the model writes its final answer: the paper's "# Answer" section, or the last \boxed{}. */
export type AnswerFormat = 'answer-section' | 'boxed';

export const PROMPT_TEMPLATE = '# Question\n\n{question}\n\n# Solution\n\n';

export function formatMathPrompt(problem: string, template = PROMPT_TEMPLATE): string {
  return template.replace('{question}', problem);
}

/** Extract the final answer in the given format; null when the completion has none. */
export function extractMathAnswer(text: string, format: AnswerFormat): string | null {
  return format === 'boxed' ? lastBoxed(text) : answerSection(text);
}

// ---------------------------------------------------------------------------------------------
// Equations (for the distinct-equations metric)
// ---------------------------------------------------------------------------------------------

/** Math segments of a solution: $$…$$, \[…\], $…$, \(…\) and align/equation/gather environments. */
export function mathSegments(text: string): string[] {
  const re = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\begin\{(align|equation|gather|eqnarray|multline)(\*?)\}([\s\S]+?)\\end\{\3\4\}|\$([^$]+?)\$|\\\(([\s\S]+?)\\\)/g;
  const out: string[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[5] ?? m[6] ?? m[7] ?? '');
  return out;
}

/** One equation in canonical spelling: no spacing commands, \left/\right, alignment marks or whitespace. */
export function normalizeEquation(eq: string): string {
  let s = unwrapBoxes(eq);
  s = s.replace(/\\[dt]frac(?![a-zA-Z])/g, '\\frac');
  s = s.replace(/\\(?:left|right)(?![a-zA-Z])\.?/g, '');
  s = s.replace(/(?<!\\)\\[!,;: ]|\\q?quad(?![a-zA-Z])|&|~|\\(?:nonumber|notag)(?![a-zA-Z])/g, ' ');
  s = s.replace(/(\\[a-zA-Z]+)\s+(?=[a-zA-Z])/g, '$1\u0000');
  s = s.replace(/\s+/g, '').replace(/\u0000/g, ' ');
  return s.replace(/[.,;:]+$/, '');
}

const HAS_EQ = /(^|[^<>!\\])=/;

/**
 * Split one math piece into separate statements: at `\Rightarrow`, `\implies`, `\iff`, `\quad`,
 * `\text{…}` and `;`, and at top-level commas; a part without `=` is glued back to the one before it
 * (so `x=2, y=3` gives two equations but `a=1, 2, 3` and `f(1,2)=3` stay whole).
 */
function splitStatements(piece: string): string[] {
  const coarse = piece.split(/\\(?:Rightarrow|Longrightarrow|implies|iff|Leftrightarrow|q?quad)(?![a-zA-Z])|\\text\s*\{[^{}]*\}|;/);
  const out: string[] = [];
  for (const c of coarse) {
    const parts = splitTopLevel(c, ',');
    let cur: string | null = null;
    for (const p of parts) {
      if (cur !== null && !HAS_EQ.test(p)) cur += `,${p}`;
      else { if (cur !== null) out.push(cur); cur = p; }
    }
    if (cur !== null) out.push(cur);
  }
  return out;
}

/**
 * Normalised equations of a solution, in order: every math segment is split at `\\` (align rows)
 * and into statements (splitStatements), each is normalised (normalizeEquation), and those containing
 * `=` are kept. A text with no math delimiters falls back to its lines containing `=`.
 */
export function mathEquations(text: string): string[] {
  const segs = mathSegments(text);
  const pieces = segs.length > 0 ? segs.flatMap((s) => s.split(/\\\\/)) : text.split('\n');
  return pieces.flatMap(splitStatements).map(normalizeEquation).filter((e) => HAS_EQ.test(e));
}

// ---------------------------------------------------------------------------------------------
// The task
// ---------------------------------------------------------------------------------------------

export interface MathTaskOptions {
  /** Default 'answer-section' (the paper's format). */
  answerFormat?: AnswerFormat;
  /** Prompt template with a `{question}` slot. Default PROMPT_TEMPLATE. */
  template?: string;
}

/** The gold worked solution in the chosen answer format (train rows only; MATH500 has none). */
export function mathGoldSolution(query: Query, format: AnswerFormat): string {
  const sol = query.gold.solution;
  if (sol === undefined) throw new MathTaskError(`query ${query.id}: no worked solution (MATH500 ships answers only; use the train or dev split for SFT)`);
  if (format === 'boxed') return sol;
  return unwrapBoxes(sol).trimEnd() + ANSWER_SEP + query.gold.answer;
}

export function createMathTask(options: MathTaskOptions = {}): Task {
  for (const k of Object.keys(options)) if (k !== 'answerFormat' && k !== 'template') throw new MathTaskError(`unknown MATH task option "${k}" (known: answerFormat, template)`);
  const format: AnswerFormat = options.answerFormat ?? 'answer-section';
  if (format !== 'answer-section' && format !== 'boxed') throw new MathTaskError(`option answerFormat: expected 'answer-section' or 'boxed', found ${JSON.stringify(format)}`);
  const template = options.template ?? PROMPT_TEMPLATE;
  if (!template.includes('{question}')) throw new MathTaskError(`option template: must contain "{question}", found ${JSON.stringify(template)}`);
  return {
    name: 'math',
    load: loadMath,
    formatPrompt: (q) => formatMathPrompt(q.prompt, template),
    extractAnswer: (text) => extractMathAnswer(text, format),
    verify(text: string, query: Query): Verdict {
      const answer = extractMathAnswer(text, format);
      if (answer === null) return { correct: false, answer: null, reason: 'no-answer' };
      try {
        const g = gradeAnswer(answer, query.gold.answer);
        return { correct: g.correct, answer, reason: g.reason };
      } catch (err) {
        return { correct: false, answer, reason: `error: ${(err as Error).message}` };
      }
    },
    equations: mathEquations,
    goldSolution: (q) => mathGoldSolution(q, format),
    stop: ['\n\n# Question'],
  };
}

/** The MATH task with the paper's "# Answer" format. */
export const mathTask: Task = createMathTask();


// ---------------------------------------------------------------------------------------------
// Self-checks (run in full by `bstar data check`; a sample runs in npm test)
// ---------------------------------------------------------------------------------------------

/**
 * Rows: `train`: every gold solution's last \boxed{} (and its `# Answer` rendering) verifies against
 * the dataset's `answer` field. `test` (MATH500): every answer verifies against each of its automatic
 * rewrites (≥ 3 per answer, see math-rewrite.ts), both ways; an answer fails if any rewrite fails or
 * it has fewer than 3. `train-rewrites`: the same rewrite check on the 7,498 train answers (a wider
 * variety of answer forms; a few rewrites are ambiguous by construction, see docs/math-grading.md).
 */
export async function selfCheck(opts: SelfCheckOptions = {}): Promise<SelfCheckRow[]> {
  const load: LoadOptions = opts.dataDir === undefined ? {} : { dataDir: opts.dataDir };
  if (opts.limit !== undefined) load.limit = opts.limit;
  const out: SelfCheckRow[] = [];

  let t0 = performance.now();
  const boxedTask = createMathTask({ answerFormat: 'boxed' });
  const raw = readMathFile(dataFile(MATH_FILES.train, opts.dataDir), true);
  const rawRows = opts.limit === undefined ? raw : raw.slice(0, opts.limit);
  const trainFail: SelfCheckRow['failures'] = [];
  // A row whose solution ends in an empty \boxed{} has no gold answer: it is left out of every split
  // (loadMath), so it is not a check failure; the row's detail names it.
  const ungradable = rawRows.filter((r) => r.answer.trim() === '');
  const gradableRows = rawRows.filter((r) => r.answer.trim() !== '');
  for (const r of gradableRows) {
    const q = toQuery(r);
    const v1 = boxedTask.verify(q.gold.solution!, q) as Verdict;
    const v2 = mathTask.verify(mathGoldSolution(q, 'answer-section'), q) as Verdict;
    if (!v1.correct) trainFail.push({ id: q.id, reason: `boxed answer ${JSON.stringify(v1.answer)} vs ${JSON.stringify(q.gold.answer)}: ${v1.reason}` });
    else if (!v2.correct) trainFail.push({ id: q.id, reason: `# Answer section ${JSON.stringify(v2.answer)}: ${v2.reason}` });
  }
  const trainRow: SelfCheckRow = { task: 'math', split: 'train', rows: gradableRows.length, verified: gradableRows.length - trainFail.length, failures: trainFail, ms: performance.now() - t0 };
  if (ungradable.length > 0) trainRow.detail = `${ungradable.length} of ${rawRows.length} rows left out: empty \\boxed{}, no gold answer (${ungradable.map((r) => r.id).join(', ')})`;
  out.push(trainRow);

  for (const split of ['test', 'train'] as const) {
    t0 = performance.now();
    const qs = loadMath(split, load);
    const failures = rewriteFailures(qs, split === 'test' ? 3 : 0);
    out.push({ task: 'math', split: split === 'test' ? 'test' : 'train-rewrites', rows: qs.length, verified: qs.length - failures.length, failures, ms: performance.now() - t0 });
  }
  return out;
}

/** Queries whose gold answer has < minForms rewrites or a rewrite that does not verify (both directions). */
function rewriteFailures(qs: Query[], minForms: number): SelfCheckRow['failures'] {
  const failures: SelfCheckRow['failures'] = [];
  for (const q of qs) {
    const forms = rewriteAnswer(q.gold.answer);
    const bad = forms.filter(([, t]) => !gradeAnswer(t, q.gold.answer).correct || !gradeAnswer(q.gold.answer, t).correct);
    if (forms.length < minForms) failures.push({ id: q.id, reason: `only ${forms.length} rewrites of ${JSON.stringify(q.gold.answer)}` });
    else if (bad.length > 0) failures.push({ id: q.id, reason: `rewrites not equal to ${JSON.stringify(q.gold.answer)}: ${bad.map(([n, t]) => `${n}: ${JSON.stringify(t)}`).join('; ')}` });
  }
  return failures;
}

/**
 * How often an answer (MATH500 by default) is judged equal to a different problem's: each answer i is
 * compared with answers i+1..i+offsets (mod n). Pairs whose answers are the same value (identical
 * after normalisation, e.g. two problems whose answer is 2) are expected matches; the rest should be 0.
 */
export function crossAnswerCheck(opts: SelfCheckOptions & { offsets?: number; split?: Split } = {}): { pairs: number; judgedEqual: Array<[string, string]>; ms: number } {
  const t0 = performance.now();
  const load: LoadOptions = opts.dataDir === undefined ? {} : { dataDir: opts.dataDir };
  if (opts.limit !== undefined) load.limit = opts.limit;
  const test = loadMath(opts.split ?? 'test', load);
  const offsets = opts.offsets ?? 5;
  const judgedEqual: Array<[string, string]> = [];
  let pairs = 0;
  for (let i = 0; i < test.length; i++) {
    for (let k = 1; k <= offsets && k < test.length; k++) {
      const a = test[i]!.gold.answer, b = test[(i + k) % test.length]!.gold.answer;
      pairs++;
      if (gradeAnswer(b, a).correct) judgedEqual.push([a, b]);
    }
  }
  return { pairs, judgedEqual, ms: performance.now() - t0 };
}
