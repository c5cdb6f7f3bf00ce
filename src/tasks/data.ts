// Shipped data: where it lives, how a JSONL file is read, and the typed errors that name the file,
// line and field when something is missing or malformed. Shared by every task that reads files.
//
// Resolution order for the data directory: opts.dataDir, then $BSTAR_DATA, then ../shared/data
// relative to the package root (the directory holding bstar's package.json).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// Errors

/** Base class for problems with data files; `file` (and `line`, `field` when known) say where. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The data directory or a file in it does not exist. */
export class MissingDataError extends DataError {}

/** A line is not JSON, or a field is missing or of the wrong type. */
export class MalformedDataError extends DataError {
  constructor(file: string, line: number, field: string | undefined, expected: string, found: string) {
    const where = field === undefined ? `${file}:${line}` : `${file}:${line}: field "${field}"`;
    super(`${where}: expected ${expected}, found ${found}`, file, line, field);
  }
}

// ---------------------------------------------------------------------------------------------
// Locating the data

let packageRootCache: string | undefined;

/** The directory holding bstar's package.json (walks up from this file, works from src/ and dist/). */
export function packageRoot(): string {
  if (packageRootCache !== undefined) return packageRootCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'bstar') return (packageRootCache = dir);
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find bstar's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The data directory and where its path came from (for error messages). */
export function resolveDataDir(dataDir?: string): { dir: string; from: string } {
  if (dataDir !== undefined && dataDir !== '') return { dir: resolve(dataDir), from: 'the dataDir option' };
  const env = process.env.BSTAR_DATA;
  if (env !== undefined && env !== '') return { dir: resolve(env), from: 'BSTAR_DATA' };
  return { dir: resolve(packageRoot(), '..', 'shared', 'data'), from: 'the default ../shared/data beside the package' };
}

const FIX = 'set BSTAR_DATA (or the dataDir option) to the directory holding the shipped data (gsm8k/, arc/, math/, code/)';

/** Absolute path of a data file (e.g. 'gsm8k/train.jsonl'); missing dir or file → MissingDataError. */
export function dataFile(relPath: string, dataDir?: string): string {
  const { dir, from } = resolveDataDir(dataDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new MissingDataError(`data directory ${dir} (from ${from}) does not exist; ${FIX}`, dir);
  }
  const file = join(dir, relPath);
  if (!existsSync(file)) {
    throw new MissingDataError(`data file ${file} does not exist (data directory ${dir}, from ${from}); ${FIX}`, file);
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// Reading JSONL

/** One parsed line: the object, and where it came from for later field errors. */
export interface JsonlRow {
  value: Record<string, unknown>;
  file: string;
  line: number;
}

/** Every non-blank line of a JSONL file as an object; a bad line → MalformedDataError naming file:line. */
export function readJsonl(file: string): JsonlRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MissingDataError(`cannot read data file ${file}: ${(e as Error).message}`, file);
  }
  const rows: JsonlRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].trim();
    if (s === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      throw new MalformedDataError(file, i + 1, undefined, 'one JSON object per line', `invalid JSON (${(e as Error).message})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new MalformedDataError(file, i + 1, undefined, 'a JSON object', describe(v));
    }
    rows.push({ value: v as Record<string, unknown>, file, line: i + 1 });
  }
  return rows;
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

/** row.value[field] as a string (non-empty unless allowEmpty), else MalformedDataError. */
export function stringField(row: JsonlRow, field: string, allowEmpty = false): string {
  const v = row.value[field];
  if (typeof v !== 'string' || (!allowEmpty && v.trim() === '')) {
    throw new MalformedDataError(row.file, row.line, field, allowEmpty ? 'a string' : 'a non-empty string', describe(v));
  }
  return v;
}

/** row.value[field] as an array of strings, else MalformedDataError (field path may be dotted for messages). */
export function stringArrayField(row: JsonlRow, v: unknown, fieldPath: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new MalformedDataError(row.file, row.line, fieldPath, 'an array of strings', describe(v));
  }
  return v as string[];
}
