// Resolving a run config: schema defaults ← preset ← file (YAML or JSON) ← `--set path=value` overrides,
// validated once. Every mistake becomes a ConfigError naming where it came from (file and line, the
// override, or the preset), the key path, what was expected and what was found.

import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parse as parseYamlValue, parseDocument, stringify, type Document } from 'yaml';
import type { z } from 'zod';
import { boundProblems } from './bounds.js';
import { ConfigSchema, DEFAULT_GRIDS, type Config } from './config.js';
import { PRESETS, presetLayer } from './presets.js';

export interface ConfigErrorInfo {
  /** Where: a file path, `--set a.b=v`, `preset demo`, or undefined for defaults/cross-field checks. */
  source?: string;
  line?: number;
  column?: number;
  /** Dotted key path, e.g. `train.lr`; '' for the whole config. */
  path: string;
  expected: string;
  found: string;
}

export class ConfigError extends Error implements ConfigErrorInfo {
  readonly source?: string;
  readonly line?: number;
  readonly column?: number;
  readonly path: string;
  readonly expected: string;
  readonly found: string;
  /** Every problem found (the message shows the first). */
  readonly problems: ConfigErrorInfo[];

  constructor(first: ConfigErrorInfo, all: ConfigErrorInfo[] = [first]) {
    super(formatProblem(first) + (all.length > 1 ? ` (and ${all.length - 1} more)` : ''));
    this.name = 'ConfigError';
    Object.assign(this, first);
    this.path = first.path;
    this.expected = first.expected;
    this.found = first.found;
    this.problems = all;
  }
}

function formatProblem(p: ConfigErrorInfo): string {
  const where = p.source === undefined ? 'config' : p.line === undefined ? p.source : `${p.source}:${p.line}:${p.column ?? 1}`;
  return `${where}: ${p.path || '(root)'}: expected ${p.expected}, found ${p.found}`;
}

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v); // NaN, Infinity: JSON would say null
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
};

// ---------------------------------------------------------------------------------------------------
// The schema's key tree, for override paths and unknown-key suggestions.

type AnySchema = z.core.$ZodType;

