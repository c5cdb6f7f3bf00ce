// ARC-Challenge (AI2 Reasoning Challenge): multiple-choice science questions.
//
// Splits come from the shipped files: train = arc/train.jsonl (1,418, ARC-C train + validation, as the
// B-STaR authors ship it), dev = arc/dev.jsonl (their 200-item subset of train, used for the (T, τ)
// search; dev ⊂ train), test = arc/test.jsonl (1,172).
//
// Choices are shown as (A), (B), … by position. A few items label their choices 1–4 in the data; they
// are relabelled by position like the others and their answer key mapped the same way (the authors'
// scorer compares the letter with the raw key, so those items could never be right there).
import { Rng, deriveSeed } from '../util/rng.js';
import { dataFile, describe, readJsonl, rowError, stringArrayField, stringField, type DataRow } from './data.js';
import { applyLimit, checkKnobs } from './options.js';
import type { LoadOptions, Query, SelfCheckOptions, SelfCheckRow, Split, Task, Verdict } from './types.js';

const T = 'arc';
const LETTERS = 'ABCDEFGH';

export interface ArcChoice {
  letter: string;
  text: string;
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Fields of a multiple-choice dataset row, and the names task.fields may also use. */
export const ARC_FIELDS = ['question', 'choices', 'answerKey', 'id'] as const;
export const ARC_FIELD_ALIASES: Record<string, string> = { answer: 'answerKey', options: 'choices' };

/**
 * A multiple-choice row as a query. `choices`: `{text: [...], label: [...]}` (ARC), a list of strings,
 * or a list of `{text, label}`; `answerKey`: one of the labels, the text of the right choice, or a
 * number (0-based index). Choices are lettered A, B, … by position. `id` defaults to the row index.
 */
export function arcQuery(row: DataRow, index: number, idPrefix = 'arc'): Query {
  const question = stringField(row, 'question');
  const choices = row.value.choices;
  let texts: string[];
  let labels: string[];
  if (Array.isArray(choices) && choices.every((c) => typeof c === 'string')) {
    texts = choices as string[];
    labels = texts.map((_, i) => LETTERS[i] ?? String(i + 1));
  } else if (Array.isArray(choices) && choices.every((c) => c !== null && typeof c === 'object' && typeof (c as { text?: unknown }).text === 'string')) {
    texts = choices.map((c) => (c as { text: string }).text);
    labels = choices.map((c, i) => String((c as { label?: unknown }).label ?? LETTERS[i]));
  } else if (choices !== null && typeof choices === 'object' && !Array.isArray(choices)) {
    const c = choices as { text?: unknown; label?: unknown };
    texts = stringArrayField(row, c.text, 'choices.text');
    labels = stringArrayField(row, c.label, 'choices.label');
  } else {
    throw rowError(row, 'choices', 'an object {text: [...], label: [...]} or a list of choice texts', describe(choices));
  }
  if (texts.length !== labels.length || texts.length < 2 || texts.length > LETTERS.length) {
    throw rowError(row, 'choices', `2–${LETTERS.length} texts with as many labels`, `${texts.length} texts and ${labels.length} labels`);
  }
  const key = row.value.answerKey;
  let pos = -1;
  if (typeof key === 'number' && Number.isInteger(key)) pos = key >= 0 && key < texts.length ? key : -1;
  else if (typeof key === 'string') {
    pos = labels.indexOf(key);
    if (pos < 0) pos = texts.indexOf(key);
  } else if (key === undefined || key === null) throw rowError(row, 'answerKey', 'a non-empty string', describe(key));
  if (pos < 0) {
    throw rowError(row, 'answerKey', `one of the labels ${labels.join(', ')} (or a choice's text, or a 0-based index)`, describe(key));
  }
  const rawId = row.value.id;
  const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : String(index);
  const list: ArcChoice[] = texts.map((text, i) => ({ letter: LETTERS[i], text }));
  return { id: `${idPrefix}-${id}`, prompt: question, gold: { answer: LETTERS[pos] }, meta: { choices: list } };
}

function loadArc(split: Split, opts: LoadOptions = {}): Query[] {
  checkKnobs(T, opts, []);
  const path = dataFile(`arc/${split}.jsonl`, opts.dataDir as string | undefined);
  const out = readJsonl(path).map((row, i) => {
    stringField(row, 'id');
    return arcQuery(row, i);
  });
  return applyLimit(out, opts.limit);
}

export function arcChoices(q: Query): ArcChoice[] {
  const c = q.meta?.choices as ArcChoice[] | undefined;
  if (!Array.isArray(c)) throw new Error(`query ${q.id} is not an ARC query (meta.choices is missing)`);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Prompt and answers

/** The authors' 0-shot prompt (reference/official-repo-notes.md §6.3), choices lettered by position. */
export function formatArcPrompt(q: Query): string {
  const choices = arcChoices(q).map((c) => `(${c.letter}) ${c.text}`).join('\n');
  return `Your task is to answer the question below. Give step by step reasoning before you answer.\n\nQuestion: ${q.prompt}\n${choices}\nSolution:\n`;
}

const L = '[A-H]';
// Patterns from most to least explicit; within a pattern the last match wins (a model may revise).
const PATTERNS: RegExp[] = [
  // "Final answer: (C)", "final answer is C"
  new RegExp(String.raw`final\s+answer\s*(?:is\s*)?:?\s*[\[(]?(${L})\b[\])]?`, 'gi'),
  // "The answer is (C)", "Answer: C", "the correct option is C", "I choose (C)"
  new RegExp(String.raw`(?:answer|option|choice)\s*(?:is|:|would be|should be)\s*:?\s*(?:option\s+|choice\s+)?[\[(]?(${L})\b[\])]?(?![\w'])`, 'gi'),
  new RegExp(String.raw`\b(?:choose|pick|select|go with)\s+(?:option\s+|choice\s+)?[\[(]?(${L})\b[\])]?(?![\w'])`, 'gi'),
  // "(C)" anywhere
  new RegExp(String.raw`\((${L})\)`, 'g'),
  // "C." or "C)" or "C:" opening a line: "C. dry palms"
  new RegExp(String.raw`^\s*(${L})[.):](?=\s|$)`, 'gm'),
];

/** A letter found in free text and where its statement sits. */
interface LetterMatch {
  letter: string;
  /** The text before and after the letter, on its line. */
  before: string;
  after: string;
}

function findLetter(text: string): LetterMatch | null {
  // Matched with the `d` flag: indices[1] is where the letter is.
  const at = (m: RegExpMatchArray, letter: string): LetterMatch => {
    const pos = (m as RegExpMatchArray & { indices: Array<[number, number]> }).indices[1][0];
    const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
    const lineEnd = text.indexOf('\n', pos);
    return { letter, before: text.slice(lineStart, pos), after: text.slice(pos + 1, lineEnd < 0 ? undefined : lineEnd) };
  };
  const withIndices = (re: RegExp) => new RegExp(re.source, re.flags + 'd');
  for (const re of PATTERNS) {
    let last: LetterMatch | null = null;
    for (const m of text.matchAll(withIndices(re))) {
      // "the answer is a bit unclear": a bare lower-case "a" before a word is the article.
      const after = text.slice(m.index + m[0].length);
      // ("a or B" is a letter: a hedge.)
      if (m[1] === 'a' && !/[\])]$/.test(m[0]) && /^\s+[a-z]/.test(after) && !/^\s+(?:or|and)\b/.test(after)) continue;
      last = at(m, m[1].toUpperCase());
    }
    if (last !== null) return last;
  }
  // Last standalone capital A–H. "A" followed by a lower-case word is the article, unless the word
  // is a verb of choosing ("A is correct").
  let last: LetterMatch | null = null;
  for (const m of text.matchAll(new RegExp(String.raw`(?<![\w'])(${L})(?![\w'])(\s+[a-z]+)?`, 'gd'))) {
    const next = m[2]?.trim();
    if (m[1] === 'A' && next !== undefined && !/^(?:is|was|seems|looks|because|since)$/.test(next)) continue;
    last = at(m, m[1]);
  }
  return last;
}

