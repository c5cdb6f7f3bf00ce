// The embedded default task: procedural GSM8K-shaped word problems that a small character model can
// learn from scratch on a CPU. A problem is a tree of arithmetic steps (each a sentence with one
// `<<a+b=c>>c` equation) told as a short story about one or two people; independent steps (one
// person's events vs the other's, a pack bought vs the running count) can be done in any order, so a
// problem has several correct solutions and the distinct-equations metric means something.
//
// Everything flows from a seed: problem i of a stream is drawn from deriveSeed(seed, 'arith', i); the
// SHA-256 of the question text decides its split (80 % train, 10 % dev, 10 % test), so the splits are
// disjoint by construction whatever the knobs.
import { createHash } from 'node:crypto';
import { Rng, deriveSeed } from '../util/rng.js';
import * as W from './arith-words.js';
import { annotatedEquations, evalFlat, hashAnswer, lastNumber } from './numeric.js';
import { TaskOptionError, applyLimit, checkKnobs, intKnob, numberKnob, rangeKnob } from './options.js';
import type { LoadOptions, Query, SelfCheckOptions, SelfCheckRow, Split, Task, Verdict } from './types.js';

// ---------------------------------------------------------------------------------------------
// Alphabet

/**
 * Every character an arith prompt or solution may contain (82 symbols, one per char; a test checks
 * all generated text against it). A tokenizer may add the multi-char symbols in ARITH_MULTI.
 */
export const ARITH_ALPHABET =
  ' \n0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz' + ".,?!'-+*/=<>#:()$%";

/** Multi-character symbols of the format, should a tokenizer want them as single tokens. */
export const ARITH_MULTI = ['<<', '>>', '####'] as const;

// ---------------------------------------------------------------------------------------------
// Problem representation (JSON-safe; kept in Query.meta.plan)

export type ArithOp = '+' | '-' | '*' | '/';
/** A literal number from the question, or the result of an earlier step. */
export type Operand = { n: number } | { s: number };

export interface ArithStep {
  a: Operand;
  op: ArithOp;
  b: Operand;
  value: number;
  /** The solution sentence; `{}` is where `<<a op b=value>>value` goes. */
  say: string;
  /**
   * Commutative run: consecutive + / − events on one person's count share a group id. Within a group
   * the terms may be applied in any order (x+a−b = x−b+a) as long as no count goes negative.
   */
  g?: number;
}

export interface ArithProblem {
  question: string;
  /** Steps in narrative order (a valid order: operands always come before their users). */
  steps: ArithStep[];
  answer: number;
}

// ---------------------------------------------------------------------------------------------
// Knobs

export interface ArithKnobs {
  /** Problems in the split. Default: train 2000, dev 200, test 500. */
  size: number;
  /** Weights over 1..6 steps (index 0 unused). From `steps: 3 | [lo, hi] | {"1": w, …}`. */
  stepWeights: number[];
  ops: Set<ArithOp>;
  /** Range of the numbers stated in the question (starts, gains, losses, pack sizes). */
  numbers: [number, number];
  /** Range of multipliers and divisors (twice … nine times, half … a ninth, pack counts). */
  factors: [number, number];
  /** No intermediate or final value exceeds this. */
  maxValue: number;
  /** Probability that a problem carries one irrelevant fact. */
  distractors: number;
  /** Which questions: 'now' (one person's count), 'together' (a sum of two), 'more' (a difference of two). */
  asks: Set<ArithAsk>;
  /** Probability that a second person's count starts relative to the first ("3 more than Ann"). */
  relative: number;
  /** Problems whose prompt line + gold solution exceed this many characters are redrawn (0: no cap). */
  maxChars: number;
}

export const ARITH_KNOBS = ['size', 'steps', 'ops', 'numbers', 'factors', 'maxValue', 'distractors', 'asks', 'relative', 'maxChars'] as const;

export type ArithAsk = 'now' | 'together' | 'more';

const DEFAULT_SIZE: Record<Split, number> = { train: 2000, dev: 200, test: 500 };
/**
 * Calibrated in docs/calibration.md (bench/calibrate.ts): with one-digit operands and + − only, the
 * tiny model SFT'd on 2,000 gold problems of these knobs (≤ 4 solution orders each, 300 steps × 32)
 * reaches 24 % greedy Pass@1 and 75 % Pass@16 on 1–4-step test problems; bigger numbers were
 * unlearnable in minutes in the PyTorch prototype (reference/calibration-figures.md).
 */
