// Shipped data: where it lives, how a JSONL file is read (plain or gzip-compressed), and the typed
// errors that name the file, line and field when something is missing or malformed. Shared by every
// task that reads files; readJsonl here is the task layer's face of the one JSONL reader (util/jsonl.ts).
//
// Resolution order for the data directory: opts.dataDir, then $BSTAR_DATA, then the data/ folder
// shipped inside the package (beside bstar's package.json). A data file `x.jsonl` is found as
// `x.jsonl` or, failing that, `x.jsonl.gz` (the package ships the compressed form, data/README.md).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, jsonlLines, JsonlError, readMaybeGzip } from '../util/jsonl.js';

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

/** How a row is counted in messages: a JSONL line (`file:12`) or a record of a JSON/Parquet file (`file row 12`). */
export type RowUnit = 'line' | 'row';

/** `file:12` for a JSONL line, `file row 12` for a JSON or Parquet record (1-based). */
export function whereOf(file: string, line: number, unit: RowUnit = 'line'): string {
  return unit === 'line' ? `${file}:${line}` : `${file} row ${line}`;
}

/**
 * A line is not JSON, or a field is missing or of the wrong type. `field` is the dataset's own column
 * name; `mappedAs` the task's name for it when a field mapping (task.fields) renamed it.
 */
export class MalformedDataError extends DataError {
  constructor(file: string, line: number, field: string | undefined, expected: string, found: string, unit: RowUnit = 'line', mappedAs?: string) {
    const at = whereOf(file, line, unit);
    const where = field === undefined ? at : `${at}: field "${field}"${mappedAs !== undefined && mappedAs !== field ? ` (task.fields.${mappedAs})` : ''}`;
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
  return { dir: defaultDataDir(), from: "the package's own data/ folder" };
}

/** The data/ folder shipped inside the package. */
export function defaultDataDir(): string {
  return join(packageRoot(), 'data');
}

const FIX = 'set BSTAR_DATA (or the dataDir option) to the directory holding the task data (gsm8k/, arc/, math/, code/), or unset it to use the data shipped with bstar';

/**
 * Absolute path of a data file (e.g. 'gsm8k/train.jsonl'): the file itself, else its `.gz` form;
 * missing dir or file → MissingDataError naming both forms and where the directory came from.
 */
export function dataFile(relPath: string, dataDir?: string): string {
  const { dir, from } = resolveDataDir(dataDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new MissingDataError(`data directory ${dir} (from ${from}) does not exist; ${FIX}`, dir);
  }
  const file = join(dir, relPath);
  if (existsSync(file)) return file;
  if (!file.endsWith('.gz') && existsSync(`${file}.gz`)) return `${file}.gz`;
  throw new MissingDataError(`data file ${file} (or ${file}.gz) does not exist (data directory ${dir}, from ${from}); ${FIX}`, file);
}

/** A file's text, gunzipped when its name ends in .gz (or it starts with the gzip magic bytes). */
export function readDataText(file: string): string {
  return readDataBytes(file).toString('utf8');
}

/** A file's bytes, gunzipped when its name ends in .gz (or it starts with the gzip magic bytes). */
export function readDataBytes(file: string): Buffer {
  try {
    return readMaybeGzip(file);
  } catch (e) {
    if (!(e instanceof JsonlError)) throw e;
    if (e.problem === 'read') throw new MissingDataError(`cannot read data file ${file}: ${e.found}`, file);
    throw new DataError(`${file}: not a readable gzip file (${e.found})`, file);
  }
}

// ---------------------------------------------------------------------------------------------
// Checksums (data/SHA256SUMS: SHA-256 of each file's uncompressed content)

export interface ChecksumResult {
  /** The name listed in SHA256SUMS, e.g. 'gsm8k/train.jsonl'. */
  name: string;
  /** The file actually read (the plain file or its .gz), or null when neither exists. */
  file: string | null;
  expected: string;
  actual: string | null;
  ok: boolean;
}

/**
 * Checks every file listed in <dir>/SHA256SUMS (or those whose name passes `only`) against its
 * uncompressed content; [] when there is no list.
 */
export function verifyChecksums(dataDir?: string, only: (name: string) => boolean = () => true): ChecksumResult[] {
  const { dir } = resolveDataDir(dataDir);
  const list = join(dir, 'SHA256SUMS');
  if (!existsSync(list)) return [];
  const out: ChecksumResult[] = [];
  const lines = readFileSync(list, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].trim();
    if (s === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(s);
    if (!m) throw new MalformedDataError(list, i + 1, undefined, '"<sha256>  <file>"', describe(s));
    const [, expected, name] = m;
    if (!only(name)) continue;
    const plain = join(dir, name);
    const file = existsSync(plain) ? plain : existsSync(`${plain}.gz`) ? `${plain}.gz` : null;
    const actual = file === null ? null : createHash('sha256').update(readDataBytes(file)).digest('hex');
    out.push({ name, file, expected, actual, ok: actual === expected });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading JSONL

/** One parsed record: the object, and where it came from for later field errors. */
export interface DataRow {
  value: Record<string, unknown>;
  file: string;
  /** 1-based line (JSONL) or record number (JSON, Parquet). */
  line: number;
  /** How `line` counts (default 'line'). */
  unit?: RowUnit;
  /** A field mapping applied to `value` (task.fields): the task's field name → the dataset's column. */
  fields?: Record<string, string>;
}
/** The JSONL reader's rows (a DataRow counted in lines). */
export type JsonlRow = DataRow;

/** The error for `field` of a row: names the file, line/row, the dataset's column and the mapping. */
export function rowError(row: DataRow, field: string | undefined, expected: string, found: string): MalformedDataError {
  const column = field === undefined ? undefined : rootField(row, field);
  return new MalformedDataError(row.file, row.line, column, expected, found, row.unit ?? 'line', field === undefined ? undefined : field);
}

/** The dataset's name for a task field ('choices.text' → 'options.text' when choices was mapped to options). */
function rootField(row: DataRow, field: string): string {
  const [head, ...rest] = field.split('.');
  const mapped = row.fields?.[head];
  return mapped === undefined ? field : [mapped, ...rest].join('.');
}

/**
 * Every non-blank line of a JSONL file (plain or .gz) as an object; a bad line → MalformedDataError
 * naming file:line. The task layer's face of the project's one JSONL reader (util/jsonl.ts).
 */
export function readJsonl(file: string): JsonlRow[] {
  const text = readDataText(file);
  try {
    return jsonlLines(text, file).rows.map(({ value, line }) => ({ value, file, line }));
  } catch (e) {
    if (e instanceof JsonlError && e.line !== undefined) throw new MalformedDataError(file, e.line, undefined, e.expected, e.found);
    throw e;
  }
}

export { describe };

/** row.value[field] as a string (non-empty unless allowEmpty), else MalformedDataError. */
export function stringField(row: DataRow, field: string, allowEmpty = false): string {
  const v = row.value[field];
  if (typeof v !== 'string' || (!allowEmpty && v.trim() === '')) {
    throw rowError(row, field, allowEmpty ? 'a string' : 'a non-empty string', describe(v));
  }
  return v;
}

/** row.value[field] as an array of strings, else MalformedDataError (field path may be dotted for messages). */
export function stringArrayField(row: DataRow, v: unknown, fieldPath: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw rowError(row, fieldPath, 'an array of strings', describe(v));
  }
  return v as string[];
}