// A hedge: the chosen letter joined to another by "or", "and", "/" or a comma ("A or C", "(B)/(D)",
// "either A or C", "C, D"), before or after it in the answer statement.
// The other letter is a capital (a lower-case "a" after "or" is the article).
const JOIN = String.raw`\s*(?:,|\/|\b(?:or|OR|Or|and|AND|And)\b|\band\/or\b)\s*(?:[Oo]ption\s+|[Cc]hoice\s+)?`;
const HEDGE_AFTER = new RegExp(String.raw`^[\])]?${JOIN}[\[(]?(${L})(?![\w'])`);
const HEDGE_BEFORE = new RegExp(String.raw`(?<![\w'])[\[(]?(${L})[\])]?${JOIN}[\[(]?$`);

/**
 * The answer in free text: the chosen letter, or the letters it hedges between. Patterns go from most to
 * least explicit, and the last statement of a pattern wins (a model may revise).
 */
export function arcAnswer(text: string): { letter: string | null; hedge: string[] | null } {
  const m = findLetter(text);
  if (m === null) return { letter: null, hedge: null };
  const others = [HEDGE_BEFORE.exec(m.before)?.[1], HEDGE_AFTER.exec(m.after)?.[1]]
    .filter((x): x is string => x !== undefined && x !== m.letter);
  if (others.length > 0) return { letter: null, hedge: [...new Set([...others, m.letter])].sort() };
  return { letter: m.letter, hedge: null };
}

