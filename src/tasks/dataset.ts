// A user's own dataset for a task family (`--dataset PATH` / `task.file`, field mapping `task.fields`):
// reading JSONL (plain or .gz), JSON and Parquet records, locating a split's files in a file, a folder in
// the Hugging Face datasets layout (`<repo>/data/<split>-*.parquet`, `<repo>/<config>/<split>-*.…`) or a
// hub id (`org/name`, through the hub cache, src/hub), and renaming the dataset's columns to the task's
// field names. Every error names the file, the line (JSONL) or row (JSON, Parquet) and the field.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects, toJson } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataError, MalformedDataError, MissingDataError, describe, readDataText, readJsonl, type DataRow } from './data.js';
import { isHubId, resolveHubRepo } from '../hub/index.js';
import type { Split } from './types.js';

// ---------------------------------------------------------------------------------------------
// Reading records

const RECORD_FILE = /\.(jsonl|ndjson|json|parquet)(\.gz)?$/i;

/** Whether bstar can read this file name as records (JSONL, JSON, Parquet; JSONL/JSON may be .gz). */
export function isRecordFile(name: string): boolean {
  const m = RECORD_FILE.exec(name);
  return m !== null && !(m[1].toLowerCase() === 'parquet' && m[2] !== undefined);
}

/** Every record of a JSONL (plain or .gz), JSON or Parquet file, with its line or row number. */
export async function readRecords(file: string): Promise<DataRow[]> {
  const m = RECORD_FILE.exec(file);
  const kind = m?.[1].toLowerCase();
  if (kind === 'parquet') return readParquet(file);
  if (kind === 'json') return readJson(file);
  if (kind === 'jsonl' || kind === 'ndjson') return readJsonl(file);
  throw new DataError(`${file}: not a dataset file bstar reads (expected .jsonl, .jsonl.gz, .json or .parquet)`, file);
}

/** A JSON file: an array of objects, or an object holding one array of objects (`{"data": [...]}`); a file of one object per line is read as JSONL. */
function readJson(file: string): DataRow[] {
  const text = readDataText(file);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    // Many .json files on the hub hold one object per line.
    if (/^\s*\{[^\n]*\}\s*\n\s*\{/.test(text)) return readJsonl(file);
    throw new MalformedDataError(file, 1, undefined, 'a JSON array of objects', `invalid JSON (${(e as Error).message})`, 'row');
  }
  let list: unknown = v;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const arrays = Object.entries(v).filter(([, x]) => Array.isArray(x));
    if (arrays.length !== 1) throw new DataError(`${file}: expected a JSON array of objects, or an object holding exactly one array of them; found an object with ${arrays.length} arrays (${arrays.map(([k]) => k).join(', ') || 'none'})`, file);
    list = arrays[0][1];
  }
  if (!Array.isArray(list)) throw new DataError(`${file}: expected a JSON array of objects, found ${describe(list)}`, file);
  return list.map((x, i) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) throw new MalformedDataError(file, i + 1, undefined, 'a JSON object', describe(x), 'row');
    return { value: x as Record<string, unknown>, file, line: i + 1, unit: 'row' as const };
  });
}

/** A Parquet file (any codec hyparquet-compressors reads: snappy, gzip, zstd, brotli, lz4) as JSON-like records. */
async function readParquet(file: string): Promise<DataRow[]> {
  let objs: Record<string, unknown>[];
  try {
    const buf = await asyncBufferFromFile(file);
    objs = (await parquetReadObjects({ file: buf, compressors })) as Record<string, unknown>[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingDataError(`cannot read data file ${file}: it does not exist`, file);
    throw new DataError(`${file}: not a readable Parquet file (${(e as Error).message})`, file);
  }
  return objs.map((o, i) => ({ value: toJson(o) as Record<string, unknown>, file, line: i + 1, unit: 'row' as const }));
}

// ---------------------------------------------------------------------------------------------
// Locating a split's files

/** What `task.file` may be: one path (file, folder or hub id) for every split, or one per split. */
export type DatasetSource = string | Partial<Record<Split, string>>;

/** File-name stems of each split in the Hugging Face datasets layout. */
export const SPLIT_NAMES: Record<Split, string[]> = { train: ['train'], dev: ['validation', 'valid', 'val', 'dev'], test: ['test'] };

function splitOfName(name: string): Split | null {
  const stem = basename(name).replace(RECORD_FILE, '').toLowerCase();
  for (const [split, names] of Object.entries(SPLIT_NAMES) as [Split, string[]][]) {
    if (names.some((n) => stem === n || stem.startsWith(`${n}-`) || stem.startsWith(`${n}_`) || stem.startsWith(`${n}.`))) return split;
  }
  return null;
}

/** Record files directly in `dir`, sorted (train-00000-of-00002 before train-00001-of-00002). */
function recordFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir).filter((n) => isRecordFile(n) && statSync(join(dir, n)).isFile()).sort().map((n) => join(dir, n));
}

