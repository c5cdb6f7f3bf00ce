// MATH answers as strings: extraction from a completion (last \boxed{…}/\fbox{…}, or the paper's
// "\n\n# Answer\n\n" section), the string normaliser, and the split of an answer into its structure
// (scalar, tuple/interval, unordered list/set, union of intervals, matrix). Pure string code; the
// CAS comparison of scalars lives in math-grader.ts. The rules follow (and extend) the PRM800K grader
// (openai/prm800k, prm800k/grading/{grader,math_normalize}.py); docs/math-grading.md lists them.

// ---------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------

/** The separator before the final answer in the paper's solution format. */
export const ANSWER_SEP = '\n\n# Answer\n\n';

/** Index just past the `}` matching the `{` at `open`, or -1 when unbalanced. */
export function matchBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') { i++; continue; } // \{ and \} are literal braces, not groups
    if (c === '{') depth++;
    else if (c === '}') { depth--; if (depth === 0) return i + 1; }
  }
  return -1;
}

/**
 * Content of the last `\boxed{…}` or `\fbox{…}` (nested braces kept), or of `\boxed 5` (a bare
 * argument up to whitespace or `$`). null when there is none or its braces are unbalanced.
 */
export function lastBoxed(text: string): string | null {
  const re = /\\(?:boxed|fbox)(?![a-zA-Z])/g;
  let last = -1;
  let lastEnd = -1;
  for (let m = re.exec(text); m; m = re.exec(text)) { last = m.index; lastEnd = m.index + m[0].length; }
  if (last < 0) return null;
  let i = lastEnd;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  if (text[i] === '{') {
    const end = matchBrace(text, i);
    if (end < 0) return null;
    return text.slice(i + 1, end - 1).trim();
  }
  if (i === lastEnd) return null; // `\boxed` glued to something that is not a group
  const m = /^[^\s$]+/.exec(text.slice(i));
  return m ? m[0] : null;
}

/** Text after the last "\n\n# Answer\n\n" up to the next blank line, trimmed; null when absent/empty. */
export function answerSection(text: string): string | null {
  const at = text.lastIndexOf(ANSWER_SEP);
  if (at < 0) return null;
  let rest = text.slice(at + ANSWER_SEP.length);
  const blank = rest.indexOf('\n\n');
  if (blank >= 0) rest = rest.slice(0, blank);
  rest = rest.trim();
  return rest.length > 0 ? rest : null;
}

/**
 * The answer after the last "The final answer is" / "Final answer:" (the Minerva / Llama-3 style:
 * "Final Answer: The final answer is $\frac{1}{2}$. I hope it is correct."), to the end of its line,
 * without the closing "I hope it is correct", a final period, enclosing `$…$` or `\boxed{}`; null when absent.
 */
export function finalAnswerPhrase(text: string): string | null {
  const re = /(?:the\s+final\s+answer\s+is|final\s+answer\s*:)\s*:?/gi;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(text); m; m = re.exec(text)) last = m;
  if (last === null) return null;
  let rest = text.slice(last.index + last[0].length).split('\n', 1)[0];
  if (/^\s*the\s+final\s+answer\s+is/i.test(rest)) return finalAnswerPhrase(rest);
  rest = rest.replace(/\.?\s*I hope it is correct\.?\s*$/i, '').trim().replace(/\.$/, '').trim();
  const dollars = /^\$+([\s\S]*?)\$+$/.exec(rest);
  if (dollars) rest = dollars[1].trim();
  const boxed = lastBoxed(rest);
  if (boxed !== null && /^\\(?:boxed|fbox)/.test(rest)) rest = boxed;
  rest = rest.replace(/\.$/, '').trim();
  return rest.length > 0 ? rest : null;
}

/** `s` with every `\boxed{X}`/`\fbox{X}` replaced by X (for gold solutions in the `# Answer` format). */
export function unwrapBoxes(s: string): string {
  const re = /\\(?:boxed|fbox)\s*\{/g;
  let out = '';
  let from = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const open = m.index + m[0].length - 1;
    const end = matchBrace(s, open);
    if (end < 0) break;
    out += s.slice(from, m.index) + unwrapBoxes(s.slice(open + 1, end - 1));
    from = end;
    re.lastIndex = end;
  }
  return out + s.slice(from);
}

// ---------------------------------------------------------------------------------------------
// String normalisation
// ---------------------------------------------------------------------------------------------

