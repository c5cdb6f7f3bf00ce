// The B-STaR configuration search (paper §3.3, Algorithm 1): on a fixed dev subset, for each sampling
// temperature T the samples are drawn and scored once; for each threshold τ the average query effect
// is computed from those same scored samples (no re-sampling per τ). The argmax (T, τ) configures the
// next iteration; the whole table is returned for the run log.
//
// Pure: it takes the scored samples per temperature, nothing else. Ties: the lower temperature wins,
// then the higher threshold (paper default; `thresholdTies: 'lower'` is the official code's first
// strict maximum over ascending τ). Ties are exact equality: equal selections give bit-equal means.
//
// The official code keeps only T from the dev search and re-chooses τ on the training pool
// (`thresholdSearchOn: 'pool'`): chooseThreshold does that at a fixed T on any pool.

import type { Sample } from '../util/sample.js';
import { rankPools, selectRanked, SelectionError, type PoolOptions, type SelectOptions } from './select.js';

/** An inclusive arithmetic grid, e.g. {from: 0.5, to: 1.2, step: 0.1}. */
export interface GridSpec {
  from: number;
  to: number;
  step: number;
}

/** Decimal places of a number as written (0.05 → 2, 1e-3 → 3), capped at 12. */
function decimals(x: number): number {
  for (let d = 0; d <= 12; d++) if (Math.abs(Math.round(x * 10 ** d) - x * 10 ** d) < 1e-9) return d;
  return 12;
}

/**
 * The grid's values without floating-point drift: from + i·step for integer i, rounded to the finest
 * decimal places among from/to/step. `to` is included when it lies on the grid (within 1e-9 steps).
 * Example: gridValues({from: -1, to: 1, step: 0.1}) → [-1, -0.9, …, 0, …, 1] (21 values, exact decimals).
 */
export function gridValues(spec: GridSpec): number[] {
  const { from, to, step } = spec;
  for (const [k, v] of Object.entries({ from, to, step })) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SelectionError(`grid.${k}`, 'a finite number', v);
  }
  if (!(step > 0)) throw new SelectionError('grid.step', 'a number > 0', step);
  if (to < from) throw new SelectionError('grid.to', `≥ grid.from (${from})`, to);
  const count = Math.floor((to - from) / step + 1e-9) + 1;
  if (count > 100_000) throw new SelectionError('grid', 'at most 100000 values', count);
  const scale = 10 ** Math.max(decimals(from), decimals(to), decimals(step));
  return Array.from({ length: count }, (_, i) => Math.round((from + i * step) * scale) / scale);
}

export interface ThresholdOptions extends Omit<SelectOptions, 'threshold'>, PoolOptions {
  thresholds: readonly number[];
  /** Which τ wins a tie: 'higher' (default) or 'lower' (official). */
  thresholdTies?: 'higher' | 'lower';
}

export interface SearchCell {
  temperature: number;
  threshold: number;
  meanQueryEffect: number;
  /** Total selected and unique-correct samples over the dev queries. */
  selected: number;
  uniqueCorrect: number;
  /** Queries with nothing selected. */
  emptyQueries: number;
  /** The per-query cap applied (fixed-size k), or null. */
  cap: number | null;
}

export interface ThresholdChoice {
  threshold: number;
  meanQueryEffect: number;
  /** One cell per threshold, in the given order (temperature as given to chooseThreshold). */
  curve: SearchCell[];
  /** Queries without a correct sample (the same for every τ). */
  zeroSignalQueries: number;
}

function checkGrid(field: string, values: readonly number[]): void {
  if (values.length === 0) throw new SelectionError(field, 'a non-empty list', '[]');
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SelectionError(`${field}[${i}]`, 'a finite number', v);
  });
  if (new Set(values).size !== values.length) throw new SelectionError(field, 'distinct values', `[${values.join(', ')}]`);
}

