// Automatic rewrites of a MATH answer into other spellings of the same value, for the self-check
// "every MATH500 answer verifies against itself in ≥ 3 rewritten forms". Each rewrite is a pure
// string function that returns null where it does not apply or changes nothing.

import { braceShortArgs, matchBrace } from './math-answer.js';

export interface Rewrite {
  name: string;
  apply(answer: string): string | null;
}

const changed = (a: string, b: string): string | null => (a === b ? null : b);

/** Replace every `\frac{A}{B}` (short forms braced first) via `f(A, B)`. */
function mapFracs(s: string, f: (a: string, b: string, after: string) => string): string {
  s = braceShortArgs(s.replace(/\\[dt]frac(?![a-zA-Z])/g, '\\frac'));
  let out = '';
  let i = 0;
  for (;;) {
    const at = s.indexOf('\\frac{', i);
    if (at < 0) break;
    const e1 = matchBrace(s, at + 5);
    if (e1 < 0 || s[e1] !== '{') break;
    const e2 = matchBrace(s, e1);
    if (e2 < 0) break;
    out += s.slice(i, at) + f(mapFracs(s.slice(at + 6, e1 - 1), f), mapFracs(s.slice(e1 + 1, e2 - 1), f), s.slice(e2));
    i = e2;
  }
  return out + s.slice(i);
}

const simple = (x: string) => /^-?\d+$|^[a-zA-Z]$/.test(x.trim());

/** Exact decimal of n/d when d has only the prime factors 2 and 5; null otherwise. */
export function exactDecimal(n: bigint, d: bigint): string | null {
  if (d <= 0n) return null;
  let k = 0;
  let dd = d;
  let scale = 1n;
  while (dd % 2n === 0n) { dd /= 2n; k++; }
  let k5 = 0;
  while (dd % 5n === 0n) { dd /= 5n; k5++; }
  if (dd !== 1n) {
    // n/d may still terminate if the odd part divides n.
    if (n % dd !== 0n) return null;
    n /= dd;
    d /= dd;
  }
  const digits = Math.max(k, k5);
  for (let i = 0; i < digits; i++) scale *= 10n;
  const scaled = (n * scale) / d;
  const neg = scaled < 0n;
  const abs = (neg ? -scaled : scaled).toString().padStart(digits + 1, '0');
  const int = abs.slice(0, abs.length - digits);
  const frac = abs.slice(abs.length - digits).replace(/0+$/, '');
  return (neg ? '-' : '') + int + (frac ? '.' + frac : '');
}