/** Units and counting words dropped from the end of an answer that has a mathematical part. */
const UNIT_WORDS = [
  'degrees?', 'radians?', 'cm', 'centimeters?', 'mm', 'millimeters?', 'km', 'kilometers?', 'meters?',
  'miles?', 'inch(?:es)?', 'in', 'feet', 'foot', 'ft', 'yards?', 'yd', 'seconds?', 'sec', 'minutes?', 'min',
  'hours?', 'hrs?', 'days?', 'weeks?', 'months?', 'years?', 'cents?', 'dollars?', 'units?', 'mph',
  'pounds?', 'lbs?', 'ounces?', 'oz', 'gallons?', 'liters?', 'litres?', 'ml', 'grams?', 'kg',
  'kilograms?', 'percent', 'points?', 'people', 'persons?', 'students?', 'ways', 'times', 'sq', 'square',
  'cubic', 'cu', 'USD', 'dollars?', 'calories', 'coins?', 'marbles?', 'pages?', 'books?', 'boxes', 'steps?', 'tiles?',
  'edges?', 'faces?', 'vertices', 'diagonals?', 'handshakes?', 'games?', 'teams?', 'rows?', 'seats?',
];
const UNIT_TAIL = new RegExp(
  `(?:\\s|^|(?<=[\\d}).]))(?:${UNIT_WORDS.join('|')})\\.?(?:\\s*\\^\\s*\\{?[23]\\}?)?\\s*$`,
);

/** Replace `\cmd{X}` by X for the text-like commands (innermost groups first, braces matched). */
function unwrapCommand(s: string, cmds: string[]): string {
  const re = new RegExp(`\\\\(?:${cmds.join('|')})\\s*\\{`, 'g');
  for (let guard = 0; guard < 64; guard++) {
    re.lastIndex = 0;
    const m = re.exec(s);
    if (!m) return s;
    const open = m.index + m[0].length - 1;
    const end = matchBrace(s, open);
    if (end < 0) return s;
    s = s.slice(0, m.index) + s.slice(open + 1, end - 1) + s.slice(end);
  }
  return s;
}

const TEXT_CMDS = ['text', 'textbf', 'textit', 'textrm', 'textnormal', 'mbox', 'mathrm', 'mathbf', 'mathit', 'mathsf', 'boldsymbol', 'bf'];

/**
 * Drop units written Hendrycks-style as a trailing `\text{ unit}` (a text group opening with a space)
 * after a non-empty mathematical part, e.g. `15\mbox{ cm}^2`, `5.4 \text{ cents}`.
 */
function dropTextUnits(s: string): string {
  const m = /\\(?:text|mbox|textrm|mathrm)\{\s+(?!(?:or|and)\s*\})[a-zA-Z]/.exec(s);
  if (!m || m.index === 0) return s;
  const head = s.slice(0, m.index).trim();
  return /[\d}]$/.test(head) ? head : s;
}

/** `\frac12`, `\frac 34`, `\frac9{19}` → `\frac{1}{2}`…; `\sqrt2` → `\sqrt{2}` (one-token arguments braced). */
export function braceShortArgs(s: string): string {
  const arg = (t: string, i: number): [string, number] | null => {
    while (t[i] === ' ') i++;
    if (i >= t.length) return null;
    if (t[i] === '{') {
      const end = matchBrace(t, i);
      return end < 0 ? null : [t.slice(i, end), end];
    }
    if (t[i] === '\\') {
      const m = /^\\[a-zA-Z]+/.exec(t.slice(i));
      return m ? [`{${m[0]}}`, i + m[0].length] : null;
    }
    return [`{${t[i]}}`, i + 1];
  };
  let out = '';
  let i = 0;
  while (i < s.length) {
    const m = /^\\(frac|sqrt)(?![a-zA-Z])/.exec(s.slice(i));
    if (!m) { out += s[i++]; continue; }
    const name = m[1]!;
    let j = i + m[0].length;
    let root = '';
    if (name === 'sqrt') {
      let k = j;
      while (s[k] === ' ') k++;
      if (s[k] === '[') {
        const close = s.indexOf(']', k);
        if (close < 0) { out += s.slice(i); break; }
        root = s.slice(k, close + 1);
        j = close + 1;
      }
    }
    const nArgs = name === 'frac' ? 2 : 1;
    let args = '';
    let ok = true;
    for (let a = 0; a < nArgs; a++) {
      const got = arg(s, j);
      if (!got) { ok = false; break; }
      args += braceShortArgs(got[0]);
      j = got[1];
    }
    if (!ok) { out += s.slice(i); break; }
    out += `\\${name}${root}${args}`;
    i = j;
  }
  return out;
}

