// MATH answer equivalence: given answer vs gold answer. Strings are normalised and split into their
// structure by math-answer.ts; scalars are compared (1) as normalised strings, (2) by the PRM800K
// strictness rules (an integer gold needs an integer answer; two plain fractions must be written the
// same, so unreduced fractions fail), then (3) by the CAS: @cortex-js/compute-engine parses the LaTeX
// into MathJSON (in a worker thread, under a time limit: math-cas.ts), and a small bounded evaluator of our own (below) compares both sides numerically, at
// fixed sample points when they have free variables. The engine's own N() is not used: it evaluates
// exactly and can exhaust memory on inputs such as 10^{10^{10}}; our evaluator is float64/complex,
// visits each node once per point, and refuses inputs over MAX_CAS_CHARS / MAX_CAS_NODES.

import { CasTimeoutError, parseLatex } from './math-cas.js';
import { type AnswerNode, matchBrace, parseAnswer } from './math-answer.js';

/** Inputs longer than this (after normalisation) skip the CAS: string equality only. */
export const MAX_CAS_CHARS = 300;
/** MathJSON trees larger than this skip the CAS. */
export const MAX_CAS_NODES = 400;
/** Relative tolerance for numeric equality. */
export const REL_TOL = 1e-6;
/** Expressions with more free variables than this are not compared symbolically. */
export const MAX_VARS = 3;

/** Named grading options. The defaults are PRM800K's strict rules. */
export interface GradeOptions {
  /**
   * An integer gold against an answer that is not an integer literal: 'strict' (default, PRM800K: an
   * integer gold needs an integer answer) or 'cas' (also correct when the answer is an expression the CAS
   * evaluates to exactly that integer: a root \sqrt{16}, a power 2^{4}, scientific notation 1.6e1 or
   * 1.6\times10^{1}, a fraction \frac{32}{2}; as math-verify does).
   */
  integerGold?: 'strict' | 'cas';
}

export const INTEGER_GOLD_MODES = ['strict', 'cas'] as const;

export interface Grade {
  correct: boolean;
  /** 'match' | 'mismatch: …' — a short reason naming the rule that decided. */
  reason: string;
}

// ---------------------------------------------------------------------------------------------
// Complex float arithmetic
// ---------------------------------------------------------------------------------------------

type C = readonly [number, number];
const cx = (re: number, im = 0): C => [re, im];
const add = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const mul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const neg = (a: C): C => [-a[0], -a[1]];
function div(a: C, b: C): C {
  if (b[1] === 0) return [a[0] / b[0], a[1] / b[0]];
  const d = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
}
const abs = (a: C): number => Math.hypot(a[0], a[1]);
const isReal = (a: C): boolean => a[1] === 0 || Math.abs(a[1]) <= 1e-14 * Math.max(1, Math.abs(a[0]));
function clog(a: C): C { return [Math.log(abs(a)), Math.atan2(a[1], a[0])]; }
function cexp(a: C): C { const r = Math.exp(a[0]); return a[1] === 0 ? [r, 0] : [r * Math.cos(a[1]), r * Math.sin(a[1])]; }
function cpow(a: C, b: C): C {
  if (isReal(a) && isReal(b)) {
    const x = a[0], y = b[0];
    if (x >= 0 || Number.isInteger(y)) return [Math.pow(x, y), 0];
  }
  if (a[0] === 0 && a[1] === 0) return b[0] > 0 ? [0, 0] : [NaN, NaN];
  return cexp(mul(b, clog(a)));
}
function csqrt(a: C): C {
  if (isReal(a)) return a[0] >= 0 ? [Math.sqrt(a[0]), 0] : [0, Math.sqrt(-a[0])];
  return cpow(a, [0.5, 0]);
}
/** Real n-th root for real input and odd n (\sqrt[3]{-8} = -2), principal root otherwise. */
function croot(a: C, n: C): C {
  if (isReal(a) && isReal(n) && Number.isInteger(n[0]) && n[0] % 2 !== 0 && a[0] < 0) return [-Math.pow(-a[0], 1 / n[0]), 0];
  return cpow(a, div([1, 0], n));
}
function realFn(f: (x: number) => number): (a: C) => C | null {
  return (a) => (isReal(a) ? [f(a[0]), 0] : null);
}
/** Γ(x) for real x: shifted up to x ≥ 12, Stirling's series there, reflection below 0.5 (~1e-14 relative). */
export function gamma(x: number): number {
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * gamma(1 - x));
  let shift = 1;
  while (x < 12) { shift *= x; x += 1; }
  const inv = 1 / x, inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))));
  const lnGamma = (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series;
  return Math.exp(lnGamma) / shift;
}

