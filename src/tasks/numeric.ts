// Numbers in free text and `<<…>>` equations: shared by the arith and GSM8K tasks.
//
// A number in text may carry a sign, thousands commas, a decimal part, a leading `$` and trailing
// units or `%` (stripped). A `-` counts as a sign only where it cannot be a binary minus (not right
// after a digit, letter, `)` or `.`), so `5-3=2` reads as 5, 3, 2 and `it is -10` as -10.

// ---------------------------------------------------------------------------------------------
// Numbers

// One number token: optional sign, optional $, then 1,234,567.89 | 1234.5 | .5
const NUMBER_SRC = String.raw`(?:(?<![\w.)])-)?\$?(?<![\d.])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)`;
const NUMBER_RE = new RegExp(NUMBER_SRC, 'g');

/** Parse one number token as written in text ('$1,200', '-3', '.5', '18.00'); null if it is not one. */
export function parseNumber(token: string): number | null {
  let s = token.trim().replace(/[$\s]/g, '');
  let sign = 1;
  while (s.startsWith('-')) {
    sign = -sign;
    s = s.slice(1);
  }
  if (s.startsWith('+')) s = s.slice(1);
  if (!/^(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+|\d+\.)$/.test(s)) return null;
  const x = Number(s.replace(/,/g, ''));
  return Number.isFinite(x) ? sign * x : null;
}

/** Canonical text of a number: no commas, no trailing zeros, no '-0', integers without a point. */
export function formatNumber(x: number): string {
  if (Object.is(x, -0) || x === 0) return '0';
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return x.toFixed(0);
  // Round away binary noise (0.1+0.2) without inventing digits.
  return String(Number(x.toPrecision(15)));
}

/** Every number in free text, in order, as parsed values. */
export function numbersInText(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(NUMBER_RE)) {
    const x = parseNumber(m[0]);
    if (x !== null) out.push(x);
  }
  return out;
}

/** The last number in free text (commas, `$`, units stripped), canonical; null when there is none. */
export function lastNumber(text: string): string | null {
  const xs = numbersInText(text);
  return xs.length === 0 ? null : formatNumber(xs[xs.length - 1]);
}

/** The first number after the last `####` (on its line), canonical; null when there is no `####` or no number after it. */
export function hashAnswer(text: string): string | null {
  const at = text.lastIndexOf('####');
  if (at < 0) return null;
  const rest = text.slice(at + 4).split('\n', 1)[0];
  const xs = numbersInText(rest);
  return xs.length === 0 ? null : formatNumber(xs[0]);
}

/** Numeric equality with a relative tolerance for binary noise (1e-9); non-numbers are unequal. */
export function numbersEqual(a: string, b: string): boolean {
  const x = parseNumber(a);
  const y = parseNumber(b);
  if (x === null || y === null) return false;
  return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
}

// ---------------------------------------------------------------------------------------------
// Equations
//
// Normal form: spaces, `$` and thousands commas removed; `x`, `×` → `*`, `÷` → `/`; each number in
// canonical form (`.5` → `0.5`, `10.00` → `10`); and for a single binary `a+b=c` or `a*b=c` the two
// operands in ascending numeric order, so `4+3=7` and `3+4=7` are the same equation. Order *between*
// equations is kept: the distinct-equations metric compares sequences, so reordered independent steps
// count as different solutions while a mere operand swap does not.

const BINARY_RE = /^(-?[\d.]+)([-+*/])(-?[\d.]+)=(-?[\d.]+)$/;

/** One equation string (annotation content or text) in normal form. */
export function normaliseEquation(raw: string): string {
  let s = raw.replace(/[\s$]/g, '').replace(/[×xX]/g, '*').replace(/÷/g, '/');
  s = s.replace(/(\d),(?=\d{3}(?!\d))/g, '$1');
  s = s.replace(/(?<![\d.])(\d+\.?\d*|\.\d+)/g, (t) => {
    const x = parseNumber(t);
    return x === null ? t : formatNumber(x);
  });
  const m = BINARY_RE.exec(s);
  if (m && (m[2] === '+' || m[2] === '*')) {
    const [a, b] = [m[1], m[3]];
    const na = Number(a);
    const nb = Number(b);
    if (Number.isFinite(na) && Number.isFinite(nb) && nb < na) s = `${b}${m[2]}${a}=${m[4]}`;
  }
  return s;
}

/** Contents of every `<<…>>` annotation, normalised, in order. */
export function annotatedEquations(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/<<([^<>]*)>>/g)) out.push(normaliseEquation(m[1]));
  return out;
}

// `12 + 3 x 2 = 18`, `$1,200 / 4 = $300`: numbers joined by operators, then `=` and a number.
const TEXT_NUM = String.raw`\$?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)`;
// A number here must stand alone: not glued to a word before it, nor to a letter after it other
// than the multiplication x ("5A/5" is algebra, not arithmetic).
const TEXT_OPERAND = String.raw`(?<![\w.])${TEXT_NUM}(?!\.?[\dA-Za-wyz])`;
// A chain of operands joined by operators, matched once per position (linear time even on
// "1+1+1+…" garbage), then checked for a following "= number".
const TEXT_CHAIN_RE = new RegExp(String.raw`${TEXT_OPERAND}(?:\s*[-+*/x×÷]\s*${TEXT_OPERAND})*`, 'g');
const TEXT_RHS_RE = new RegExp(String.raw`\s*=\s*(-?${TEXT_OPERAND})`, 'y');

/** Arithmetic equations written in plain text (no annotations), normalised, in order. */
export function textEquations(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(TEXT_CHAIN_RE)) {
    if (!/[-+*/x×÷]/.test(m[0])) continue;
    TEXT_RHS_RE.lastIndex = m.index + m[0].length;
    const rhs = TEXT_RHS_RE.exec(text);
    if (rhs) out.push(normaliseEquation(`${m[0]}=${rhs[1]}`));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Exact evaluation of a flat equation (used by self-checks to confirm gold arithmetic)

/** Evaluate `a op b op c …` with * and / before + and -; null if it is not such an expression. */
export function evalFlat(expr: string): number | null {
  // Alternating number, operator, number…; a '-' right at the start or after an operator is a sign.
  const re = /(-?\d+(?:\.\d+)?|-?\.\d+)([-+*/]|$)/y;
  const nums: number[] = [];
  const ops: string[] = [];
  let pos = 0;
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (m === null) return null;
    nums.push(Number(m[1]));
    if (m[2] !== '') ops.push(m[2]);
    pos = re.lastIndex;
    if (m[2] === '') break;
  }
  if (pos !== expr.length || nums.length === 0 || nums.length !== ops.length + 1) return null;
  // collapse * and /
  const n2 = [nums[0]];
  const o2: string[] = [];
  for (let i = 0; i < ops.length; i++) {
    if (ops[i] === '*') n2[n2.length - 1] *= nums[i + 1];
    else if (ops[i] === '/') n2[n2.length - 1] /= nums[i + 1];
    else {
      o2.push(ops[i]);
      n2.push(nums[i + 1]);
    }
  }
  let v = n2[0];
  for (let i = 0; i < o2.length; i++) v = o2[i] === '+' ? v + n2[i + 1] : v - n2[i + 1];
  return v;
}