/** Commands that may be glued to a following letter in sloppy LaTeX (`\cotx`, `\pix`). */
const KNOWN_COMMANDS = [
  'arcsin', 'arccos', 'arctan', 'sinh', 'cosh', 'tanh', 'sin', 'cos', 'tan', 'cot', 'sec', 'csc', 'ln', 'log', 'exp',
  'pi', 'theta', 'alpha', 'beta', 'gamma', 'phi', 'infty', 'cdot', 'times', 'sqrt', 'frac', 'pm', 'mp',
];
const KNOWN_SET = new Set(KNOWN_COMMANDS);
const TEXT_LIKE = new Set(['text', 'textbf', 'textit', 'textrm', 'mbox', 'mathrm', 'mathbf', 'operatorname', 'left', 'right', 'begin', 'end', 'infty', 'dfrac', 'tfrac', 'cdots', 'ldots', 'dots', 'pmod', 'bmod', 'pmatrix', 'bmatrix', 'phantom']);

/** `\cotx` → `\cot x`: an unknown command word that starts with a known one is split after it. */
function splitGluedCommands(s: string): string {
  return s.replace(/\\([a-zA-Z]+)/g, (m, word: string) => {
    if (KNOWN_SET.has(word) || TEXT_LIKE.has(word) || word.length < 3) return m;
    const head = KNOWN_COMMANDS.filter((k) => word.startsWith(k)).sort((a, b) => b.length - a.length)[0];
    return head === undefined ? m : `\\${head} ${word.slice(head.length)}`;
  });
}