/** n! exactly for integers (∞ past 170), Γ(x+1) for other reals (so \\binom{n}{2} works for symbolic n). */
function factorial(a: C): C | null {
  if (!isReal(a)) return null;
  const x = a[0];
  if (Number.isInteger(x)) {
    if (x < 0) return null;
    if (x > 170) return [Infinity, 0];
    let p = 1;
    for (let k = 2; k <= x; k++) p *= k;
    return [p, 0];
  }
  return x > 171 ? [Infinity, 0] : [gamma(x + 1), 0];
}
function binomial(n: C, k: C): C | null {
  if (!isReal(n) || !isReal(k) || !Number.isInteger(n[0]) || !Number.isInteger(k[0]) || k[0] < 0 || n[0] < 0) return null;
  if (k[0] > n[0]) return [0, 0];
  let r = 1;
  const kk = Math.min(k[0], n[0] - k[0]);
  if (kk > 1000) return null;
  for (let i = 1; i <= kk; i++) r = (r * (n[0] - kk + i)) / i;
  return [Math.round(r) === r || r > 2 ** 53 ? r : Math.round(r), 0];
}

const UNARY: Record<string, (a: C) => C | null> = {
  Negate: neg,
  Sqrt: csqrt,
  Square: (a) => mul(a, a),
  Exp: cexp,
  Ln: (a) => clog(a),
  Lb: (a) => div(clog(a), [Math.LN2, 0]),
  Lg: (a) => div(clog(a), [Math.LN10, 0]),
  Abs: (a) => [abs(a), 0],
  Sin: realFn(Math.sin), Cos: realFn(Math.cos), Tan: realFn(Math.tan),
  Cot: realFn((x) => 1 / Math.tan(x)), Sec: realFn((x) => 1 / Math.cos(x)), Csc: realFn((x) => 1 / Math.sin(x)),
  Arcsin: realFn(Math.asin), Arccos: realFn(Math.acos), Arctan: realFn(Math.atan),
  Arccot: realFn((x) => Math.atan(1 / x)), Arcsec: realFn((x) => Math.acos(1 / x)), Arccsc: realFn((x) => Math.asin(1 / x)),
  Sinh: realFn(Math.sinh), Cosh: realFn(Math.cosh), Tanh: realFn(Math.tanh),
  Floor: realFn(Math.floor), Ceil: realFn(Math.ceil), Ceiling: realFn(Math.ceil),
  Degrees: (a) => mul(a, [Math.PI / 180, 0]),
  Factorial: factorial,
  Delimiter: (a) => a,
};

const CONSTANTS: Record<string, C> = {
  Pi: [Math.PI, 0],
  ExponentialE: [Math.E, 0],
  ImaginaryUnit: [0, 1],
  PositiveInfinity: [Infinity, 0],
  NegativeInfinity: [-Infinity, 0],
  Half: [0.5, 0],
};

// ---------------------------------------------------------------------------------------------
// MathJSON evaluation (bounded)
// ---------------------------------------------------------------------------------------------

type Json = unknown;

class NotEvaluable extends Error {}