export const ARITH_DEFAULTS = {
  steps: [1, 4] as [number, number],
  ops: ['+', '-'] as ArithOp[],
  numbers: [1, 9] as [number, number],
  factors: [2, 4] as [number, number],
  maxValue: 99,
  distractors: 0,
  asks: ['now', 'together', 'more'] as ArithAsk[],
  relative: 0.4,
  // 256-char context minus room for BOS/EOS; 1–4-step problems rarely come near it.
  maxChars: 250,
};

const T = 'arith';

function stepWeightsKnob(v: unknown): number[] {
  const w = [0, 0, 0, 0, 0, 0, 0];
  const bad = () =>
    new TaskOptionError(
      `task arith: option "steps" must be an integer 1..6, a range [lo, hi] within 1..6, or weights {"1": w1, …, "6": w6}; found ${JSON.stringify(v)}`,
      T,
      'steps',
    );
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 1 || v > 6) throw bad();
    w[v] = 1;
  } else if (Array.isArray(v)) {
    if (v.length !== 2 || !v.every((x) => Number.isInteger(x)) || v[0] < 1 || v[1] > 6 || v[0] > v[1]) throw bad();
    for (let s = v[0]; s <= v[1]; s++) w[s] = 1;
  } else if (v !== null && typeof v === 'object') {
    for (const [key, x] of Object.entries(v)) {
      const s = Number(key);
      if (!Number.isInteger(s) || s < 1 || s > 6 || typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw bad();
      w[s] = x;
    }
    if (w.every((x) => x === 0)) throw bad();
  } else throw bad();
  return w;
}

/** Validate the knobs for a split; unknown keys and bad values are TaskOptionErrors. */
export function arithKnobs(split: Split, opts: LoadOptions = {}): ArithKnobs {
  checkKnobs(T, opts, ARITH_KNOBS);
  const d = ARITH_DEFAULTS;
  const ops = opts.ops ?? d.ops;
  if (!Array.isArray(ops) || ops.length === 0 || ops.some((o) => !['+', '-', '*', '/'].includes(o))) {
    throw new TaskOptionError(`task arith: option "ops" must be a non-empty list of "+", "-", "*", "/"; found ${JSON.stringify(ops)}`, T, 'ops');
  }
  const asks = opts.asks ?? d.asks;
  if (!Array.isArray(asks) || asks.length === 0 || asks.some((a) => !['now', 'together', 'more'].includes(a))) {
    throw new TaskOptionError(`task arith: option "asks" must be a non-empty list of "now", "together", "more"; found ${JSON.stringify(asks)}`, T, 'asks');
  }
  const k: ArithKnobs = {
    size: opts.size === undefined ? DEFAULT_SIZE[split] : intKnob(T, 'size', opts.size, 0),
    stepWeights: stepWeightsKnob(opts.steps ?? d.steps),
    ops: new Set(ops as ArithOp[]),
    numbers: rangeKnob(T, 'numbers', opts.numbers ?? d.numbers, 1, 1_000_000),
    factors: rangeKnob(T, 'factors', opts.factors ?? d.factors, 2, 9),
    maxValue: intKnob(T, 'maxValue', opts.maxValue ?? d.maxValue, 2),
    distractors: numberKnob(T, 'distractors', opts.distractors ?? d.distractors, 0, 1),
    asks: new Set(asks as ArithAsk[]),
    relative: numberKnob(T, 'relative', opts.relative ?? d.relative, 0, 1),
    maxChars: intKnob(T, 'maxChars', opts.maxChars ?? d.maxChars, 0),
  };
  if (!k.asks.has('now') && !(k.asks.has('together') && k.ops.has('+')) && !(k.asks.has('more') && k.ops.has('-'))) {
    throw new TaskOptionError(
      `task arith: option "asks" ${JSON.stringify(asks)} cannot be asked with ops ${JSON.stringify(ops)} ("together" needs "+", "more" needs "-")`,
      T,
      'asks',
    );
  }
  if (k.numbers[0] >= k.maxValue) {
    throw new TaskOptionError(`task arith: option "numbers" starts at ${k.numbers[0]}, which leaves no room under maxValue ${k.maxValue}`, T, 'numbers');
  }
  return k;
}

// ---------------------------------------------------------------------------------------------
// Generation

const pick = <X>(rng: Rng, xs: readonly X[]): X => xs[rng.int(xs.length)];
const uniform = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1);

function pickWeighted<X>(rng: Rng, xs: readonly X[], w: readonly number[]): X {
  let total = 0;
  for (const x of w) total += x;
  let u = rng.float() * total;
  for (let i = 0; i < xs.length; i++) {
    u -= w[i];
    if (u < 0) return xs[i];
  }
  return xs[xs.length - 1];
}