/** Plain-text and Unicode math as a model may write it: sqrt(2), √3, pi, π, inf, ∞ → LaTeX. */
export function plainToLatex(s: string): string {
  s = s.replace(/√/g, 'sqrt').replace(/π/g, '\\pi ').replace(/∞/g, '\\infty ').replace(/·|×/g, '\\cdot ').replace(/−/g, '-');
  for (let guard = 0; guard < 16; guard++) {
    const m = /(?<![\\a-zA-Z])sqrt\s*\(/.exec(s);
    if (!m) break;
    const open = m.index + m[0].length - 1;
    let depth = 0;
    let close = -1;
    for (let i = open; i < s.length; i++) {
      if (s[i] === '(') depth++;
      else if (s[i] === ')' && --depth === 0) { close = i; break; }
    }
    if (close < 0) break;
    s = `${s.slice(0, m.index)}\\sqrt{${s.slice(open + 1, close)}}${s.slice(close + 1)}`;
  }
  s = s.replace(/(?<![\\a-zA-Z])sqrt(?=\s*[\d{])/g, '\\sqrt');
  s = s.replace(/(?<![\\a-zA-Z])pi(?![a-zA-Z])/g, '\\pi ');
  s = s.replace(/(?<![\\a-zA-Z])(?:infinity|inf)(?![a-zA-Z])/g, '\\infty ');
  return splitGluedCommands(s);
}

/**
 * Remove thousands separators. Explicit LaTeX separators (`,\!`, `{,}`, `\,`) between digit groups
 * always go; a plain comma only when the whole answer is one number grouped in threes (`58,500`,
 * `-1,234.5`). PRM800K strips every `d,ddd` and so reads the interval `(12,102)` as 12102; we don't.
 */
export function stripThousands(s: string): string {
  s = s.replace(/(\d)(?:,\\!|\{,\}|\\,)\s*(?=\d{3}(?!\d))/g, '$1');
  return /^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(s.trim()) ? s.replace(/,/g, '') : s;
}

/** The decimal numeral `n` times 10^exp, written exactly ("2.5", 6 → "2500000"). */
export function shiftDecimal(n: string, exp: number): string {
  const [int, frac = ''] = n.split('.') as [string, string?];
  const digits = int + frac;
  const point = int.length + exp;
  const whole = point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return whole.replace(/^0+(?=\d)/, '');
}

/**
 * The string-level normalisation of an answer (before its structure is split): LaTeX spacing,
 * \left/\right, \dfrac/\tfrac, degrees, percent, dollars, \text{} and units, thousands separators,
 * trailing period, surrounding `$`, a wrapping \boxed{}. Whitespace is kept (it separates words).
 */
export function normalizeAnswerString(raw: string): string {
  let s = raw.trim();
  const boxed = /\\(?:boxed|fbox)(?![a-zA-Z])/.test(s) ? lastBoxed(s) : null;
  if (boxed !== null) s = boxed;
  s = s.replace(/\n/g, ' ');
  s = s.replace(/^(?:the\s+)?(?:final\s+)?answer\s*(?:is\b|:)\s*:?\s*/i, '');
  s = s.replace(/^\$+|\$+$/g, '').replace(/^\\\(|\\\)$/g, '').replace(/^\\\[|\\\]$/g, '').trim();
  s = s.replace(/\\(?:displaystyle|textstyle)(?![a-zA-Z])/g, '');
  s = s.replace(/\\[dt]frac(?![a-zA-Z])/g, '\\frac').replace(/\\over(?![a-zA-Z])/g, '/').replace(/\\[dt]binom(?![a-zA-Z])/g, '\\binom');
  s = s.replace(/\\varnothing(?![a-zA-Z])|∅|^\\\{\s*\\\}$|^\\text\{\s*empty set\s*\}$/g, '\\emptyset');
  s = s.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)\s*\.?(?![a-zA-Z])/g, '');
  s = stripThousands(s);
  s = s.replace(/(?<!\\)\\[!,;: ]|\\q?quad(?![a-zA-Z])|~/g, ' ');
  s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|\\circ(?![a-zA-Z])|°|\\degree(?![a-zA-Z])/g, '');
  s = s.replace(/\\%|%/g, '').replace(/\\\$|\$/g, '');
  s = dropTextUnits(s);
  s = unwrapCommand(s, TEXT_CMDS);
  s = s.replace(/\\operatorname\s*\{([a-zA-Z]+)\}/g, '\\$1');
  s = s.replace(/\s+/g, ' ').trim();
  // Scale words and units (only when a mathematical part remains).
  s = s.replace(/(\d+(?:\.\d+)?)?\s*\b(million|billion|trillion)\b/g, (_m, n: string | undefined, w: string) => {
    const exp = w === 'million' ? 6 : w === 'billion' ? 9 : 12;
    return n === undefined ? `\\times10^{${exp}}` : shiftDecimal(n, exp);
  });
  // One-letter units only after a plain number and a space (`2m` and `x + m` are algebra).
  s = s.replace(/^(-?[\d.,]+)\s+(?:m|g)$/, '$1');
  for (let guard = 0; guard < 4; guard++) {
    const next = s.replace(UNIT_TAIL, '').trim();
    if (next === s || !/[\d}]/.test(next)) break;
    s = next;
  }
  // A plain number followed by up to three lowercase words ("5 apples", "12 red marbles").
  s = s.replace(/^(-?\d[\d,]*(?:\.\d+)?)\s+(?!(?:or|and|pi|sqrt|inf|infinity|ln|log|exp|sin|cos|tan|cot|sec|csc)\b)[a-z][a-z-]+(?:\s+[a-z][a-z-]+){0,2}\.?$/, '$1');
  s = stripThousands(s);
  s = s.replace(/[.\s]+$/, '').trim();
  if (/^\.\d/.test(s)) s = '0' + s;
  s = s.replace(/(^|[^\d])\.(\d)/g, '$10.$2');
  s = braceShortArgs(plainToLatex(s)).replace(/\s+/g, ' ').trim();
  return s;
}

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

/** An answer split into its structure; leaves are normalised scalar strings. */
export type AnswerNode =
  | { kind: 'scalar'; text: string }
  | { kind: 'tuple'; open: string; close: string; items: AnswerNode[] }
  | { kind: 'list'; items: AnswerNode[] } // unordered: bare comma lists, \{…\} sets, ± expansions
  | { kind: 'union'; items: AnswerNode[] } // unordered union of intervals
  | { kind: 'matrix'; rows: AnswerNode[][] };

