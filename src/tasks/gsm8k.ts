// GSM8K (Cobbe et al. 2021): grade-school word problems with worked solutions whose steps carry
// `<<a*b=c>>` calculator annotations and whose last line is `#### n`.
//
// Splits: train = gsm8k/train.jsonl (7,473), test = gsm8k/test.jsonl (1,319), dev = a fixed seeded
// subset of train (`devSize` rows, default 200, chosen by deriveSeed(seed, 'gsm8k-dev')) for B-STaR's
// (T, τ) search — the paper draws its search subset from the training queries, so dev ⊂ train.
// Query ids are `gsm8k-<file split>-<row index>`, so a dev query has its train id.
import { Rng, deriveSeed } from '../util/rng.js';
import { dataFile, describe, readJsonl, rowError, stringField, type DataRow } from './data.js';
import { annotatedEquations, formatNumber, hashAnswer, lastNumber, numbersEqual, numbersInText, parseNumber, textEquations } from './numeric.js';
import { applyLimit, checkKnobs, intKnob } from './options.js';
import type { LoadOptions, Query, SelfCheckOptions, SelfCheckRow, Split, Task, Verdict } from './types.js';

const T = 'gsm8k';
export const GSM8K_KNOBS = ['devSize'] as const;
export const GSM8K_DEV_SIZE = 200;

// ---------------------------------------------------------------------------------------------
// Loading

/** Fields of a numeric-answer (GSM8K-style) dataset row, and the names task.fields may also use. */
export const GSM8K_FIELDS = ['question', 'answer', 'solution', 'id'] as const;
export const GSM8K_FIELD_ALIASES: Record<string, string> = { problem: 'question' };

/**
 * A numeric-answer row as a query: `question`; `answer` either a worked solution ending in a line
 * `#### n` (GSM8K) or the number itself (`42`, `"1,200"`, `"-3.5"`); an optional worked `solution`
 * (used as the SFT target; without one the target is `#### n`); an optional `id` (default
 * `<idPrefix>-<row index>`). Bad rows are MalformedDataErrors naming file, line/row and field.
 */
export function gsm8kQuery(row: DataRow, index: number, idPrefix: string): Query {
  const question = stringField(row, 'question');
  const raw = row.value.answer;
  let answer: string | null = null;
  let solution: string | undefined;
  if (typeof raw === 'number' && Number.isFinite(raw)) answer = formatNumber(raw);
  else if (typeof raw === 'string') {
    answer = hashAnswer(raw);
    if (answer !== null) solution = raw;
    else {
      const x = parseNumber(raw);
      answer = x === null ? null : formatNumber(x);
    }
  }
  if (raw === undefined || raw === null) throw rowError(row, 'answer', 'a non-empty string', describe(raw));
  if (answer === null) {
    throw rowError(row, 'answer', 'a number or a solution ending in a line "#### <number>"', typeof raw === 'string' ? `no such line in "${raw.slice(-40)}"` : describe(raw));
  }
  if (row.value.solution !== undefined && row.value.solution !== null) solution = stringField(row, 'solution');
  const id = row.value.id;
  const gold: Query['gold'] = solution === undefined ? { answer } : { answer, solution };
  return { id: typeof id === 'string' || typeof id === 'number' ? `${idPrefix}-${id}` : `${idPrefix}-${index}`, prompt: question, gold };
}

/** Rows of one shipped file as queries (ids `gsm8k-<file>-<row index>`). */
function readSplitFile(file: 'train' | 'test', dataDir?: string): Query[] {
  const path = dataFile(`gsm8k/${file}.jsonl`, dataDir);
  return readJsonl(path).map((row, i) => gsm8kQuery(row, i, `gsm8k-${file}`));
}

function loadGsm8k(split: Split, opts: LoadOptions = {}): Query[] {
  checkKnobs(T, opts, GSM8K_KNOBS);
  const dataDir = opts.dataDir as string | undefined;
  if (split === 'test') return applyLimit(readSplitFile('test', dataDir), opts.limit);
  const train = readSplitFile('train', dataDir);
  if (split === 'train') return applyLimit(train, opts.limit);
  const devSize = opts.devSize === undefined ? GSM8K_DEV_SIZE : intKnob(T, 'devSize', opts.devSize, 0, train.length);
  const idx = new Rng(deriveSeed((opts.seed as number | undefined) ?? 0, 'gsm8k-dev')).shuffle([...train.keys()]);
  const dev = idx.slice(0, devSize).sort((a, b) => a - b).map((i) => train[i]);
  return applyLimit(dev, opts.limit);
}

// ---------------------------------------------------------------------------------------------
// Answers