/**
 * The files of `split` in a dataset folder laid out as on the Hugging Face hub: `<dir>/data/<split>-*.…`,
 * else `<dir>/<split>-*.…` / `<dir>/<split>.jsonl`, else one config subfolder `<dir>/<config>/<split>-*.…`
 * (several configs: the error lists them; pass the one you want as the folder). A folder holding a
 * single record file and nothing split-named uses that file for every split.
 */
export function splitFilesInDir(dir: string, split: Split): string[] {
  const ofSplit = (files: string[]) => files.filter((f) => splitOfName(f) === split);
  const anySplit = (files: string[]) => files.some((f) => splitOfName(f) !== null);
  for (const d of [join(dir, 'data'), dir]) {
    const files = recordFiles(d);
    if (anySplit(files)) return ofSplit(files);
  }
  const configs = readdirSync(dir)
    .filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory() && n !== 'data')
    .filter((n) => anySplit(recordFiles(join(dir, n))));
  if (configs.length > 1) {
    throw new DataError(`${dir}: ${configs.length} dataset configurations (${configs.join(', ')}); pass one of the folders, e.g. ${join(dir, configs[0])}`, dir);
  }
  if (configs.length === 1) return ofSplit(recordFiles(join(dir, configs[0])));
  const top = recordFiles(dir);
  return top.length === 1 ? top : [];
}

/** Where the records of `split` come from: files, and a phrase for messages. */
export interface SplitFiles {
  files: string[];
  from: string;
}

/** The files of one split of a dataset source (a file, a folder, or a hub id fetched into the hub cache). */
export async function datasetSplitFiles(source: DatasetSource, split: Split, log?: (line: string) => void): Promise<SplitFiles> {
  const one = typeof source === 'string' ? source : source[split];
  if (one === undefined) {
    throw new DataError(`task.file has no ${split} split (given: ${Object.keys(source).join(', ') || 'none'}); add task.file.${split}=<path>`, '');
  }
  const path = resolve(one);
  if (existsSync(path)) {
    if (statSync(path).isFile()) return { files: [path], from: path };
    const files = splitFilesInDir(path, split);
    if (files.length === 0) throw new MissingDataError(`${path}: no ${split} files (looked for ${SPLIT_NAMES[split].map((n) => `${n}-*.parquet, ${n}.jsonl`).join(', ')} in ${join(path, 'data')}, the folder itself and its configuration subfolders)`, path);
    return { files, from: path };
  }
  if (isHubId(one)) {
    const dir = await resolveHubRepo({ kind: 'dataset', id: one, want: (p) => isRecordFile(p) && splitOfName(p) !== null, log });
    const files = splitFilesInDir(dir, split);
    if (files.length === 0) throw new MissingDataError(`dataset ${one} (${dir}): no ${split} files (looked for ${SPLIT_NAMES[split].join('/')}-*.parquet and .jsonl files)`, dir);
    return { files, from: `${one} (${dir})` };
  }
  throw new MissingDataError(`dataset ${one}: no such file or folder (${path}), and not a hub id of the form org/name`, path);
}

// ---------------------------------------------------------------------------------------------
// Field mapping

/** A value at a dotted path (`choices.text`), undefined when any step is missing. */
export function getPath(value: Record<string, unknown>, path: string): unknown {
  let v: unknown = value;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/**
 * The rows with the task's field names filled from the dataset's columns: `fields` maps a task field
 * (or one of its aliases, e.g. `question` for MATH's `problem`) to a column (a dotted path reaches
 * into nested records). Unmapped, a field missing from a row is read from an alias column of the same
 * name (a MATH row's `question`). Unknown task fields are an error naming the known ones.
 */
export function applyFieldMap(rows: DataRow[], fields: Record<string, string>, known: readonly string[], aliases: Record<string, string> = {}, task = 'the task'): DataRow[] {
  const map: Record<string, string> = {};
  for (const [k, col] of Object.entries(fields)) {
    const field = aliases[k] ?? k;
    if (!known.includes(field)) {
      const names = [...known, ...Object.keys(aliases)].join(', ');
      throw new DataError(`task.fields.${k}: not a field of ${task} (fields: ${names})`, '');
    }
    if (typeof col !== 'string' || col === '') throw new DataError(`task.fields.${k}: expected a column name, found ${describe(col)}`, '');
    map[field] = col;
  }
  // An alias column stands in for a task field the row lacks (MATH's `problem` read from `question`).
  const implicit = Object.entries(aliases).filter(([a, f]) => map[f] === undefined && a !== f && known.includes(f));
  if (Object.keys(map).length === 0 && implicit.length === 0) return rows;
  return rows.map((r) => {
    const value = { ...r.value };
    const used: Record<string, string> = { ...map };
    for (const [field, col] of Object.entries(map)) value[field] = getPath(r.value, col);
    for (const [alias, field] of implicit) {
      if (value[field] === undefined && r.value[alias] !== undefined) {
        value[field] = r.value[alias];
        used[field] = alias;
      }
    }
    return Object.keys(used).length === 0 ? r : { ...r, value, fields: used };
  });
}