/** Split `s` at top-level occurrences of `sep` (outside (), [], {}, \{\}). */
export function splitTopLevel(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      if (s[i + 1] === '{' || s[i + 1] === '}') { depth += s[i + 1] === '{' ? 1 : -1; i++; continue; }
      if (depth === 0 && s.startsWith(sep, i) && sep.startsWith('\\')) {
        const after = s[i + sep.length];
        if (after === undefined || !/[a-zA-Z]/.test(after)) { parts.push(s.slice(from, i)); from = i + sep.length; i += sep.length - 1; continue; }
      }
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0 && !sep.startsWith('\\') && s.startsWith(sep, i)) { parts.push(s.slice(from, i)); from = i + sep.length; }
  }
  parts.push(s.slice(from));
  return parts.map((p) => p.trim());
}

/** True when the bracket opening at 0 closes exactly at the last character (so `(a)(b)` is not one group). */
function wrapsWhole(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') { if (s[i + 1] === '{') depth++; else if (s[i + 1] === '}') depth--; i++; if (depth === 0 && i < s.length - 1) return false; continue; }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (depth === 0 && i < s.length - 1) return false;
  }
  return depth === 0;
}

/** Drop a leading `x =`, `\theta =`, `f(x) =`, `x \in` when the left side is a lone name. */
export function dropLeadingVariable(s: string): string {
  const t = /^([^=]+?)\s*=\s*([a-zA-Z](?:_\{?\w+\}?)?|\\[a-zA-Z]+)$/.exec(s); // `2x+3 = y`
  if (t && !/^[a-zA-Z]$/.test(t[1]!.trim())) return t[1]!;
  const m = /^(?:[a-zA-Z](?:_\{?\w+\}?)?(?:\([a-z]\))?|\\[a-zA-Z]+)\s*(?:=|\\in(?![a-zA-Z]))\s*/.exec(s);
  if (!m) return s;
  const rest = s.slice(m[0].length);
  if (rest.length === 0 || /(^|[^<>!\\])=/.test(rest)) return s;
  return rest;
}

const LESS = String.raw`<|\\le(?:q|qslant)?(?![a-zA-Z])|≤`;
const GREATER = String.raw`>|\\ge(?:q|qslant)?(?![a-zA-Z])|≥`;
const isStrict = (op: string) => op === '<' || op === '>';

/**
 * An inequality in one variable as the interval it describes: `x > 2` → `(2,\infty)`,
 * `x \le -1` → `(-\infty,-1]`, `-2 < x \le 3` → `(-2,3]`, `3 > x > 1` → `(1,3)`; null otherwise.
 */
export function inequalityToInterval(s: string): string | null {
  const v = String.raw`[a-zA-Z]`;
  let m = new RegExp(String.raw`^(.+?)\s*(${LESS})\s*${v}\s*(${LESS})\s*(.+)$`).exec(s);
  if (m) return `${isStrict(m[2]!) ? '(' : '['}${m[1]},${m[4]}${isStrict(m[3]!) ? ')' : ']'}`;
  m = new RegExp(String.raw`^(.+?)\s*(${GREATER})\s*${v}\s*(${GREATER})\s*(.+)$`).exec(s);
  if (m) return `${isStrict(m[3]!) ? '(' : '['}${m[4]},${m[1]}${isStrict(m[2]!) ? ')' : ']'}`;
  m = new RegExp(String.raw`^${v}\s*(${LESS}|${GREATER})\s*(.+)$`).exec(s);
  if (!m || /[<>≤≥]|\\[lg]e/.test(m[2]!)) return null;
  const op = m[1]!;
  const less = op === '<' || op.startsWith('\\le') || op === '≤';
  return less ? `(-\\infty,${m[2]}${isStrict(op) ? ')' : ']'}` : `${isStrict(op) ? '(' : '['}${m[2]},\\infty)`;
}

/** A single multiple-choice letter `(C)`, `C)`, `(C` → `C`. */
function choiceLetter(s: string): string | null {
  const m = /^\(?\s*([A-E])\s*\)?$/.exec(s);
  return m ? m[1]! : null;
}

/**
 * Expand one `\pm` (or `\mp`) into the two-element list {… + …, … - …}: `1 \pm \sqrt{19}`,
 * `\frac{-1 \pm \sqrt5}{2}`. A top-level `a \pm b` brackets b; null unless there is exactly one.
 */
