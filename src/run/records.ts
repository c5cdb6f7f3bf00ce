// The records of a run directory's metrics.jsonl: one JSON line per iteration per phase, in the order
// the phases ran, and (kind "step", StepRecord) one line per optimizer step of the training phases.
// Iteration 0 is the starting point (SFT and the evaluation of the SFT model);
// iterations 1…n are self-improvement iterations. Metric keys are slash-namespaced by phase
// (`eval/pass@1`, `search/temperature`); a value is null where it is undefined (e.g. distinct
// equations without a correct response). Everything except `timing` is a deterministic function of
// the config and seed (exact resume compares it bit for bit); `timing` is wall-clock.

import type { SearchCell } from '../methods/search.js';

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

export type StepPhase = 'sft' | 'train' | 'prm';
export const STEP_PHASES: readonly StepPhase[] = ['sft', 'train', 'prm'];
/** The keys of a step record's metrics. */
export const STEP_METRIC_KEYS = ['step/loss', 'step/lr', 'step/grad-norm', 'step/tokens-per-second', 'step/padding'] as const;

/**
 * One optimizer step (kind "step"). `step` counts the steps of this phase's optimizer (1-based);
 * `globalStep` counts every optimizer step of the run (1-based, monotonic), the x axis of step curves.
 * Phase records carry no `kind` (or kind "phase").
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
  /** STEP_METRIC_KEYS: loss, lr, grad-norm, tokens-per-second, padding (share of padded positions, 0..1). */
  metrics: Record<string, number | null>;
}

/** A parsed metrics.jsonl line: a step record, or a phase record (throws RecordsError naming `where` for anything else). */
export function classifyRecord(r: unknown, where: string, line: string): { step: StepRecord } | { phase: MetricsRecord } {
  const rec = r as (Partial<MetricsRecord> & { kind?: unknown }) | null;
  if (typeof rec === 'object' && rec !== null && rec.kind === 'step') {
    const s = r as Partial<StepRecord>;
    const int1 = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 1;
    if (typeof s.iteration !== 'number' || !STEP_PHASES.includes(s.phase as StepPhase) || !int1(s.step) || !int1(s.globalStep) || typeof s.metrics !== 'object' || s.metrics === null) {
      throw new RecordsError(`${where}: expected a step record {kind: "step", iteration, phase: sft|train|prm, step ≥ 1, globalStep ≥ 1, metrics}, found ${line.slice(0, 80)}`);
    }
    return { step: s as StepRecord };
  }
  if (typeof rec !== 'object' || rec === null || (rec.kind !== undefined && rec.kind !== 'phase') || typeof rec.iteration !== 'number' || !PHASES.includes(rec.phase as Phase) || typeof rec.metrics !== 'object' || rec.metrics === null) {
    throw new RecordsError(`${where}: expected a metrics record {iteration, phase, metrics, …}, found ${line.slice(0, 80)}`);
  }
  return { phase: rec as MetricsRecord };
}

/** A record without its wall-clock part: what exact resume compares. */
export function deterministicPart(r: MetricsRecord): Omit<MetricsRecord, 'timing'> {
  const { timing: _t, ...rest } = r;
  return rest;
}

/** Parses metrics.jsonl text into its phase records (step records are skipped: parseStepRecords); a bad line names its line number. */
export function parseMetricsJsonl(text: string, file = 'metrics.jsonl'): MetricsRecord[] {
  return parseMetricsLines(text, file).records;
}

/** The step records of metrics.jsonl text, in file order. */
export function parseStepRecords(text: string, file = 'metrics.jsonl'): StepRecord[] {
  return parseMetricsLines(text, file).steps;
}

/** Both kinds of metrics.jsonl records; a bad line names its line number. */
export function parseMetricsLines(text: string, file = 'metrics.jsonl'): { records: MetricsRecord[]; steps: StepRecord[] } {
  const out: MetricsRecord[] = [];
  const steps: StepRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new RecordsError(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    const c = classifyRecord(r, `${file}:${i + 1}`, line);
    if ('step' in c) steps.push(c.step);
    else out.push(c.phase);
  });
  return { records: out, steps };
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
}