function fill(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (m, key: string) => (key in vars ? String(vars[key]) : m));
}

interface Person {
  name: string;
  /** Current amount and where it comes from (a literal or a step). */
  value: number;
  ref: Operand;
  events: number;
  /** The open commutative run of + / − events on this count, if any. */
  group: number | null;
}

/** "1 apple", "3 apples". */
const noun = (item: string, n: number): string => (n === 1 ? W.singular(item) : item);

type Ask = 'final' | 'total' | 'diff';

/** What a problem will be: the question, whether B starts relative to A, and who acts, at what cost. */
interface Shape {
  ask: Ask;
  relStart: boolean;
  events: { who: number; cost: 1 | 2 }[];
}

/** The story as it is told: sentences, steps, and the people whose counts the steps track. */
class Story {
  readonly steps: ArithStep[] = [];
  readonly sentences: string[] = [];
  readonly people: Person[] = [];
  private groups = 0;

  addStep(a: Operand, op: ArithOp, b: Operand, value: number, say: string, g?: number): Operand {
    this.steps.push(g === undefined ? { a, op, b, value, say } : { a, op, b, value, say, g });
    return { s: this.steps.length - 1 };
  }

  /** The person's commutative run, opened if needed (for + / − events). */
  runOf(p: Person): number {
    return (p.group ??= this.groups++);
  }
}

/** Draw the shape of an nSteps problem: each step is a relative start, an event or the question. */
function drawShape(rng: Rng, k: ArithKnobs, nSteps: number): Shape {
  const has = (op: ArithOp) => k.ops.has(op);
  const asks: Ask[] = [];
  if (k.asks.has('now')) asks.push('final');
  if (k.asks.has('together') && has('+')) asks.push('total');
  if (k.asks.has('more') && has('-')) asks.push('diff');
  const ask = pick(rng, asks);
  let budget = nSteps - (ask === 'final' ? 0 : 1);
  const relStart = budget >= 1 && k.relative > 0 && rng.float() < k.relative;
  if (relStart) budget--;
  // Who may act: the asked person(s). In a final-ask with a relative start only the second person acts.
  const actors = ask === 'final' ? [relStart ? 1 : 0] : [0, 1];
  const events: Shape['events'] = [];
  while (budget > 0) {
    const pack = budget >= 2 && has('*') && has('+') && rng.float() < 0.3;
    events.push({ who: pick(rng, actors), cost: pack ? 2 : 1 });
    budget -= pack ? 2 : 1;
  }
  // Two branches: give each at least one step when there are steps to spare, so that the branches
  // are independent and the problem has more than one solution order.
  if (ask !== 'final') {
    const side = (w: number) => events.filter((e) => e.who === w).reduce((a, e) => a + e.cost, w === 1 && relStart ? 1 : 0);
    for (const w of [0, 1]) {
      if (side(w) > 0) continue;
      const mv = events.find((e) => e.who !== w && side(e.who) - e.cost >= 1);
      if (mv) mv.who = w;
    }
  }
  return { ask, relStart, events };
}

/** B's first count from A's ("3 more than", "twice as many as", …); false when no relation fits. */
function relativeStart(rng: Rng, k: ArithKnobs, story: Story, a: Person, nameB: string, item: string): boolean {
  const [nLo, nHi] = k.numbers;
  const [fLo, fHi] = k.factors;
  const n0 = a.value;
  const kinds: string[] = [];
  if (k.ops.has('+') && n0 + nLo <= k.maxValue) kinds.push('more');
  if (k.ops.has('-') && n0 - nLo >= 1) kinds.push('fewer');
  if (k.ops.has('*') && n0 * fLo <= k.maxValue) kinds.push('times');
  const divisors = range(fLo, fHi).filter((f) => n0 % f === 0);
  if (k.ops.has('/') && divisors.length > 0) kinds.push('part');
  if (kinds.length === 0) return false;
  const kind = pick(rng, kinds);
  let v: number;
  let ref: Operand;
  const say = fill(W.SAY_HAS, { A: nameB });
  if (kind === 'more' || kind === 'fewer') {
    const hi = kind === 'more' ? Math.min(nHi, k.maxValue - n0) : Math.min(nHi, n0 - 1);
    const d = uniform(rng, nLo, hi);
    v = kind === 'more' ? n0 + d : n0 - d;
    ref = story.addStep({ n: n0 }, kind === 'more' ? '+' : '-', { n: d }, v, say);
    story.sentences.push(fill(pick(rng, kind === 'more' ? W.REL_MORE : W.REL_FEWER), { A: a.name, B: nameB, k: d, item: noun(item, d) }));
  } else if (kind === 'times') {
    const f = uniform(rng, fLo, Math.min(fHi, Math.floor(k.maxValue / n0)));
    v = n0 * f;
    ref = story.addStep({ n: n0 }, '*', { n: f }, v, say);
    story.sentences.push(fill(pick(rng, W.REL_TIMES), { A: a.name, B: nameB, f: W.TIMES_WORD[f], item }));
  } else {
    const f = pick(rng, divisors);
    v = n0 / f;
    ref = story.addStep({ n: n0 }, '/', { n: f }, v, say);
    story.sentences.push(fill(pick(rng, W.REL_PART), { A: a.name, B: nameB, f: W.PART_WORD[f], item }));
  }
  story.people.push({ name: nameB, value: v, ref, events: 0, group: null });
  return true;
}