function expandPlusMinus(s: string): string[] | null {
  const all = s.match(/\\(?:pm|mp)(?![a-zA-Z])/g);
  if (!all || all.length !== 1) return null;
  const parts = splitTopLevel(s, all[0]!);
  if (parts.length === 2) {
    const [a, b] = parts as [string, string];
    const bb = `(${b})`;
    return a === '' ? [bb, `-${bb}`] : [`${a}+${bb}`, `${a}-${bb}`];
  }
  return [s.replace(/\\(?:pm|mp)(?![a-zA-Z])/, '+'), s.replace(/\\(?:pm|mp)(?![a-zA-Z])/, '-')];
}

/** Scalar leaf text: lone variable prefix dropped, whitespace removed, choice letters unwrapped. */
export function scalarText(s: string): string {
  s = dropLeadingVariable(s.trim());
  const letter = choiceLetter(s);
  if (letter !== null) return letter;
  // Mixed numbers of the whole element: `7 3/4`, `1\frac{4}{5}`, `-2\frac{1}{3}`.
  let m = /^(-?)(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}$/.exec(s);
  if (m) return `${m[1]}(${m[2]}+\\frac{${m[3]}}{${m[4]}})`;
  m = /^(-?)(\d+)\s+(\d+)\/(\d+)$/.exec(s);
  if (m) return `${m[1]}(${m[2]}+\\frac{${m[3]}}{${m[4]}})`;
  s = s.replace(/\s+/g, ' ');
  // Words stay separated by one space; everything mathematical loses its spaces.
  return /[a-zA-Z]{2,}\s+[a-zA-Z]{2,}/.test(s.replace(/\\[a-zA-Z]+/g, '')) ? s : s.replace(/(?<!\\[a-zA-Z]+)\s+/g, '').replace(/_\{(\w)\}/g, '_$1').replace(/\^\{(\w)\}/g, '^$1');
}

function parseMatrix(s: string): AnswerNode | null {
  const m = /^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^}]*\})?([\s\S]*)\\end\{\1\}$/.exec(s);
  if (!m) return null;
  const rows = m[2]!.split(/\\\\/).map((r) => r.trim()).filter((r) => r.length > 0);
  return { kind: 'matrix', rows: rows.map((r) => r.split('&').map((c) => parseNode(c.trim(), 1))) };
}

/** Split a normalised answer string into its structure. */
export function parseNode(s: string, depth = 0): AnswerNode {
  s = s.trim();
  if (depth > 8) return { kind: 'scalar', text: scalarText(s) };
  if (depth === 0) {
    s = stripThousands(dropLeadingVariable(s));
    s = inequalityToInterval(s) ?? s;
    s = s.replace(/\s+(?:or|and)\s+/g, ', ');
  }
  const matrix = parseMatrix(s);
  if (matrix) return matrix;
  // Set braces: \{…\}, or bare {…} around a comma list.
  if ((s.startsWith('\\{') && s.endsWith('\\}') && wrapsWhole(s)) || (s.startsWith('{') && s.endsWith('}') && wrapsWhole(s))) {
    const inner = s.startsWith('\\{') ? s.slice(2, -2) : s.slice(1, -1);
    const items = splitTopLevel(inner, ',').filter((x) => x.length > 0);
    return { kind: 'list', items: items.flatMap((x) => listItems(x, depth)) };
  }
  const unionParts = splitTopLevel(s, '\\cup');
  if (unionParts.length > 1) return { kind: 'union', items: unionParts.map((p) => parseNode(p, depth + 1)) };
  if (/^[([]/.test(s) && /[)\]]$/.test(s) && wrapsWhole(s)) {
    const items = splitTopLevel(s.slice(1, -1), ',');
    if (items.length > 1) return { kind: 'tuple', open: s[0]!, close: s[s.length - 1]!, items: items.map((x) => parseNode(x, depth + 1)) };
  }
  const parts = splitTopLevel(s, ',').filter((x) => x.length > 0);
  if (parts.length > 1 || (parts.length === 1 && expandPlusMinus(parts[0]!))) {
    return { kind: 'list', items: parts.flatMap((x) => listItems(x, depth)) };
  }
  return { kind: 'scalar', text: scalarText(s) };
}

function listItems(x: string, depth: number): AnswerNode[] {
  const pm = expandPlusMinus(dropLeadingVariable(x));
  if (pm) return pm.map((p) => ({ kind: 'scalar', text: scalarText(p) }));
  return [parseNode(dropLeadingVariable(x), depth + 1)];
}

/** Normalise and split in one go. */
export function parseAnswer(raw: string): AnswerNode {
  return parseNode(normalizeAnswerString(raw));
}