/** a beats b: higher qe, then lower T, then higher (or lower) τ. */
function beats(a: SearchCell, b: SearchCell, ties: 'higher' | 'lower'): boolean {
  if (a.meanQueryEffect !== b.meanQueryEffect) return a.meanQueryEffect > b.meanQueryEffect;
  if (a.temperature !== b.temperature) return a.temperature < b.temperature;
  return ties === 'higher' ? a.threshold > b.threshold : a.threshold < b.threshold;
}

function argmax(cells: readonly SearchCell[], ties: 'higher' | 'lower'): SearchCell {
  return cells.reduce((best, c) => (beats(c, best, ties) ? c : best));
}

/**
 * The best τ at one temperature on a given pool (dev subset or, official, the training pool).
 * Example: chooseThreshold(ids, samplesAtT, {thresholds: gridValues({from: -1, to: 1, step: 0.1}), nStar: 8}, 1.0).
 */
export function chooseThreshold(queryIds: readonly string[], samples: readonly Sample[], opts: ThresholdOptions, temperature = NaN): ThresholdChoice {
  checkGrid('thresholds', opts.thresholds);
  const ties = opts.thresholdTies ?? 'higher';
  if (ties !== 'higher' && ties !== 'lower') throw new SelectionError('thresholdTies', '"higher" or "lower"', ties);
  const pools = rankPools(queryIds, samples, opts);
  let zeroSignalQueries = 0;
  const curve = opts.thresholds.map((threshold): SearchCell => {
    const sel = selectRanked(pools, { ...opts, threshold });
    zeroSignalQueries = sel.zeroSignalQueries;
    return {
      temperature,
      threshold,
      meanQueryEffect: sel.meanQueryEffect,
      selected: sel.samples.length,
      uniqueCorrect: sel.perQuery.reduce((s, q) => s + q.uniqueCorrect, 0),
      emptyQueries: sel.emptyQueries,
      cap: sel.cap,
    };
  });
  const best = argmax(curve, ties);
  return { threshold: best.threshold, meanQueryEffect: best.meanQueryEffect, curve, zeroSignalQueries };
}

export interface TemperatureSamples {
  temperature: number;
  /** The dev queries' scored samples at this temperature (K per query, sampled and rewarded once). */
  samples: readonly Sample[];
}

export interface SearchResult {
  temperature: number;
  threshold: number;
  meanQueryEffect: number;
  /** Every (T, τ) cell, temperatures in the given order, thresholds in grid order. */
  table: SearchCell[];
  /** Queries without a correct sample, per temperature. */
  zeroSignal: { temperature: number; queries: number }[];
}

/**
 * Picks (T, τ) maximising the average query effect over the dev queries.
 * Example: searchConfig(devIds, [{temperature: 0.5, samples: s05}, {temperature: 0.6, samples: s06}],
 *   {thresholds: [-0.1, 0, 0.1], nStar: 4}) → {temperature, threshold, meanQueryEffect, table: 6 cells, zeroSignal}.
 */
export function searchConfig(queryIds: readonly string[], byTemperature: readonly TemperatureSamples[], opts: ThresholdOptions): SearchResult {
  checkGrid('temperatures', byTemperature.map((t) => t.temperature));
  byTemperature.forEach((t, i) => {
    if (t.temperature < 0) throw new SelectionError(`temperatures[${i}]`, 'a number ≥ 0', t.temperature);
    const j = t.samples.findIndex((s) => s.temperature !== t.temperature);
    if (j >= 0) throw new SelectionError(`byTemperature[${i}].samples[${j}].temperature`, `${t.temperature} (the row it is listed under)`, t.samples[j].temperature);
  });
  const table: SearchCell[] = [];
  const zeroSignal: SearchResult['zeroSignal'] = [];
  for (const { temperature, samples } of byTemperature) {
    const choice = chooseThreshold(queryIds, samples, opts, temperature);
    table.push(...choice.curve);
    zeroSignal.push({ temperature, queries: choice.zeroSignalQueries });
  }
  const best = argmax(table, opts.thresholdTies ?? 'higher');
  return { temperature: best.temperature, threshold: best.threshold, meanQueryEffect: best.meanQueryEffect, table, zeroSignal };
}