/** One event on p's count: cost 2 is "buys k packs of n" (a product, then a sum); false when none fits. */
function applyEvent(rng: Rng, k: ArithKnobs, story: Story, p: Person, cost: 1 | 2): boolean {
  const [nLo, nHi] = k.numbers;
  const [fLo, fHi] = k.factors;
  const cur = p.value;
  const say = fill(W.SAY_HAS, { A: p.name });
  if (cost === 2) {
    const room = k.maxValue - cur;
    const fMax = Math.min(fHi, Math.floor(room / nLo));
    if (fMax < fLo) return false;
    const f = uniform(rng, fLo, fMax);
    // "2 bags of 1" is no pack: at least 2 per pack when the knobs leave room.
    const nMax = Math.min(nHi, Math.floor(room / f));
    const n = uniform(rng, nMax >= 2 ? Math.max(nLo, 2) : nLo, nMax);
    const prod = story.addStep({ n: f }, '*', { n }, f * n, fill(W.SAY_PACK, { A: p.name }));
    p.ref = story.addStep(p.ref, '+', prod, cur + f * n, say, story.runOf(p));
    p.value = cur + f * n;
    story.sentences.push(fill(pick(rng, W.PACK), { A: p.name, k: f, n, box: pick(rng, W.CONTAINERS) }));
  } else {
    const divisors = range(fLo, fHi).filter((f) => cur % f === 0);
    const kinds: string[] = [];
    const weights: number[] = [];
    if (k.ops.has('+') && cur + nLo <= k.maxValue) kinds.push('gain'), weights.push(1);
    if (k.ops.has('-') && cur - nLo >= 1) kinds.push('lose'), weights.push(1);
    if (k.ops.has('*') && cur * fLo <= k.maxValue) kinds.push('times'), weights.push(0.5);
    if (k.ops.has('/') && divisors.length > 0) kinds.push('part'), weights.push(0.5);
    if (kinds.length === 0) return false;
    const kind = pickWeighted(rng, kinds, weights);
    if (kind === 'gain' || kind === 'lose') {
      const hi = kind === 'gain' ? Math.min(nHi, k.maxValue - cur) : Math.min(nHi, cur - 1);
      const n = uniform(rng, nLo, hi);
      p.value = kind === 'gain' ? cur + n : cur - n;
      p.ref = story.addStep(p.ref, kind === 'gain' ? '+' : '-', { n }, p.value, say, story.runOf(p));
      story.sentences.push(fill(pick(rng, kind === 'gain' ? W.GAIN : W.LOSE), { A: p.name, n }));
    } else if (kind === 'times') {
      const f = uniform(rng, fLo, Math.min(fHi, Math.floor(k.maxValue / cur)));
      p.value = cur * f;
      p.ref = story.addStep(p.ref, '*', { n: f }, p.value, say);
      p.group = null;
      story.sentences.push(fill(pick(rng, W.TIMES), { A: p.name, f: W.TIMES_WORD[f] }));
    } else {
      const f = pick(rng, divisors);
      p.value = cur / f;
      p.ref = story.addStep(p.ref, '/', { n: f }, p.value, say);
      p.group = null;
      story.sentences.push(fill(pick(rng, W.PART), { A: p.name, f: W.PART_WORD[f] }));
    }
  }
  p.events++;
  return true;
}

