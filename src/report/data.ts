// What a report shows of a run directory, read tolerantly: a run that is still going or was killed
// mid-write still gives a report of what is complete. Only a missing run directory (no config.yaml)
// and a corrupt line in the middle of metrics.jsonl are errors; a trailing partial line (killed
// mid-write) and unreadable iteration files become notes shown on the page.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { metricsRows, PHASES, recordKind, runRecordsOf, type MetricsRecord, type Phase, type Progress, type StepRecord } from '../run/records.js';
import { RUN_FILES } from '../run/runDir.js';
import type { Sample } from '../util/sample.js';
import { jsonlLines } from '../util/jsonl.js';
import { runLiveness } from '../run/status.js';

/** At most this many queries per iteration go into the page's sample browser … */
export const BROWSER_QUERIES = 12;
/** … each with at most this many samples, each text cut to this many characters. */
export const BROWSER_SAMPLES = 16;
export const BROWSER_TEXT = 600;

export interface BrowserSample {
  /** Sample.id (absent in runs written before samples had ids). */
  id?: string;
  text: string;
  truncated: boolean;
  reward: number;
  correct: boolean;
  answer: string | null;
  temperature: number;
  prmSteps?: number[];
  selected: boolean;
  gold?: boolean;
}

export interface BrowserQuery {
  queryId: string;
  /** Samples drawn for the query this iteration (before the cap). */
  total: number;
  samples: BrowserSample[];
}

export interface BrowserIteration {
  iteration: number;
  /** Which file the samples came from: the training pool, or the evaluation samples (iteration 0). */
  source: 'samples.jsonl' | 'eval-samples.jsonl';
  /** Queries in the file (before the cap). */
  totalQueries: number;
  queries: BrowserQuery[];
}

export interface RunData {
  dir: string;
  name: string;
  method: string;
  seed: number;
  task: string;
  configText: string;
  config: Record<string, unknown>;
  records: MetricsRecord[];
  /** The per-step records (kind "step") in file order. */
  steps: StepRecord[];
  /**
   * The iteration in progress (progress.json): its phases finished so far. Null when there is none,
   * or when it is stale (its iteration is already in metrics.jsonl).
   */
  progress: Progress | null;
  /** The run finished: summary.json is there, or the last iteration's evaluation is recorded. Otherwise it is in progress or was interrupted. */
  finished: boolean;
  /** Unfinished and still going (its process is alive, or cannot be checked): the page reloads itself. */
  live: boolean;
  /** Unfinished and known not to be going (paused, failed, process gone): the sentence saying so. */
  stopped: string | null;
  /** Planned self-improvement iterations (config `iterations`). */
  iterations: number | null;
  browser: BrowserIteration[];
  /** Things the reader must know (truncated files, unreadable iteration files). */
  notes: string[];
  /** metrics.jsonl's modification time (ISO), or null. */
  updated: string | null;
}

export class ReportError extends Error {
  override readonly name = 'ReportError';
}

/**
 * metrics.jsonl → records. A last line without its newline or that is not JSON is a write cut short
 * (the run was killed): it is dropped and reported in `note`. Any other bad line throws RecordsError
 * naming the line.
 */
export function parseMetricsTolerant(text: string, file: string): { records: MetricsRecord[]; steps: StepRecord[]; note: string | null } {
  const { rows, torn, unterminated } = metricsRows(text, file, 'report');
  const { records, steps } = runRecordsOf(rows, file);
  let note: string | null = null;
  if (torn) {
    note = `${file}: line ${torn.line} is incomplete (${torn.text.length} bytes without a newline; the run was probably killed while writing it); the report shows the ${records.length} complete records${steps.length ? ` and ${steps.length} step records` : ''} before it.`;
  } else if (unterminated) {
    note = `${file}: the last line has no newline yet (still being written?); it is shown.`;
  }
  return { records, steps, note };
}