/** Head and arguments of a MathJSON function node, or null for atoms. */
function fnParts(e: Json): [string, Json[]] | null {
  if (Array.isArray(e) && typeof e[0] === 'string') return [e[0], e.slice(1)];
  if (e && typeof e === 'object' && 'fn' in e && Array.isArray((e as { fn: unknown }).fn)) return fnParts((e as { fn: Json[] }).fn);
  return null;
}

function symbolName(e: Json): string | null {
  if (typeof e === 'string' && !e.startsWith("'")) return e;
  if (e && typeof e === 'object' && 'sym' in e) return String((e as { sym: unknown }).sym);
  return null;
}

function numberValue(e: Json): number | null {
  if (typeof e === 'number') return e;
  if (e && typeof e === 'object' && 'num' in e) {
    const t = String((e as { num: unknown }).num).replace(/\((\d+)\)$/, '$1'); // repeating decimals "0.(3)"
    const v = Number(t.replace(/^\+/, ''));
    if (t === '+Infinity' || t === 'Infinity') return Infinity;
    if (t === '-Infinity') return -Infinity;
    return Number.isNaN(v) ? null : v;
  }
  return null;
}

/** Free variables of a MathJSON tree, and its node count. Throws NotEvaluable on strings/errors. */
function scan(e: Json, vars: Set<string>, count: { n: number }): void {
  if (++count.n > MAX_CAS_NODES) throw new NotEvaluable('too large');
  if (numberValue(e) !== null) return;
  const f = fnParts(e);
  if (f) {
    if (f[0] === 'Error' || f[0] === 'LatexString') throw new NotEvaluable('parse error');
    for (const a of f[1]) scan(a, vars, count);
    return;
  }
  const s = symbolName(e);
  if (s === null) throw new NotEvaluable('string literal');
  if (!(s in CONSTANTS)) vars.add(s);
}

function evaluate(e: Json, env: Map<string, C>): C | null {
  const n = numberValue(e);
  if (n !== null) return [n, 0];
  const s = symbolName(e);
  if (s !== null) return CONSTANTS[s] ?? env.get(s) ?? null;
  const f = fnParts(e);
  if (!f) return null;
  const [head, rawArgs] = f;
  const args: C[] = [];
  for (const a of rawArgs) {
    const v = evaluate(a, env);
    if (v === null) return null;
    args.push(v);
  }
  const un = UNARY[head];
  if (un && args.length === 1) return un(args[0]!);
  switch (head) {
    case 'Add': return args.reduce(add, cx(0));
    case 'Multiply':
    case 'InvisibleOperator': return args.reduce(mul, cx(1));
    case 'Subtract': return args.length === 2 ? add(args[0]!, neg(args[1]!)) : null;
    case 'Divide':
    case 'Rational': return args.length === 2 ? div(args[0]!, args[1]!) : null;
    case 'Power': return args.length === 2 ? cpow(args[0]!, args[1]!) : null;
    case 'Root': return args.length === 2 ? croot(args[0]!, args[1]!) : null;
    case 'Log': return args.length === 1 ? div(clog(args[0]!), [Math.LN10, 0]) : args.length === 2 ? div(clog(args[0]!), clog(args[1]!)) : null;
    case 'Complex': return args.length === 2 ? [args[0]![0], args[1]![0]] : null;
    case 'Binomial':
    case 'Choose': return args.length === 2 ? binomial(args[0]!, args[1]!) : null;
    case 'Delimiter':
    case 'Sequence': return args.length === 1 ? args[0]! : null;
    default: return null;
  }
}

// ---------------------------------------------------------------------------------------------
// CAS comparison
// ---------------------------------------------------------------------------------------------

const parseCache = new Map<string, Json>();

/** LaTeX → canonical MathJSON (cached), parsed in the CAS worker under a time limit (math-cas.ts). */
export function toMathJson(latex: string): Json {
  let j = parseCache.get(latex);
  if (j === undefined) {
    j = parseLatex(latex);
    if (parseCache.size > 20000) parseCache.clear();
    parseCache.set(latex, j);
  }
  return j;
}

