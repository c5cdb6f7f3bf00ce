// Shipped data: where it lives, how a JSONL file is read (plain or gzip-compressed), and the typed
// errors that name the file, line and field when something is missing or malformed. Shared by every
// task that reads files; the one JSONL reader of the project is readJsonl here.
//
// Resolution order for the data directory: opts.dataDir, then $BSTAR_DATA, then the data/ folder
// shipped inside the package (beside bstar's package.json). A data file `x.jsonl` is found as
// `x.jsonl` or, failing that, `x.jsonl.gz` (the package ships the compressed form, data/README.md).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

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
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new MissingDataError(`cannot read data file ${file}: ${(e as Error).message}`, file);
  }
  if (file.endsWith('.gz') || (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b)) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new DataError(`${file}: not a readable gzip file (${(e as Error).message})`, file);
    }
  }
  return buf;
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

/** One parsed line: the object, and where it came from for later field errors. */
export interface JsonlRow {
  value: Record<string, unknown>;
  file: string;
  line: number;
}

/**
 * Every non-blank line of a JSONL file (plain or .gz) as an object; a bad line → MalformedDataError
 * naming file:line. The project's one JSONL reader.
 */
export function readJsonl(file: string): JsonlRow[] {
  const text = readDataText(file);
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