function withThousands(n: string): string {
  return n.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A function command whose argument starts with a fraction, no parentheses: the argument runs to the next +, -, = or comma. */
const FUNCTION_FRAC_ARG = /(\\(?:sin|cos|tan|sec|csc|cot|arcsin|arccos|arctan|sinh|cosh|tanh|log|ln|exp)(?![a-zA-Z])\s*)(\\[dt]?frac(?![a-zA-Z])[^+\-=,]*?)(\s*)(?=[+\-=,]|$)/g;
/** Answers compared by spelling, not value: two values joined by \approx, or a named geometric figure. */
const SPELLING_ONLY = /\\(?:approx|triangle|angle|overline|overarc|widehat|odot)(?![a-zA-Z])/;

export const REWRITES: Rewrite[] = [
  {
    name: 'spaced-left-right',
    apply: (s) => changed(s, s
      .replace(/\\left|\\right/g, '')
      .replace(/\\\{/g, '\\left\\{ ').replace(/\\\}/g, ' \\right\\}')
      .replace(/(?<!\\sqrt\s*)\(/g, '\\left( ').replace(/\)/g, ' \\right)')
      .replace(/\s*([+=]|(?<!\{),(?!\\!|\d{3}(?!\d)))\s*/g, (_m, c: string) => (c === ',' ? ', ' : ` ${c} `))
      .replace(/\s+/g, ' ').trim()),
  },
  {
    name: 'frac-slash',
    // `a/b` is parenthesised when a factor follows (`\frac{35}{2}\pi` → `(35/2)\pi`, not the ambiguous `35/2\pi`),
    // and a function's unparenthesised argument is parenthesised whole (`\sec \frac{1}{2}\theta` →
    // `\sec ((1/2)\theta)`, not `\sec (1/2)\theta`, which reads as sec(1/2)·θ). Not applied to answers the
    // grader compares by spelling rather than value (an `\approx` pair, a named figure such as `\triangle ABC`).
    apply: (s) => (/\\[dt]?frac/.test(s) && !SPELLING_ONLY.test(s) ? changed(s, mapFracs(s.replace(/(\d)\s*(?=\\[dt]?frac)/g, '$1 ').replace(FUNCTION_FRAC_ARG, '$1($2)$3'), (a, b, after) => {
      const q = `${simple(a) ? a : `(${a})`}/${simple(b) ? b : `(${b})`}`;
      return /^\s*(?!\\(?:text|mbox))[\w\\({]/.test(after) ? `(${q})` : q;
    })) : null),
  },
  {
    name: 'dfrac',
    apply: (s) => (/\\frac(?![a-zA-Z])/.test(s) ? changed(s, s.replace(/\\frac(?![a-zA-Z])/g, '\\dfrac')) : null),
  },
  {
    name: 'decimal-or-thousands',
    apply: (s) => {
      const t = s.trim();
      let m = /^(-?)\\[dt]?frac\{?(\d+)\}?\{?(\d+)\}?$/.exec(t) ?? /^(-?)(\d+)\/(\d+)$/.exec(t);
      if (m) {
        const dec = exactDecimal(BigInt(m[1] + m[2]!), BigInt(m[3]!));
        return dec === null ? null : changed(t, dec);
      }
      m = /^(-?)(\d+)$/.exec(t);
      if (m) return m[2]!.length >= 4 ? withThousands(t) : `${t}.0`;
      return null;
    },
  },
  { name: 'dollars-period', apply: (s) => `$${s}$.` },
  { name: 'boxed', apply: (s) => `\\boxed{${s}}` },
  {
    name: 'variable-prefix',
    apply: (s) => (/=|[a-zA-Z]{3,}/.test(s.replace(/\\[a-zA-Z]+/g, '')) || /\\text|\\mbox|\\in(?![a-zA-Z])/.test(s) ? null : `x = ${s}`),
  },
  {
    name: 'units',
    apply: (s) => (/^-?\d+(\.\d+)?$|^-?\\[dt]?frac\{\d+\}\{\d+\}$/.test(s.trim()) ? `${s}\\text{ units}` : null),
  },
  {
    name: 'text-wrap',
    apply: (s) => (/^[\w\s().-]+$/.test(s) ? `\\text{${s}}` : null),
  },
  {
    name: 'slash-to-frac',
    apply: (s) => changed(s, s.replace(/(?<![\d.])(\d+)\/(\d+)(?![\d.])/g, '\\frac{$1}{$2}')),
  },
  {
    name: 'bmatrix',
    apply: (s) => (/\\begin\{pmatrix\}/.test(s) ? s.replace(/\{pmatrix\}/g, '{bmatrix}') : null),
  },
  {
    name: 'vector-as-tuple',
    apply: (s) => {
      const m = /^\\begin\{pmatrix\}([\s\S]*)\\end\{pmatrix\}$/.exec(s.trim());
      if (!m || m[1]!.includes('&')) return null;
      return `(${m[1]!.split('\\\\').map((x) => x.trim()).filter((x) => x).join(', ')})`;
    },
  },
  {
    name: 'text-unwrapped-recased',
    apply: (s) => {
      const m = /^\\text\{([a-zA-Z ]+)\}$/.exec(s.trim());
      if (!m) return null;
      const w = m[1]!;
      return w[0] === w[0]!.toUpperCase() ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1);
    },
  },
  {
    name: 'equation-sides-swapped',
    apply: (s) => {
      const parts = s.split('=');
      return parts.length === 2 ? `${parts[1]!.trim()} = ${parts[0]!.trim()}` : null;
    },
  },
  {
    name: 'units-dropped',
    apply: (s) => {
      const m = /^(.*?)(?:\s|\\ )*\\(?:text|mbox)\{\s*[a-zA-Z ]+\}(?:\^\d)?$/.exec(s.trim());
      return m && m[1]!.length > 0 ? m[1]! : null;
    },
  },
];

/** Every applicable rewrite of `answer` as [name, text] pairs, distinct from the answer and each other. */
export function rewriteAnswer(answer: string): Array<[string, string]> {
  const seen = new Set<string>([answer]);
  const out: Array<[string, string]> = [];
  for (const r of REWRITES) {
    const t = r.apply(answer);
    if (t === null || seen.has(t)) continue;
    seen.add(t);
    out.push([r.name, t]);
  }
  return out;
}