/** Fixed sample points for free variables (deterministic; spread over both signs, avoiding 0, ±1). */
const SAMPLES = [0.5377, 1.8339, -2.2588, 0.8622, 0.3188, -1.3077, -0.4336, 0.3426, 3.5784, 2.7694, -1.3499, 3.0349];
const N_POINTS = 5;

export function close(a: C, b: C): boolean {
  if (!Number.isFinite(a[0]) || !Number.isFinite(b[0])) return a[0] === b[0] && a[1] === b[1];
  const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
  return d <= REL_TOL * Math.max(abs(a), abs(b)) || d < 1e-12;
}

function hasInfinity(e: Json): boolean {
  return JSON.stringify(e).includes('Infinity"');
}

/** Evaluate both sides at the sample points. null = inconclusive (no finite point). */
function numericEqual(a: Json, b: Json, vars: string[], ratio: boolean): boolean | null {
  let conclusive = 0;
  let k: C | null = null; // for equations: the constant ratio between the two sides
  const points = vars.length === 0 ? 1 : N_POINTS;
  for (let p = 0; p < points; p++) {
    const env = new Map<string, C>();
    vars.forEach((v, i) => env.set(v, [SAMPLES[(p * 5 + i * 7) % SAMPLES.length]!, 0]));
    const va = evaluate(a, env);
    const vb = evaluate(b, env);
    if (va === null || vb === null) return null;
    const finite = [va, vb].every((v) => Number.isFinite(v[0]) && Number.isFinite(v[1]));
    if (!finite) {
      // Overflow (10^{10^{10}}) is inconclusive; only a literal \infty on both sides compares as infinite.
      if (vars.length === 0 && hasInfinity(a) && hasInfinity(b) && close(va, vb)) return true;
      if (vars.length === 0) return null;
      continue;
    }
    if (ratio) {
      if (abs(vb) < 1e-12) { if (abs(va) < 1e-12) { conclusive++; continue; } return false; }
      const r = div(va, vb);
      if (k === null) k = r;
      else if (!close(k, r)) return false;
    } else if (!close(va, vb)) return false;
    conclusive++;
  }
  return conclusive >= Math.min(points, 3) ? true : null;
}

/** LaTeX commands a scalar may contain to be handed to the CAS parser. */
const CAS_COMMANDS = new Set([
  'frac', 'sqrt', 'pi', 'cdot', 'times', 'div', 'infty', 'sin', 'cos', 'tan', 'cot', 'sec', 'csc', 'arcsin', 'arccos',
  'arctan', 'sinh', 'cosh', 'tanh', 'ln', 'log', 'exp', 'binom', 'theta', 'alpha', 'beta', 'gamma', 'phi', 'lambda',
  'mu', 'omega', 'rho', 'sigma', 'tau', 'lfloor', 'rfloor', 'lceil', 'rceil', 'overline',
]);
/** Deepest bracket nesting handed to the CAS parser. */
export const MAX_CAS_DEPTH = 12;

/**
 * Why `s` is not handed to the CAS parser, or null when it may be. The parser can take seconds (or
 * not return) on malformed input such as unbalanced groups, stray `\\begin` or `&`, so only
 * well-formed scalars of bounded size built from known commands go in; everything else is decided by
 * string equality alone.
 */