/** The question sentence, its step (for together / how many more) and the answer; null if it does not fit. */
function askQuestion(rng: Rng, k: ArithKnobs, story: Story, ask: Ask, item: string): { question: string; answer: number } | null {
  const people = story.people;
  if (ask === 'final') {
    const p = people[people.length - 1];
    return { answer: p.value, question: fill(pick(rng, p.events > 0 ? W.ASK_FINAL : W.ASK_FINAL_NO_EVENTS), { A: p.name, item }) };
  }
  if (ask === 'total') {
    const [p, q] = people;
    const answer = p.value + q.value;
    if (answer > k.maxValue) return null;
    story.addStep(p.ref, '+', q.ref, answer, W.SAY_TOTAL);
    return { answer, question: fill(pick(rng, W.ASK_TOTAL), { A: p.name, B: q.name, item }) };
  }
  let [p, q] = people;
  if (p.value === q.value) return null;
  if (p.value < q.value) [p, q] = [q, p];
  const answer = p.value - q.value;
  story.addStep(p.ref, '-', q.ref, answer, fill(W.SAY_DIFF, { A: p.name }));
  return { answer, question: fill(pick(rng, W.ASK_DIFF), { A: p.name, B: q.name, item }) };
}

/**
 * One problem from the stream, or null when this draw cannot satisfy the knobs (the caller redraws
 * from the same rng, so the stream stays deterministic).
 */
export function generateArith(rng: Rng, k: ArithKnobs): ArithProblem | null {
  const nSteps = pickWeighted(rng, [1, 2, 3, 4, 5, 6], k.stepWeights.slice(1));
  const [nameA, nameB, nameC] = rng.shuffle([...W.NAMES]).slice(0, 3);
  const [item, item2] = rng.shuffle([...W.ITEMS]).slice(0, 2);
  const [nLo, nHi] = k.numbers;
  const shape = drawShape(rng, k, nSteps);
  const story = new Story();

  // Starts: A, then B (given, or relative to A) when two people are in the story.
  const n0 = uniform(rng, nLo, Math.min(nHi, k.maxValue));
  story.people.push({ name: nameA, value: n0, ref: { n: n0 }, events: 0, group: null });
  story.sentences.push(fill(pick(rng, W.START), { A: nameA, n: n0, item: noun(item, n0) }));
  if (shape.relStart) {
    if (!relativeStart(rng, k, story, story.people[0], nameB, item)) return null;
  } else if (shape.ask !== 'final') {
    const n1 = uniform(rng, nLo, Math.min(nHi, k.maxValue));
    story.people.push({ name: nameB, value: n1, ref: { n: n1 }, events: 0, group: null });
    story.sentences.push(fill(pick(rng, W.START), { A: nameB, n: n1, item: noun(item, n1) }));
  }
  for (const ev of shape.events) if (!applyEvent(rng, k, story, story.people[ev.who], ev.cost)) return null;
  const asked = askQuestion(rng, k, story, shape.ask, item);
  if (asked === null) return null;
  if (story.steps.length !== nSteps) throw new Error(`arith generator bug: planned ${nSteps} steps, made ${story.steps.length}`);

  // An irrelevant fact, anywhere after the first sentence.
  const sentences = story.sentences;
  if (k.distractors > 0 && rng.float() < k.distractors) {
    const who = pick(rng, story.people).name;
    const n = uniform(rng, nLo, nHi);
    const t = rng.float() < 0.4 ? pick(rng, W.DISTRACTOR_SAME_ITEM) : pick(rng, W.DISTRACTOR_OTHER);
    const at = 1 + rng.int(sentences.length);
    const m = t.includes('years') ? n + 5 : n;
    sentences.splice(at, 0, fill(t, { A: who, C: nameC, n: m, item: noun(item, m), item2: noun(item2, m) }));
  }
  return { question: [...sentences, asked.question].join(' '), steps: story.steps, answer: asked.answer };
}

function range(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let x = lo; x <= hi; x++) out.push(x);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rendering and solution orders

function operandValue(steps: readonly ArithStep[], o: Operand): number {
  return 'n' in o ? o.n : steps[o.s].value;
}

/** The step's solution sentence with its `<<a op b=c>>c` equation. */
export function renderStep(steps: readonly ArithStep[], i: number): string {
  const s = steps[i];
  const eq = `<<${operandValue(steps, s.a)}${s.op}${operandValue(steps, s.b)}=${s.value}>>${s.value}`;
  return s.say.replace('{}', eq);
}

/** The worked solution for the steps taken in `order` (a permutation of step indices), then `#### answer`. */
export function renderSolution(p: { steps: readonly ArithStep[]; answer: number }, order?: readonly number[]): string {
  const ord = order ?? p.steps.map((_, i) => i);
  return [...ord.map((i) => renderStep(p.steps, i)), `#### ${p.answer}`].join('\n');
}