/**
 * The final answer of a GSM8K-style completion, canonical (no commas, `$` or units):
 * the `#### n` line; else the text after the last `# Answer` heading; else after the last
 * "answer is" / "Answer:"; else the last `\boxed{…}`; else the last number anywhere.
 */
export function extractGsm8kAnswer(text: string): string | null {
  const hash = hashAnswer(text);
  if (hash !== null) return hash;
  const firstAfter = (re: RegExp): string | null => {
    let last: RegExpExecArray | null = null;
    for (const m of text.matchAll(re)) last = m as RegExpExecArray;
    if (last === null) return null;
    const xs = numbersInText(text.slice(last.index + last[0].length));
    return xs.length === 0 ? null : formatNumber(xs[0]);
  };
  const marked = firstAfter(/#\s*Answer\s*\n/g) ?? firstAfter(/answer\s*(?:is|:)\s*:?/gi);
  if (marked !== null) return marked;
  const boxed = [...text.matchAll(/\\boxed\{([^{}]*)\}/g)];
  if (boxed.length > 0) {
    const xs = numbersInText(boxed[boxed.length - 1][1]);
    if (xs.length > 0) return formatNumber(xs[0]);
  }
  return lastNumber(text);
}

export function verifyGsm8k(text: string, q: Query): Verdict {
  const answer = extractGsm8kAnswer(text);
  if (answer === null) return { correct: false, answer: null, reason: 'no-answer' };
  const correct = numbersEqual(answer, q.gold.answer);
  return { correct, answer, reason: correct ? 'match' : 'mismatch' };
}

/** `<<…>>` annotations when the text has any, else arithmetic written out in the text (`12 x 3 = 36`). */
export function gsm8kEquations(text: string): string[] {
  return text.includes('<<') ? annotatedEquations(text) : textEquations(text);
}

export const task: Task = {
  name: 'gsm8k',
  load: loadGsm8k,
  // The B-STaR authors' policy template (reference/official-repo-notes.md §6.3).
  formatPrompt: (q) => `# Question\n\n${q.prompt}\n\n# Solution\n\n`,
  extractAnswer: extractGsm8kAnswer,
  verify: verifyGsm8k,
  equations: gsm8kEquations,
  goldSolution: (q) => q.gold.solution ?? `#### ${q.gold.answer}`,
};

// ---------------------------------------------------------------------------------------------
// Self-check

const MAX_FAILURES = 20;

export function selfCheck(opts: SelfCheckOptions = {}): SelfCheckRow[] {
  const rows: SelfCheckRow[] = [];
  for (const split of ['train', 'test'] as const) {
    let t0 = performance.now();
    const qs = loadGsm8k(split, { dataDir: opts.dataDir, limit: opts.limit });
    const failures: SelfCheckRow['failures'] = [];
    let verified = 0;
    for (const q of qs) {
      const v = verifyGsm8k(task.goldSolution(q), q);
      if (v.correct) verified++;
      else if (failures.length < MAX_FAILURES) failures.push({ id: q.id, reason: `extracted ${v.answer}, gold ${q.gold.answer}` });
    }
    rows.push({ task: T, split, rows: qs.length, verified, failures, ms: performance.now() - t0 });
    // Each gold solution judged against another query (a seeded shuffle): accepted only when the two
    // gold answers happen to be equal.
    t0 = performance.now();
    const perm = new Rng(deriveSeed(0, 'gsm8k-shuffle', split)).shuffle([...qs.keys()]);
    let accepted = 0;
    let equal = 0;
    let agree = 0;
    const wrong: SelfCheckRow['failures'] = [];
    for (let i = 0; i < qs.length; i++) {
      const other = qs[perm[i]];
      const acc = verifyGsm8k(task.goldSolution(other), qs[i]).correct;
      const eq = numbersEqual(other.gold.answer, qs[i].gold.answer);
      if (acc) accepted++;
      if (eq) equal++;
      if (acc === eq) agree++;
      else if (wrong.length < MAX_FAILURES) wrong.push({ id: qs[i].id, reason: `${other.id}'s gold ${acc ? 'accepted' : 'rejected'}` });
    }
    rows.push({
      task: T, split, check: 'shuffled gold accepted', rows: qs.length, verified: agree, failures: wrong, ms: performance.now() - t0,
      rate: qs.length === 0 ? 0 : accepted / qs.length,
      expect: `= equal-answer rate ${qs.length === 0 ? '–' : ((equal / qs.length) * 100).toFixed(1)}%`,
      ok: qs.length > 0 && agree === qs.length,
    });
  }
  return rows;
}