export function casRefusal(s: string): string | null {
  if (s.length > MAX_CAS_CHARS) return 'too long for the CAS';
  if (/[a-zA-Z]{3,}/.test(s.replace(/\\[a-zA-Z]+/g, ''))) return 'text answer';
  if (/[$&%#~"'?;:@<>]|\\\\|\\[^a-zA-Z{}|,!]/.test(s)) return 'not a formula';
  for (const m of s.matchAll(/\\([a-zA-Z]+)/g)) if (!CAS_COMMANDS.has(m[1]!)) return `unknown command \\${m[1]}`;
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '(' || c === '[' || c === '{') { stack.push(c); if (stack.length > MAX_CAS_DEPTH) return 'nested too deep'; }
    else if (c === ')' || c === ']' || c === '}') { if (stack.pop() !== pairs[c]) return 'unbalanced brackets'; }
  }
  if (stack.length > 0) return 'unbalanced brackets';
  if (/[+\-*/^_.,=]\s*$|^\s*[*/^_.,=]|[+\-*/^_=]\s*[*/^_=]|\^\s*\^|\{\s*\}|\(\s*\)/.test(s)) return 'malformed operators';
  return null;
}

/**
 * Letters as plain variables for the parser: the engine reads some single letters as its own
 * functions or constants (N = numeric evaluation, D = derivative, G = Catalan's constant) and `a_1` as
 * indexing, so each letter (with its subscript) becomes a neutral symbol `v<letter><sub>`. `e` and `i`
 * keep their meaning (Euler's number, the imaginary unit), as in MATH answers.
 */
export function renameVariables(s: string): string {
  return s.replace(/\\[a-zA-Z]+|([a-zA-Z])(?:_\{?([a-zA-Z0-9]+)\}?)?/g, (m, letter: string | undefined, sub: string | undefined) => {
    if (letter === undefined) return m;
    if ((letter === 'e' || letter === 'i') && sub === undefined) return m;
    return `\\operatorname{v${letter}${sub ?? ''}}`;
  });
}

