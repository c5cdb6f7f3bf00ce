// The records of a run directory's metrics.jsonl: one JSON line per iteration per phase, in the order
// the phases ran, and (their own record kind, "kind": "step") one line per optimizer step of SFT and
// self-training (every step up to stepRecords.allUpTo global steps, then every stepRecords.every-th),
// written just before the phase record of the training they belong to. Iteration 0 is the starting point (SFT and the evaluation of the SFT model);
// iterations 1…n are self-improvement iterations. Metric keys are slash-namespaced by phase
// (`eval/pass@1`, `search/temperature`); a value is null where it is undefined (e.g. distinct
// equations without a correct response). Everything except `timing` is a deterministic function of
// the config and seed (exact resume compares it bit for bit); `timing` is wall-clock.

import type { SearchCell } from '../methods/search.js';
import { JsonlError, jsonlLines, type JsonlLine, type JsonlText } from '../util/jsonl.js';

export const RECORDS_VERSION = 1;

export type Phase = 'sft' | 'search' | 'sample' | 'select' | 'train' | 'eval';
export const PHASES: readonly Phase[] = ['sft', 'search', 'sample', 'select', 'train', 'eval'];

/** Wall-clock cost of a phase. tokens = tokens processed by the phase's main work (generated or trained). */
export interface PhaseTiming {
  ms: number;
  tokens: number;
  tokensPerSecond: number;
}

/** A [lo, hi] confidence interval (level in the record's `ciLevel`). */
export type Ci = [number, number];

export interface MetricsRecord {
  v: typeof RECORDS_VERSION;
  /** Run name (the run dir's basename). */
  run: string;
  method: string;
  seed: number;
  iteration: number;
  phase: Phase;
  /** Slash-namespaced metric keys (see METRIC_KEYS), numbers or null. */
  metrics: Record<string, number | null>;
  /** Bootstrap CIs over queries for the mean metrics (eval phase), same keys as `metrics`. */
  ci?: Record<string, Ci | null>;
  ciLevel?: number;
  /** The whole (T, τ) table of the B-STaR search (search phase). */
  searchTable?: SearchCell[];
  timing: PhaseTiming;
}

/**
 * The keys each phase writes. `eval/*` means are over test queries (Pass@1 greedy; the others from
 * eval.samples ≥ K samples at eval.temperature); `sample/*` describe the iteration's training pool.
 */
export const METRIC_KEYS = {
  sft: ['sft/steps', 'sft/epochs', 'sft/examples', 'sft/loss-first', 'sft/loss-last', 'sft/lr-last'],
  search: ['search/temperature', 'search/threshold', 'search/query-effect', 'search/dev-queries', 'search/zero-signal'],
  sample: ['sample/temperature', 'sample/queries', 'sample/samples', 'sample/correct-rate', 'sample/zero-signal', 'sample/refilled', 'sample/pass@k', 'sample/distinct-equations', 'sample/unjudged'],
  select: ['select/threshold', 'select/selected', 'select/unique-correct', 'select/query-effect', 'select/zero-signal', 'select/empty-queries', 'select/cap'],
  train: ['train/steps', 'train/examples', 'train/loss-first', 'train/loss-last', 'train/loss-mean', 'train/lr-last', 'train/grad-norm-last', 'train/optimizer-step'],
  eval: ['eval/pass@1', 'eval/pass@k', 'eval/pass@k-s', 'eval/best-of-k', 'eval/reward@k-s', 'eval/distinct-equations', 'eval/k', 'eval/s', 'eval/queries', 'eval/samples-per-query', 'eval/temperature'],
} as const satisfies Record<Phase, readonly string[]>;

/**
 * An event line of metrics.jsonl (not a phase record): `config-change` when a resume was allowed to
 * continue with edited config keys (`bstar run --resume --allow-config-change`). Readers of phase
 * records skip events (isRunEvent).
 */
export interface RunEvent {
  v: typeof RECORDS_VERSION;
  run: string;
  event: 'config-change';
  /** The checkpoint the run resumed from (−1: none, it started over). */
  iteration: number;
  changes: Array<{ key: string; from: unknown; to: unknown }>;
}

/** Whether a parsed metrics.jsonl line is an event rather than a phase record. */
export function isRunEvent(r: unknown): r is RunEvent {
  return typeof r === 'object' && r !== null && typeof (r as { event?: unknown }).event === 'string';
}

/** The events of metrics.jsonl text (malformed lines are left to parseMetricsJsonl to report). */
export function parseRunEvents(text: string): RunEvent[] {
  const out: RunEvent[] = [];
  for (const { value } of jsonlLines(text, 'metrics.jsonl', { onBadLine: () => {} }).rows) if (isRunEvent(value)) out.push(value);
  return out;
}

/** The trainings that write step records: SFT, self-training, PRM training (`bstar prm train`). */
export type StepPhase = 'sft' | 'train' | 'prm';
export const STEP_PHASES: readonly StepPhase[] = ['sft', 'train', 'prm'];