function unwrap(s: AnySchema): AnySchema {
  for (;;) {
    const def = s._zod.def as { type: string; innerType?: AnySchema; in?: AnySchema; out?: AnySchema };
    if (['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type) && def.innerType) s = def.innerType;
    // A preprocess step is a pipe from a transform into the real schema.
    else if (def.type === 'pipe' && def.in && def.out) s = def.in._zod.def.type === 'transform' ? def.out : def.in;
    else return s;
  }
}

/** Child schema of an object schema, 'any' below a record, or null (unknown key / not an object). */
function child(s: AnySchema, key: string): AnySchema | 'any' | null {
  const u = unwrap(s);
  const def = u._zod.def as { type: string; shape?: Record<string, AnySchema> };
  if (def.type === 'record') return 'any';
  if (def.type === 'object') return Object.hasOwn(def.shape!, key) ? def.shape![key] : null;
  return null;
}

function keysOf(s: AnySchema): string[] {
  const def = unwrap(s)._zod.def as { type: string; shape?: Record<string, AnySchema> };
  return def.type === 'object' ? Object.keys(def.shape!) : [];
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

function unknownKeyExpected(keys: string[], key: string): string {
  const near = keys.filter((k) => levenshtein(k.toLowerCase(), key.toLowerCase()) <= 2);
  return `one of ${keys.join(', ')}${near.length ? ` (did you mean ${near.map((k) => `"${k}"`).join(' or ')}?)` : ''}`;
}

/** The schema at a path, or a ConfigError info for the first unknown segment. */
function checkPath(path: string[]): ConfigErrorInfo | null {
  let s: AnySchema | 'any' = ConfigSchema as unknown as AnySchema;
  for (let i = 0; i < path.length; i++) {
    if (s === 'any') return null;
    const next = child(s, path[i]);
    if (next === null) {
      const keys = keysOf(s);
      const at = path.slice(0, i + 1).join('.');
      if (keys.length === 0) return { path: at, expected: `no key below ${path.slice(0, i).join('.')} (it is a value, not a section)`, found: `"${path[i]}"` };
      return { path: at, expected: unknownKeyExpected(keys, path[i]), found: `unknown key "${path[i]}"` };
    }
    s = next;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Layers and provenance.

type Raw = Record<string, unknown>;

interface FileLayer {
  kind: 'file';
  source: string;
  data: Raw;
  doc: Document;
  lines: LineCounter;
}
interface OverrideLayer {
  kind: 'override';
  source: string;
  path: string[];
  value: unknown;
}
interface PresetLayer {
  kind: 'preset';
  source: string;
  data: Raw;
}
type Layer = FileLayer | OverrideLayer | PresetLayer;

const isPlainObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Grids are replaced whole: {values} over {from, to, step} must not merge into both. */
const ATOMIC = new Set(['search.temperatures', 'search.thresholds']);

function merge(base: Raw, top: Raw, prefix = ''): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(top)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) && !ATOMIC.has(p) ? merge(out[k] as Raw, v, p) : v;
  }
  return out;
}

function setIn(obj: Raw, path: string[], value: unknown): Raw {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...obj, [head]: value };
  const inner = isPlainObject(obj[head]) ? (obj[head] as Raw) : {};
  return { ...obj, [head]: setIn(inner, rest, value) };
}

function hasIn(obj: unknown, path: (string | number)[]): boolean {
  let cur = obj;
  for (const seg of path) {
    if (!isPlainObject(cur) && !Array.isArray(cur)) return false;
    if (!Object.hasOwn(cur as object, seg)) return false;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return true;
}

/** Line and column of the node at `path` in a YAML document (the key itself when `key` is set). */
function locate(layer: FileLayer, path: (string | number)[], key: boolean): { line: number; column: number } | undefined {
  let node: unknown = layer.doc.contents;
  let offset: number | undefined = (node as { range?: number[] } | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const keyNode = pair.key as { range?: number[] };
      const valueNode = pair.value as { range?: number[] } | null;
      offset = key && i === path.length - 1 ? keyNode.range?.[0] : (valueNode?.range?.[0] ?? keyNode.range?.[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      node = node.items[seg];
      offset = (node as { range?: number[] }).range?.[0];
    } else break;
  }
  if (offset === undefined) return undefined;
  const { line, col } = layer.lines.linePos(offset);
  return { line, column: col };
}

/** Attributes a problem at `path` to the last layer that set it (or a part of it). */
function attribute(layers: Layer[], path: (string | number)[], info: Omit<ConfigErrorInfo, 'source'>, key: boolean): ConfigErrorInfo {
  const dotted = path.map(String);
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    if (l.kind === 'override') {
      const n = Math.min(l.path.length, dotted.length);
      if (l.path.slice(0, n).join('.') === dotted.slice(0, n).join('.')) return { ...info, source: l.source };
    } else if (hasIn(l.data, path)) {
      if (l.kind === 'file') return { ...info, source: l.source, ...locate(l, path, key) };
      return { ...info, source: l.source };
    }
  }
  // Not set anywhere (a default, or a required grid part): point at the nearest section a file set.
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    for (let n = path.length - 1; n >= 1; n--) {
      if (l.kind !== 'override' && hasIn(l.data, path.slice(0, n))) {
        return l.kind === 'file' ? { ...info, source: l.source, ...locate(l, path.slice(0, n), false) } : { ...info, source: l.source };
      }
    }
  }
  return info;
}

// ---------------------------------------------------------------------------------------------------
// zod issues → problems.

type Issue = z.core.$ZodIssue;

function expectedOf(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'int' ? 'an integer' : `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    case 'invalid_value':
      return issue.values.length === 1 ? show(issue.values[0]) : `one of ${issue.values.map(show).join(', ')}`;
    case 'too_small': {
      const m = issue.minimum as number;
      if (issue.origin === 'array') return `at least ${m} item${m === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return 'a non-empty string';
      return `a number ${issue.inclusive ? '≥' : '>'} ${m}`;
    }
    case 'too_big':
      return `a number ${issue.inclusive ? '≤' : '<'} ${issue.maximum as number}`;
    case 'invalid_union': {
      const parts = issue.errors.map((branch) => (branch.length ? expectedOf(branch[0]) : '?'));
      return [...new Set(parts)].join(' or ');
    }
    case 'custom':
      return issue.message;
    default:
      return issue.message;
  }
}

function problemsOf(issues: readonly Issue[], layers: Layer[]): ConfigErrorInfo[] {
  const out: ConfigErrorInfo[] = [];
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as (string | number)[];
    if (issue.code === 'unrecognized_keys') {
      const keys = keysOf(schemaAt(path));
      for (const k of issue.keys) {
        out.push(attribute(layers, [...path, k], { path: [...path, k].join('.'), expected: unknownKeyExpected(keys, k), found: `unknown key "${k}"` }, true));
      }
      continue;
    }
    const input = (issue as { input?: unknown }).input;
    out.push(attribute(layers, path, { path: path.join('.'), expected: expectedOf(issue), found: show(input) }, false));
  }
  return out;
}