/** `\\binom{a}{b}` → `\\frac{(a)!}{(b)!((a)-(b))!}` (this engine version has no \\binom). */
export function expandBinomials(s: string): string {
  for (let guard = 0; guard < 16; guard++) {
    const at = s.search(/\\binom\s*\{/);
    if (at < 0) return s;
    const o1 = s.indexOf('{', at);
    const e1 = matchBrace(s, o1);
    if (e1 < 0 || s[e1] !== '{') return s;
    const e2 = matchBrace(s, e1);
    if (e2 < 0) return s;
    const a = s.slice(o1 + 1, e1 - 1), b = s.slice(e1 + 1, e2 - 1);
    s = `${s.slice(0, at)}\\frac{(${a})!}{(${b})!((${a})-(${b}))!}${s.slice(e2)}`;
  }
  return s;
}

/** Equality decided by the CAS: 'equal' | 'different' | a reason it could not decide. */
export function casCompare(gold: string, given: string): 'equal' | 'different' | string {
  const refused = casRefusal(gold) ?? casRefusal(given);
  if (refused !== null) return refused;
  let ja: Json, jb: Json;
  try { ja = toMathJson(renameVariables(expandBinomials(gold))); jb = toMathJson(renameVariables(expandBinomials(given))); } catch (err) {
    return err instanceof CasTimeoutError ? `timeout (${err.message})` : `CAS parse failed: ${(err as Error).message}`;
  }
  const vars = new Set<string>();
  try { scan(ja, vars, { n: 0 }); scan(jb, vars, { n: 0 }); } catch (err) { return `not evaluable (${(err as Error).message})`; }
  if (vars.size > MAX_VARS) return `more than ${MAX_VARS} free variables`;
  const fa = fnParts(ja), fb = fnParts(jb);
  const eqA = fa?.[0] === 'Equal', eqB = fb?.[0] === 'Equal';
  let res: boolean | null;
  if (eqA || eqB) {
    if (!(eqA && eqB) || fa![1].length !== 2 || fb![1].length !== 2) return 'different';
    const diffA = ['Subtract', fa![1][0], fa![1][1]];
    const diffB = ['Subtract', fb![1][0], fb![1][1]];
    res = numericEqual(diffA, diffB, [...vars], true);
  } else {
    res = numericEqual(ja, jb, [...vars], false);
  }
  return res === null ? 'not evaluable (no finite value)' : res ? 'equal' : 'different';
}

// ---------------------------------------------------------------------------------------------
// Scalar and structural comparison
// ---------------------------------------------------------------------------------------------

const INT_RE = /^[+-]?\d+(?:\.0*)?$/;
const FRAC_RE = /^(-?)(?:\\frac\{(-?\d+)\}\{(-?\d+)\}|(-?\d+)\/(-?\d+))$/;

function intValue(s: string): bigint {
  return BigInt(s.replace(/^\+/, '').replace(/\.0*$/, ''));
}

/** A plain integer fraction as (numerator, denominator) with the sign moved to the numerator. */
function fracParts(s: string): [bigint, bigint] | null {
  const m = FRAC_RE.exec(s);
  if (!m) return null;
  let num = BigInt(m[2] ?? m[4]!);
  let den = BigInt(m[3] ?? m[5]!);
  if (m[1] === '-') num = -num;
  if (den < 0n) { num = -num; den = -den; }
  return [num, den];
}

const BASE_RE = /^\d+_\d+$/;

const SCI_RE = /^([+-]?)(\d+)(?:\.(\d*))?[eE]([+-]?\d+)$/;
/** Largest integer gold the float evaluator can confirm exactly. */
const MAX_EXACT = 2 ** 53;

/**
 * Whether `given` (not an integer literal) is an expression whose value is exactly the integer `gold`:
 * scientific notation is decided exactly; anything else by the bounded evaluator, with no free variable,
 * a real value, and a difference within float rounding (1e-9 relative).
 */
export function integerByCas(gold: string, given: string): boolean {
  const g = intValue(gold);
  const sci = SCI_RE.exec(given);
  if (sci) {
    const digits = BigInt(sci[2]! + (sci[3] ?? ''));
    const exp = Number(sci[4]) - (sci[3] ?? '').length;
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 400) return false;
    const sign = sci[1] === '-' ? -1n : 1n;
    if (exp >= 0) return sign * digits * 10n ** BigInt(exp) === g;
    const d = 10n ** BigInt(-exp);
    return digits % d === 0n && sign * (digits / d) === g;
  }
  if (g > BigInt(MAX_EXACT) || g < -BigInt(MAX_EXACT) || casRefusal(given) !== null) return false;
  let j: Json;
  const vars = new Set<string>();
  try {
    j = toMathJson(renameVariables(expandBinomials(given)));
    scan(j, vars, { n: 0 });
  } catch {
    return false; // a parse failure, a timeout, a string or too large: not shown equal
  }
  if (vars.size > 0) return false;
  const v = evaluate(j, new Map());
  if (v === null || !isReal(v) || !Number.isFinite(v[0])) return false;
  const want = Number(g);
  return Math.abs(v[0] - want) <= 1e-9 * Math.max(1, Math.abs(want));
}

/** Compare two normalised scalar strings. */
export function compareScalars(gold: string, given: string, opts: GradeOptions = {}): Grade {
  if (gold === given || gold.toLowerCase() === given.toLowerCase()) return { correct: true, reason: 'match' };
  if (given.length === 0) return { correct: false, reason: 'mismatch: empty answer' };
  if (INT_RE.test(gold)) {
    if (!INT_RE.test(given)) {
      if (opts.integerGold === 'cas' && integerByCas(gold, given)) return { correct: true, reason: 'match (cas: an expression equal to the integer gold)' };
      return { correct: false, reason: 'mismatch: integer gold needs an integer answer' };
    }
    return intValue(gold) === intValue(given) ? { correct: true, reason: 'match' } : { correct: false, reason: 'mismatch' };
  }
  const fg = fracParts(gold), fa = fracParts(given);
  if (fg && fa) {
    return fg[0] === fa[0] && fg[1] === fa[1] ? { correct: true, reason: 'match' } : { correct: false, reason: 'mismatch: fractions differ as written' };
  }
  if (BASE_RE.test(gold) || BASE_RE.test(given)) return { correct: false, reason: 'mismatch: base-n numerals differ' };
  const cas = casCompare(gold, given);
  if (cas === 'equal') return { correct: true, reason: 'match (cas)' };
  if (cas === 'different') return { correct: false, reason: 'mismatch' };
  return { correct: false, reason: `mismatch: ${cas}` };
}