/** Steps that step i uses directly. */
function deps(s: ArithStep): number[] {
  const out: number[] = [];
  if ('s' in s.a) out.push(s.a.s);
  if ('s' in s.b) out.push(s.b.s);
  return out;
}

/** How many valid step orders the steps have (linear extensions of their tree: n! / Π subtree sizes). */
export function countOrders(steps: readonly ArithStep[]): number {
  const size = steps.map(() => 1);
  for (let i = 0; i < steps.length; i++) for (const d of deps(steps[i])) size[i] += size[d];
  let c = 1;
  for (let i = 2; i <= steps.length; i++) c *= i;
  for (const s of size) c /= s;
  return Math.round(c);
}

/** Every valid step order, lexicographic (the narrative order comes first). */
export function allOrders(steps: readonly ArithStep[], max = Infinity): number[][] {
  const out: number[][] = [];
  const done = new Array<boolean>(steps.length).fill(false);
  const cur: number[] = [];
  const rec = (): void => {
    if (out.length >= max) return;
    if (cur.length === steps.length) {
      out.push([...cur]);
      return;
    }
    for (let i = 0; i < steps.length; i++) {
      if (done[i] || !deps(steps[i]).every((d) => done[d])) continue;
      done[i] = true;
      cur.push(i);
      rec();
      cur.pop();
      done[i] = false;
    }
  };
  rec();
  return out;
}

/** A uniformly chosen ready step at each point (not uniform over orders, but every order is reachable). */
export function randomOrder(steps: readonly ArithStep[], rng: Rng): number[] {
  const done = new Array<boolean>(steps.length).fill(false);
  const out: number[] = [];
  while (out.length < steps.length) {
    const ready = steps.map((_, i) => i).filter((i) => !done[i] && deps(steps[i]).every((d) => done[d]));
    const i = ready[rng.int(ready.length)];
    done[i] = true;
    out.push(i);
  }
  return out;
}

/** Step indices of each commutative run, in chain order. */
function runsOf(steps: readonly ArithStep[]): number[][] {
  const byGroup = new Map<number, number[]>();
  steps.forEach((s, i) => {
    if (s.g !== undefined) byGroup.set(s.g, [...(byGroup.get(s.g) ?? []), i]);
  });
  return [...byGroup.values()];
}

/** The steps with a run's terms applied in `perm` order; null when a count would go negative. */
function permuteRun(steps: readonly ArithStep[], run: readonly number[], perm: readonly number[]): ArithStep[] | null {
  const out = steps.map((s) => ({ ...s }));
  let cur = operandValue(steps, steps[run[0]].a);
  for (let j = 0; j < run.length; j++) {
    const t = steps[run[perm[j]]];
    const b = operandValue(steps, t.b);
    cur = t.op === '+' ? cur + b : cur - b;
    if (cur < 0) return null;
    out[run[j]] = { ...out[run[j]], op: t.op, b: t.b, value: cur };
  }
  if (cur !== steps[run[run.length - 1]].value) throw new Error('arith: a permuted run changed its total');
  return out;
}

/** Permutations of 0..n-1 in lexicographic order (identity first). */
function permutations(n: number): number[][] {
  if (n <= 1) return [[...Array(n).keys()]];
  const out: number[][] = [];
  for (const rest of permutations(n - 1)) {
    for (let i = 0; i < n; i++) out.push(i === 0 ? [n - 1, ...rest] : [...rest.slice(0, i), n - 1, ...rest.slice(i)]);
  }
  return out.map((p) => p.map((x) => n - 1 - x)).sort((x, y) => {
    for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
  });
}

/** Every valid way to order the terms of every commutative run (the narrative one first). */
export function termOrderings(steps: readonly ArithStep[]): ArithStep[][] {
  let out: ArithStep[][] = [steps.map((s) => ({ ...s }))];
  for (const run of runsOf(steps)) {
    const next: ArithStep[][] = [];
    for (const st of out) {
      for (const perm of permutations(run.length)) {
        const v = permuteRun(st, run, perm);
        if (v) next.push(v);
      }
    }
    out = next;
  }
  return out;
}

/** Every distinct correct worked solution (term orders × step orders), the narrative one first. */
function allSolutions(p: { steps: readonly ArithStep[]; answer: number }): string[] {
  const texts = termOrderings(p.steps).flatMap((st) => allOrders(st).map((o) => renderSolution({ steps: st, answer: p.answer }, o)));
  return [...new Set(texts)];
}