const isRecord = (r: unknown): r is MetricsRecord => {
  const rec = r as Partial<MetricsRecord> | null;
  return typeof rec === 'object' && rec !== null && typeof rec.iteration === 'number' && PHASES.includes(rec.phase as Phase) && typeof rec.metrics === 'object' && rec.metrics !== null && typeof rec.timing === 'object' && rec.timing !== null;
};

/**
 * progress.json → the iteration in progress, or null (none, stale: its iteration is already among the
 * complete records, or unreadable: a note says why).
 */
export function readProgress(file: string, records: readonly MetricsRecord[], notes: string[]): Progress | null {
  if (!existsSync(file)) return null;
  let p: Partial<Progress>;
  try {
    p = JSON.parse(readFileSync(file, 'utf8')) as Partial<Progress>;
  } catch (e) {
    notes.push(`${file}: not JSON (${(e as Error).message}); the iteration in progress is not shown.`);
    return null;
  }
  const stepsOk = p?.steps === undefined || (Array.isArray(p.steps) && p.steps.every((s) => recordKind(s) === 'step' && s.iteration === p.iteration));
  if (typeof p !== 'object' || p === null || typeof p.iteration !== 'number' || !PHASES.includes(p.phase as Phase) || !Array.isArray(p.records) || !p.records.every(isRecord) || p.records.some((r) => r.iteration !== p.iteration) || !stepsOk) {
    notes.push(`${file}: expected {iteration, phase, records: [metrics records of that iteration], steps?: [its step records]}; the iteration in progress is not shown.`);
    return null;
  }
  if (records.some((r) => r.iteration >= (p.iteration as number))) return null; // stale: the iteration is complete
  return p as Progress;
}

/** Reads a JSONL file of samples; a partial last line is dropped (with a note), other bad lines too. */
function readSamples(file: string, notes: string[]): Sample[] | null {
  if (!existsSync(file)) return null;
  let bad = 0;
  const { rows } = jsonlLines(readFileSync(file, 'utf8'), file, { onBadLine: () => bad++ });
  const out: Sample[] = [];
  for (const { value: s } of rows) {
    if (typeof s.queryId === 'string' && typeof s.text === 'string') out.push(s as unknown as Sample);
    else bad++;
  }
  if (bad) notes.push(`${file}: ${bad} unreadable line(s) skipped in the sample browser.`);
  return out;
}

const contentKey = (s: Sample) => JSON.stringify([s.queryId, s.text, s.reward, s.correct, s.temperature, s.gold ?? false]);

/**
 * Which samples of the pool are in the selection: by sample id (each selected line marks exactly the
 * pool sample with its id). Runs written before samples had ids: each selected line marks one pool
 * sample with the same content (the first not yet marked), so k identical selected lines mark k of
 * the identical pool samples, never all of them.
 */
export function selectedFlags(pool: readonly Sample[], selected: readonly Sample[]): boolean[] {
  const ids = new Set(selected.filter((s) => s.id !== undefined).map((s) => s.id));
  const left = new Map<string, number>();
  for (const s of selected) if (s.id === undefined) left.set(contentKey(s), (left.get(contentKey(s)) ?? 0) + 1);
  return pool.map((s) => {
    if (s.id !== undefined && ids.has(s.id)) return true;
    const k = contentKey(s);
    const n = left.get(k) ?? 0;
    if (s.id !== undefined && ids.size > 0) return false; // id'd run: only ids count
    if (n === 0) return false;
    left.set(k, n - 1);
    return true;
  });
}