function asList(n: AnswerNode): AnswerNode[] {
  return n.kind === 'list' ? n.items : [n];
}

/** Unordered matching: every gold item pairs with a distinct equal given item. */
function matchUnordered(gold: AnswerNode[], given: AnswerNode[], opts: GradeOptions): Grade {
  if (gold.length !== given.length) return { correct: false, reason: `mismatch: ${given.length} items, expected ${gold.length}` };
  const used = new Array<boolean>(given.length).fill(false);
  for (const g of gold) {
    const j = given.findIndex((x, i) => !used[i] && compareNodes(g, x, opts).correct);
    if (j < 0) return { correct: false, reason: 'mismatch: an item has no equal' };
    used[j] = true;
  }
  return { correct: true, reason: 'match' };
}

function matchOrdered(gold: AnswerNode[], given: AnswerNode[], opts: GradeOptions): Grade {
  if (gold.length !== given.length) return { correct: false, reason: `mismatch: ${given.length} items, expected ${gold.length}` };
  for (let i = 0; i < gold.length; i++) {
    const r = compareNodes(gold[i]!, given[i]!, opts);
    if (!r.correct) return { correct: false, reason: `mismatch at item ${i + 1}` };
  }
  return { correct: true, reason: 'match' };
}

/** Compare two answer structures (gold first). */
export function compareNodes(gold: AnswerNode, given: AnswerNode, opts: GradeOptions = {}): Grade {
  if (gold.kind === 'scalar' && given.kind === 'scalar') return compareScalars(gold.text, given.text, opts);
  if (gold.kind === 'list' || given.kind === 'list') {
    if (gold.kind === 'tuple' || given.kind === 'tuple') return { correct: false, reason: 'mismatch: tuple vs list' };
    return matchUnordered(asList(gold), asList(given), opts);
  }
  if (gold.kind === 'tuple' && given.kind === 'tuple') {
    if (gold.open !== given.open || gold.close !== given.close) return { correct: false, reason: 'mismatch: brackets differ' };
    return matchOrdered(gold.items, given.items, opts);
  }
  if (gold.kind === 'union' && given.kind === 'union') return matchUnordered(gold.items, given.items, opts);
  if (gold.kind === 'matrix' && given.kind === 'matrix') {
    if (gold.rows.length !== given.rows.length) return { correct: false, reason: 'mismatch: matrix shape' };
    return matchOrdered(gold.rows.flat(), given.rows.every((r, i) => r.length === gold.rows[i]!.length) ? given.rows.flat() : [], opts);
  }
  // A column vector answered as a parenthesised tuple (or the reverse).
  const col = (m: AnswerNode) => (m.kind === 'matrix' && m.rows.every((r) => r.length === 1) ? m.rows.map((r) => r[0]!) : null);
  if (gold.kind === 'matrix' && given.kind === 'tuple' && given.open === '(' && given.close === ')' && col(gold)) return matchOrdered(col(gold)!, given.items, opts);
  if (given.kind === 'matrix' && gold.kind === 'tuple' && gold.open === '(' && gold.close === ')' && col(given)) return matchOrdered(gold.items, col(given)!, opts);
  return { correct: false, reason: `mismatch: ${given.kind} vs ${gold.kind}` };
}

/**
 * Is `given` equivalent to `gold`? Both are raw answer strings (LaTeX as written). A null or empty
 * given answer is incorrect.
 */
export function gradeAnswer(given: string | null, gold: string, opts: GradeOptions = {}): Grade {
  if (given === null || given.trim() === '') return { correct: false, reason: 'no-answer' };
  return compareNodes(parseAnswer(gold), parseAnswer(given), opts);
}
