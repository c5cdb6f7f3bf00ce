// The project's one JSONL line reader. Every JSONL file bstar reads (task data, `bstar train --data`,
// PRM annotations, a run's metrics.jsonl, the report's sample files) goes through jsonlLines: it splits
// the text into lines ('\n', a trailing '\r' dropped), skips blank lines, parses each line as one JSON
// object and numbers it (1-based). A bad line is a JsonlError naming file:line, what was expected and
// what was found; each caller wraps it in its own layer's error class and validates the row's fields.
//
// An append-only file (metrics.jsonl, annotations) can end in a line cut short by a crash: text after
// the final '\n' that does not parse. `torn: 'report'` hands it back (JsonlText.torn) instead of
// failing, so a resuming writer or a report can carry on; anywhere else it is an error like any other.
// It lives in util/ so that tasks/, reward/, run/, report/ and cli/ all reach it without an upward import.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** What went wrong: the file could not be read, was not gzip, a line was not JSON, or not an object. */
export type JsonlProblem = 'read' | 'gzip' | 'json' | 'object';

/** A JSONL file or one of its lines is bad. `line` is 1-based (undefined: the file as a whole). */
export class JsonlError extends Error {
  override readonly name = 'JsonlError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly problem: JsonlProblem,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${line === undefined ? file : `${file}:${line}`}: expected ${expected}, found ${found}`);
  }
}

/** One non-blank line: its object, its 1-based line number and its text (without '\r\n'). */
export interface JsonlLine {
  value: Record<string, unknown>;
  line: number;
  text: string;
}

/** A last line cut short: text after the final newline that is not JSON. `at` is its offset in the text. */
export interface TornLine {
  line: number;
  text: string;
  at: number;
}

export interface JsonlText {
  /** The non-blank lines in file order. */
  rows: JsonlLine[];
  /** The torn last line (only with `torn: 'report'`), else null. */
  torn: TornLine | null;
  /** The last row has no newline after it (still being written, or edited by hand); it is in `rows`. */
  unterminated: boolean;
}

export interface JsonlOptions {
  /**
   * A last line without its newline that is not JSON: 'error' (default) throws like any bad line;
   * 'report' leaves it out of `rows` and returns it as `torn`.
   */
  torn?: 'error' | 'report';
  /** Line number of the text's first line (default 1), for a text that continues a file. */
  firstLine?: number;
  /** Lenient readers: a bad line is handed here and skipped instead of thrown. */
  onBadLine?: (e: JsonlError) => void;
}

/**
 * The newline-terminated lines of a text (without their '\n') and what follows the last newline
 * (`tail`, '' when the text ends in a newline). The splitting rule jsonlLines reads by; also what a
 * line count of an append-only file means (RunDir.metricsLines).
 */
export function splitLines(text: string): { lines: string[]; tail: string } {
  const lines = text.split('\n');
  const tail = lines.pop() as string;
  return { lines, tail };
}

/** Every non-blank line of JSONL text, parsed; `file` names it in errors. */
export function jsonlLines(text: string, file: string, o: JsonlOptions = {}): JsonlText {
  const { lines, tail } = splitLines(text);
  const first = o.firstLine ?? 1;
  const rows: JsonlLine[] = [];
  let torn: TornLine | null = null;
  let unterminated = false;
  const all = tail === '' ? lines : [...lines, tail];
  for (let i = 0; i < all.length; i++) {
    const s = all[i].endsWith('\r') ? all[i].slice(0, -1) : all[i];
    if (s.trim() === '') continue;
    const isTail = i === lines.length;
    const line = first + i;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      if (isTail && o.torn === 'report') {
        torn = { line, text: s, at: text.length - tail.length };
        break;
      }
      bad(new JsonlError(file, line, 'json', 'one JSON object per line', `invalid JSON (${(e as Error).message})`), o);
      continue;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      bad(new JsonlError(file, line, 'object', 'a JSON object', describe(v)), o);
      continue;
    }
    rows.push({ value: v as Record<string, unknown>, line, text: s });
    if (isTail) unterminated = true;
  }
  return { rows, torn, unterminated };
}

function bad(e: JsonlError, o: JsonlOptions): void {
  if (!o.onBadLine) throw e;
  o.onBadLine(e);
}

/** A file's bytes, gunzipped when its name ends in .gz or it starts with the gzip magic bytes. */
export function readMaybeGzip(file: string): Buffer {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new JsonlError(file, undefined, 'read', 'a readable file', (e as Error).message);
  }
  if (file.endsWith('.gz') || (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b)) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new JsonlError(file, undefined, 'gzip', 'a readable gzip file', (e as Error).message);
    }
  }
  return buf;
}

/** jsonlLines of a file (plain or .gz); a missing or unreadable file is a JsonlError without a line. */
export function readJsonlLines(file: string, o: JsonlOptions = {}): JsonlText {
  return jsonlLines(readMaybeGzip(file).toString('utf8'), file, o);
}

/** A short description of a found value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (field missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return v.length > 40 ? `the string "${v.slice(0, 40)}…"` : `the string "${v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