/** The metrics of a step record. `step/tokens-per-second` is wall-clock (exact resume leaves it out). */
export const STEP_KEYS = ['step/loss', 'step/lr', 'step/grad-norm', 'step/tokens-per-second', 'step/padding'] as const;

/**
 * One optimizer step. `step` is 1-based within the phase's optimizer (it continues across iterations
 * when the optimizer does: Online RFT, B-STaR); `globalStep` is 1-based and monotonic over the whole
 * run, across phases and iterations. `step/padding` is the share of padded positions in the step.
 */
export interface StepRecord {
  v: typeof RECORDS_VERSION;
  kind: 'step';
  run: string;
  method: string;
  seed: number;
  iteration: number;
  phase: StepPhase;
  step: number;
  globalStep: number;
  metrics: Record<(typeof STEP_KEYS)[number], number | null>;
}

/** Whether step records go to the file at this global step: all up to `allUpTo`, then every `every`-th. */
export function keepStepRecord(globalStep: number, o: { allUpTo: number; every: number }): boolean {
  return globalStep <= o.allUpTo || globalStep % o.every === 0;
}

/** A record without its wall-clock part: what exact resume compares (`timing`; a step's tokens/s). */
export function deterministicPart(r: MetricsRecord): Omit<MetricsRecord, 'timing'>;
export function deterministicPart(r: StepRecord): StepRecord;
export function deterministicPart(r: MetricsRecord | StepRecord): Omit<MetricsRecord, 'timing'> | StepRecord {
  if ('kind' in r && r.kind === 'step') {
    const { 'step/tokens-per-second': _w, ...metrics } = r.metrics;
    return { ...r, metrics: metrics as StepRecord['metrics'] };
  }
  const { timing: _t, ...rest } = r as MetricsRecord;
  return rest;
}

/**
 * What a parsed metrics.jsonl line is: a phase record (no `kind`, or "kind": "phase"), a step record
 * ("kind": "step"), or neither (null).
 */
export function recordKind(r: unknown): 'phase' | 'step' | null {
  const rec = r as Partial<MetricsRecord & { kind: unknown }> | null;
  if (typeof rec !== 'object' || rec === null || typeof rec.iteration !== 'number' || typeof rec.metrics !== 'object' || rec.metrics === null) return null;
  if (rec.kind === 'step') {
    const s = r as Partial<StepRecord>;
    return STEP_PHASES.includes(s.phase as StepPhase) && typeof s.step === 'number' && typeof s.globalStep === 'number' ? 'step' : null;
  }
  return (rec.kind === undefined || rec.kind === 'phase') && PHASES.includes(rec.phase as Phase) ? 'phase' : null;
}

/** Parses metrics.jsonl text into its phase records and its step records, each in file order; a bad line names its line number. */
export function parseRunRecords(text: string, file = 'metrics.jsonl'): { records: MetricsRecord[]; steps: StepRecord[] } {
  const { records, steps } = runRecordsOf(metricsRows(text, file, 'error').rows, file);
  return { records, steps };
}

/** metrics.jsonl text's lines (the one JSONL reader); a line that is not a JSON object → RecordsError naming file:line. */
export function metricsRows(text: string, file: string, torn: 'error' | 'report'): JsonlText {
  try {
    return jsonlLines(text, file, { torn });
  } catch (e) {
    throw e instanceof JsonlError ? new RecordsError(e.message) : e;
  }
}

/** The phase and step records of metrics.jsonl lines (events skipped); anything else → RecordsError naming file:line. */
export function runRecordsOf(rows: readonly JsonlLine[], file: string): { records: MetricsRecord[]; steps: StepRecord[] } {
  const records: MetricsRecord[] = [];
  const steps: StepRecord[] = [];
  for (const { value: r, line, text } of rows) {
    if (isRunEvent(r)) continue;
    const kind = recordKind(r);
    if (kind === null) throw new RecordsError(`${file}:${line}: expected a metrics record {iteration, phase, metrics, …} or a step record {kind: "step", …}, found ${text.slice(0, 80)}`);
    if (kind === 'step') steps.push(r as unknown as StepRecord);
    else records.push(r as unknown as MetricsRecord);
  }
  return { records, steps };
}

/** Parses metrics.jsonl text into its phase records (step records are validated and skipped); a bad line names its line number. */
export function parseMetricsJsonl(text: string, file = 'metrics.jsonl'): MetricsRecord[] {
  return parseRunRecords(text, file).records;
}

export class RecordsError extends Error {
  override readonly name = 'RecordsError';
}

/**
 * progress.json: the records of the iteration in progress, rewritten (atomically) after each of its
 * phases and removed once the iteration is in metrics.jsonl and checkpointed. For the live report only.
 */
export interface Progress {
  v: typeof RECORDS_VERSION;
  iteration: number;
  /** The phase just finished. */
  phase: Phase;
  /** The iteration's records so far, in the order the phases ran (as they will appear in metrics.jsonl). */
  records: MetricsRecord[];
  /** The iteration's step records so far (those metrics.jsonl will get). */
  steps?: StepRecord[];
}