/**
 * The chosen letter in free text, upper-case; null when none is found or when the answer hedges between
 * letters ("A or C"). Case-insensitive only where the wording says it is an answer ("answer is c");
 * otherwise a capital letter standing alone — and not the article "A" opening a phrase ("A plant needs…").
 */
export function extractArcLetter(text: string): string | null {
  return arcAnswer(text).letter;
}

export function verifyArc(text: string, q: Query): Verdict {
  const { letter: answer, hedge } = arcAnswer(text);
  if (hedge !== null) return { correct: false, answer: null, reason: `hedge (${hedge.join(' or ')})` };
  if (answer === null) return { correct: false, answer: null, reason: 'no-answer' };
  if (!arcChoices(q).some((c) => c.letter === answer)) return { correct: false, answer, reason: `not a choice (${arcChoices(q).length} choices)` };
  const correct = answer === q.gold.answer;
  return { correct, answer, reason: correct ? 'match' : 'mismatch' };
}

export const task: Task = {
  name: 'arc',
  load: loadArc,
  formatPrompt: formatArcPrompt,
  extractAnswer: extractArcLetter,
  verify: verifyArc,
  goldSolution: (q) => {
    const c = arcChoices(q).find((x) => x.letter === q.gold.answer);
    return `The correct choice is "${c ? c.text.replace(/[.\s]+$/, '') : q.gold.answer}".\nFinal answer: (${q.gold.answer})`;
  },
};

// ---------------------------------------------------------------------------------------------
// Self-check

const MAX_FAILURES = 20;

export function selfCheck(opts: SelfCheckOptions = {}): SelfCheckRow[] {
  const rows: SelfCheckRow[] = [];
  for (const split of ['train', 'dev', 'test'] as const) {
    let t0 = performance.now();
    const qs = loadArc(split, { dataDir: opts.dataDir, limit: opts.limit });
    const failures: SelfCheckRow['failures'] = [];
    let verified = 0;
    for (const q of qs) {
      const prompt = formatArcPrompt(q);
      const missing = arcChoices(q).find((c) => !prompt.includes(`(${c.letter}) ${c.text}\n`));
      const v = verifyArc(task.goldSolution(q), q);
      if (missing === undefined && v.correct) verified++;
      else if (failures.length < MAX_FAILURES) failures.push({ id: q.id, reason: missing ? `choice ${missing.letter} not in the prompt` : v.reason });
    }
    rows.push({ task: T, split, rows: qs.length, verified, failures, ms: performance.now() - t0 });
    // A uniformly random letter among each item's choices is right with probability 1/k; the rate
    // must sit within 4 standard deviations of that expectation.
    t0 = performance.now();
    const rng = new Rng(deriveSeed(0, 'arc-random', split));
    let right = 0;
    let mean = 0;
    let variance = 0;
    for (const q of qs) {
      const cs = arcChoices(q);
      const pick = cs[rng.int(cs.length)].letter;
      if (verifyArc(`I think it is ${pick}.`, q).correct) right++;
      mean += 1 / cs.length;
      variance += (1 / cs.length) * (1 - 1 / cs.length);
    }
    const n = Math.max(1, qs.length);
    const expectRate = mean / n;
    const tol = (4 * Math.sqrt(variance)) / n;
    const rate = right / n;
    rows.push({
      task: T, split, check: 'random letter ≈ chance', rows: qs.length, verified: right, failures: [], ms: performance.now() - t0,
      rate, expect: `≈ ${(expectRate * 100).toFixed(1)}% ± ${(tol * 100).toFixed(1)}%`, ok: qs.length > 0 && Math.abs(rate - expectRate) <= tol,
    });
  }
  return rows;
}