/**
 * How many distinct correct worked solutions a problem has (term orders × step orders; equal terms,
 * as in +3 then +3, make some coincide). Counted exactly up to `cap`, then `cap` is returned.
 */
export function countSolutions(steps: readonly ArithStep[], answer: number, cap = 1000): number {
  const orderings = termOrderings(steps);
  if (orderings.reduce((a, st) => a + countOrders(st), 0) > cap) return cap;
  return allSolutions({ steps, answer }).length;
}

/** The problem behind an arith query (from Query.meta.plan). */
export function arithPlan(query: Query): ArithProblem {
  const plan = query.meta?.plan as ArithStep[] | undefined;
  if (!Array.isArray(plan)) throw new Error(`query ${query.id} is not an arith query (meta.plan is missing)`);
  return { question: query.prompt, steps: plan, answer: Number(query.gold.answer) };
}

/**
 * Correct worked solutions of an arith query: the same answer reached by reordering independent steps
 * and commutative + / − events. All of them when there are at most `max` (the gold solution first);
 * otherwise the gold solution and `max − 1` distinct random ones drawn from `seed`.
 */
export function solutionVariants(query: Query, opts: { max?: number; seed?: number } = {}): string[] {
  const p = arithPlan(query);
  const max = opts.max ?? 24;
  const orderings = termOrderings(p.steps);
  if (orderings.reduce((a, st) => a + countOrders(st), 0) <= max) return allSolutions(p);
  const rng = new Rng(deriveSeed(opts.seed ?? 0, 'arith-variants', query.id));
  const out = [renderSolution(p)];
  const seen = new Set(out);
  for (let tries = 0; out.length < max && tries < max * 50; tries++) {
    const st = orderings[rng.int(orderings.length)];
    const text = renderSolution({ steps: st, answer: p.answer }, randomOrder(st, rng));
    if (!seen.has(text)) seen.add(text), out.push(text);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Splits and loading

/** Which split a problem text belongs to: 80 / 10 / 10 by its SHA-256 (fixed, not a knob). */
export function arithSplitOf(question: string): { split: Split; hash: string } {
  const hash = createHash('sha256').update(question).digest('hex');
  const u = parseInt(hash.slice(0, 8), 16) / 2 ** 32;
  return { split: u < 0.8 ? 'train' : u < 0.9 ? 'dev' : 'test', hash };
}

function toQuery(p: ArithProblem, hash: string): Query {
  return {
    id: `arith-${hash.slice(0, 12)}`,
    prompt: p.question,
    gold: { answer: String(p.answer), solution: renderSolution(p) },
    meta: { steps: p.steps.length, solutions: countSolutions(p.steps, p.answer), plan: p.steps },
  };
}

function loadArith(split: Split, opts: LoadOptions = {}): Query[] {
  const k = arithKnobs(split, opts);
  const seed = (opts.seed as number | undefined) ?? 0;
  const out: Query[] = [];
  const seen = new Set<string>();
  const maxDraws = 50 * k.size + 1000;
  for (let i = 0; out.length < k.size; i++) {
    if (i >= maxDraws) {
      throw new TaskOptionError(
        `task arith: only ${out.length} distinct ${split} problems in ${maxDraws} draws (size ${k.size}); the knobs leave too few problems — widen numbers/steps/ops, raise maxChars (0 = no cap) or lower size`,
        T,
        'size',
      );
    }
    const rng = new Rng(deriveSeed(seed, 'arith', i));
    let p: ArithProblem | null = null;
    for (let t = 0; t < 20 && p === null; t++) {
      p = generateArith(rng, k);
      if (p && k.maxChars > 0 && p.question.length + 1 + renderSolution(p).length > k.maxChars) p = null;
    }
    if (p === null) continue;
    const { split: s, hash } = arithSplitOf(p.question);
    if (s !== split || seen.has(hash)) continue;
    seen.add(hash);
    out.push(toQuery(p, hash));
  }
  return applyLimit(out, opts.limit);
}

// ---------------------------------------------------------------------------------------------
// The task

function extractArith(text: string): string | null {
  return hashAnswer(text) ?? lastNumber(text);
}

export const task: Task = {
  name: 'arith',
  load: loadArith,
  formatPrompt: (q) => `${q.prompt}\n`,
  extractAnswer: extractArith,
  verify(text: string, q: Query): Verdict {
    const answer = extractArith(text);
    if (answer === null) return { correct: false, answer: null, reason: 'no-answer' };
    const correct = Number.isInteger(Number(answer)) && Number(answer) === Number(q.gold.answer);
    return { correct, answer, reason: correct ? 'match' : 'mismatch' };
  },
  equations: annotatedEquations,
  goldSolution: (q) => q.gold.solution ?? renderSolution(arithPlan(q)),
  // Reorderings of independent steps and commutative events (seed 0: the same set on every call).
  goldSolutions: (q, max) => solutionVariants(q, { max, seed: 0 }).slice(0, max),
};

// ---------------------------------------------------------------------------------------------
// Self-check

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/** Character lengths of prompt line + gold solution (what a char model must fit in its context). */
export function arithLengths(qs: Query[]): number[] {
  return qs.map((q) => task.formatPrompt(q).length + task.goldSolution(q).length);
}

/** Failures kept per self-check row (the count is rows − verified). */
const MAX_FAILURES = 20;

export function selfCheck(opts: SelfCheckOptions = {}): SelfCheckRow[] {
  const rows: SelfCheckRow[] = [];
  const splits: Split[] = ['train', 'dev', 'test'];
  const ids = new Map<Split, Set<string>>();
  const alphabet = new Set(ARITH_ALPHABET);
  for (const split of splits) {
    const size = opts.limit === undefined ? DEFAULT_SIZE[split] : Math.min(opts.limit, DEFAULT_SIZE[split]);
    let t0 = performance.now();
    const qs = loadArith(split, { size });
    ids.set(split, new Set(qs.map((q) => q.id)));
    // Gold verifies, and its text stays inside the alphabet.
    const failures: SelfCheckRow['failures'] = [];
    let verified = 0;
    for (const q of qs) {
      const text = task.formatPrompt(q) + task.goldSolution(q);
      const strange = [...new Set(text)].filter((c) => !alphabet.has(c));
      const v = task.verify(task.goldSolution(q), q) as Verdict;
      if (v.correct && strange.length === 0) verified++;
      else if (failures.length < MAX_FAILURES) {
        failures.push({ id: q.id, reason: v.correct ? `characters outside ARITH_ALPHABET: ${JSON.stringify(strange.join(''))}` : v.reason });
      }
    }
    const lens = arithLengths(qs);
    rows.push({
      task: T, split, check: 'gold verifies, alphabet', rows: qs.length, verified, failures, ms: performance.now() - t0,
      detail: `chars p50 ${percentile(lens, 0.5)} p95 ${percentile(lens, 0.95)} max ${Math.max(...lens)}`,
    });
    // Every alternative solution verifies, and every equation in it is true arithmetic.
    t0 = performance.now();
    let variants = 0;
    let good = 0;
    let multi = 0;
    const failures2: SelfCheckRow['failures'] = [];
    for (const q of qs) {
      const vs = solutionVariants(q, { max: 8 });
      if (vs.length > 1) multi++;
      const nSteps = (q.meta as { steps: number }).steps;
      for (const v of vs) {
        variants++;
        const eqs = annotatedEquations(v);
        const wrong = eqs.find((e) => {
          const [lhs, rhs] = e.split('=');
          return evalFlat(lhs) !== Number(rhs);
        });
        const verdict = task.verify(v, q) as Verdict;
        if (verdict.correct && eqs.length === nSteps && wrong === undefined) good++;
        else if (failures2.length < MAX_FAILURES) {
          failures2.push({ id: q.id, reason: wrong ? `false equation ${wrong}` : eqs.length !== nSteps ? `${eqs.length} equations for ${nSteps} steps` : verdict.reason });
        }
      }
    }
    rows.push({
      task: T, split, check: 'every solution order verifies', rows: variants, verified: good, failures: failures2,
      ms: performance.now() - t0, detail: `${((multi / qs.length) * 100).toFixed(0)}% of problems have >1 solution`,
    });
  }
  // Disjoint splits.
  const t0 = performance.now();
  const owner = new Map<string, Split>();
  const clashes: SelfCheckRow['failures'] = [];
  let total = 0;
  for (const split of splits) {
    for (const id of ids.get(split)!) {
      total++;
      const other = owner.get(id);
      if (other !== undefined && clashes.length < MAX_FAILURES) clashes.push({ id, reason: `in ${other} and ${split}` });
      owner.set(id, split);
    }
  }
  rows.push({
    task: T, split: 'all', check: 'splits disjoint', rows: total, verified: owner.size, failures: clashes, ms: performance.now() - t0,
  });
  return rows;
}