/** The sample browser's data for one iteration directory (capped; see BROWSER_*). */
export function browserIteration(iterDir: string, iteration: number, notes: string[]): BrowserIteration | null {
  let source: BrowserIteration['source'] = 'samples.jsonl';
  let samples = readSamples(path.join(iterDir, 'samples.jsonl'), notes);
  if (samples === null) {
    source = 'eval-samples.jsonl';
    samples = readSamples(path.join(iterDir, 'eval-samples.jsonl'), notes);
  }
  if (samples === null || samples.length === 0) return null;
  const flags = selectedFlags(samples, source === 'samples.jsonl' ? readSamples(path.join(iterDir, 'selected.jsonl'), notes) ?? [] : []);
  const selected = new Set(samples.filter((_, i) => flags[i]));
  const byQuery = new Map<string, Sample[]>();
  for (const s of samples) {
    if (source === 'eval-samples.jsonl' && s.temperature === 0) continue; // greedy answers: one per query, not a K-sample pool
    const l = byQuery.get(s.queryId);
    if (l) l.push(s);
    else byQuery.set(s.queryId, [s]);
  }
  const queries = [...byQuery.entries()].slice(0, BROWSER_QUERIES).map(([queryId, ss]): BrowserQuery => ({
    queryId,
    total: ss.length,
    samples: ss.slice(0, BROWSER_SAMPLES).map((s) => {
      const b: BrowserSample = {
        text: s.text.slice(0, BROWSER_TEXT),
        truncated: s.text.length > BROWSER_TEXT,
        reward: s.reward,
        correct: s.correct,
        answer: s.answer,
        temperature: s.temperature,
        selected: selected.has(s),
      };
      if (s.id !== undefined) b.id = s.id;
      if (s.prmSteps) b.prmSteps = s.prmSteps;
      if (s.gold) b.gold = true;
      return b;
    }),
  }));
  return { iteration, source, totalQueries: byQuery.size, queries };
}

/** Reads a run directory for the report. Throws ReportError when `dir` is not a run directory. */
export function readRunData(dir: string): RunData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ReportError(`${dir}: no such directory (expected a run directory made by \`bstar run\`)`);
  const cfgFile = path.join(dir, RUN_FILES.config);
  const metricsFile = path.join(dir, RUN_FILES.metrics);
  if (!existsSync(cfgFile) || !existsSync(metricsFile)) {
    throw new ReportError(`${dir}: not a run directory (expected ${RUN_FILES.config} and ${RUN_FILES.metrics}, made by \`bstar run\`; missing ${[cfgFile, metricsFile].filter((f) => !existsSync(f)).map((f) => path.basename(f)).join(' and ')})`);
  }
  const notes: string[] = [];
  const configText = readFileSync(cfgFile, 'utf8');
  let config: Record<string, unknown> = {};
  try {
    const c = parseYaml(configText) as unknown;
    if (c && typeof c === 'object') config = c as Record<string, unknown>;
  } catch (e) {
    notes.push(`${cfgFile}: not readable YAML (${(e as Error).message.split('\n')[0]}); the config is shown as text.`);
  }
  const { records, steps, note } = parseMetricsTolerant(readFileSync(metricsFile, 'utf8'), metricsFile);
  if (note) notes.push(note);
  const progress = readProgress(path.join(dir, RUN_FILES.progress), records, notes);
  const its = [...new Set(records.map((r) => r.iteration))].sort((a, b) => a - b);
  const browser: BrowserIteration[] = [];
  for (const i of its) {
    const b = browserIteration(path.join(dir, 'iterations', String(i)), i, notes);
    if (b) browser.push(b);
  }
  const task = (config.task as { name?: unknown } | undefined)?.name;
  const name = path.basename(path.resolve(dir));
  const finished = existsSync(path.join(dir, RUN_FILES.summary)) || (typeof config.iterations === 'number' && records.some((r) => r.phase === 'eval' && r.iteration === config.iterations));
  return {
    dir,
    name,
    method: records[0]?.method ?? String(config.method ?? '?'),
    seed: records[0]?.seed ?? (typeof config.seed === 'number' ? config.seed : 0),
    task: typeof task === 'string' ? task : '?',
    configText,
    config,
    records,
    steps,
    progress,
    finished,
    ...runLiveness(dir, finished),
    iterations: typeof config.iterations === 'number' ? config.iterations : null,
    browser,
    notes,
    updated: statSync(metricsFile).mtime.toISOString(),
  };
}