function schemaAt(path: (string | number)[]): AnySchema {
  let s = ConfigSchema as unknown as AnySchema;
  for (const seg of path) {
    const c = child(s, String(seg));
    if (c === null || c === 'any') break;
    s = c;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Public API.

/** Parses `path=value` (value as a YAML scalar or flow collection: 1e-4, true, null, [0.5, 0.7], text). */
export function parseOverride(arg: string): OverrideLayer {
  const source = `--set ${arg}`;
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new ConfigError({ source, path: '', expected: 'key.path=value', found: show(arg) });
  const path = arg.slice(0, eq).trim().split('.');
  if (path.some((p) => p.length === 0)) throw new ConfigError({ source, path: arg.slice(0, eq), expected: 'a dotted key path like train.lr', found: show(arg.slice(0, eq)) });
  const bad = checkPath(path);
  if (bad) throw new ConfigError({ ...bad, source });
  let value: unknown;
  try {
    value = parseYamlValue(arg.slice(eq + 1));
  } catch (e) {
    throw new ConfigError({ source, path: path.join('.'), expected: 'a YAML value (number, true/false, null, [list], text)', found: `${show(arg.slice(eq + 1))} (${(e as Error).message.split('\n')[0]})` });
  }
  return { kind: 'override', source, path, value };
}

/** Reads a YAML or JSON config text; `source` names it in errors. */
export function parseConfigText(text: string, source: string): FileLayer {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    throw new ConfigError({ source, line: pos?.line, column: pos?.col, path: '', expected: 'valid YAML or JSON', found: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '') });
  }
  const data = doc.toJS() as unknown;
  if (data === null || data === undefined) return { kind: 'file', source, data: {}, doc, lines };
  if (!isPlainObject(data)) throw new ConfigError({ source, line: 1, column: 1, path: '', expected: 'a mapping of config keys', found: show(data) });
  return { kind: 'file', source, data, doc, lines };
}

export interface LoadConfigOptions {
  /** Config file (YAML or JSON). */
  file?: string;
  /** Config text instead of a file (named `file` or '<text>' in errors). */
  text?: string;
  /** Preset name; default: the file's `preset` key, else none (schema defaults = demo). */
  preset?: string;
  /** `path=value` overrides, applied last in order. */
  overrides?: readonly string[];
  /** Known task names (the task registry's); task.name must be one of them when given. */
  taskNames?: readonly string[];
}

/**
 * Resolves and validates a run config: defaults ← preset ← file ← overrides.
 * Example: loadConfig({preset: 'demo', overrides: ['train.lr=1e-4', 'method=online-rft']}).
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const layers: Layer[] = [];
  let file: FileLayer | undefined;
  if (opts.text !== undefined || opts.file !== undefined) {
    const source = opts.file ?? '<text>';
    let text = opts.text;
    if (text === undefined) {
      try {
        text = readFileSync(opts.file!, 'utf8');
      } catch (e) {
        throw new ConfigError({ source, path: '', expected: 'a readable config file', found: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
      }
    }
    file = parseConfigText(text, source);
  }
  const fromFile = file?.data.preset;
  const presetName = opts.preset ?? (typeof fromFile === 'string' ? fromFile : undefined);
  if (presetName !== undefined) {
    const layer = presetLayer(presetName);
    if (!layer) {
      const info = { path: 'preset', expected: `one of ${Object.keys(PRESETS).join(', ')}`, found: show(presetName) };
      throw new ConfigError(opts.preset !== undefined ? { ...info, source: '--preset' } : attribute([file!], ['preset'], info, false));
    }
    layers.push({ kind: 'preset', source: `preset ${presetName}`, data: layer as Raw });
  }
  if (file) layers.push(file);
  for (const o of opts.overrides ?? []) layers.push(parseOverride(o));
  const config = resolveLayers(layers);
  if (opts.taskNames && !opts.taskNames.includes(config.task.name)) {
    throw new ConfigError(attribute(layers, ['task', 'name'], { path: 'task.name', expected: `one of ${opts.taskNames.join(', ')}`, found: show(config.task.name) }, false));
  }
  return config;
}

function resolveLayers(layers: Layer[]): Config {
  // Grids start from their defaults so that `--set search.temperatures.step=0.05` refines them.
  let raw: Raw = { search: { temperatures: { ...DEFAULT_GRIDS.temperatures }, thresholds: { ...DEFAULT_GRIDS.thresholds } } };
  for (const l of layers) raw = l.kind === 'override' ? setIn(raw, l.path, l.value) : merge(raw, l.data);
  const r = ConfigSchema.safeParse(raw, { reportInput: true });
  const problems = r.success
    ? boundProblems(r.data).map((p) => attribute(layers, p.path.split('.'), p, false))
    : problemsOf(r.error.issues, layers);
  if (r.success && problems.length === 0) return r.data;
  throw new ConfigError(problems[0], problems);
}

/** The resolved config as YAML (what `runs/<name>/config.yaml` holds); loadConfig reads it back equal. */
export function serializeConfig(config: Config): string {
  return '# bstar run config (resolved: defaults, preset, file and overrides applied)\n' + stringify(config, { lineWidth: 0 });
}
