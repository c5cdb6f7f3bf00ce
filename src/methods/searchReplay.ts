// Replaying a search strategy on a full-grid search that was logged (iterations/<i>/search.json and
// dev-samples.jsonl of a B-STaR run with search.strategy grid). A cheaper strategy only ever asks for
// (T, dev query) pairs the grid sampled, and those samples do not depend on what else is sampled
// (searchStrategy.ts), so the replay makes exactly the choice the strategy would have made live at
// that iteration, from the same model.
//
// Judged against the full grid on all dev queries:
//   same        the same (T, τ) as the grid's choice
//   withinCI    the grid's mean query effect of the strategy's (T, τ) lies inside the percentile
//               bootstrap CI (over dev queries) of the grid's best cell
//   pairedWithin the paired bootstrap CI of best − chosen (per dev query) contains 0
// and its cost: query samplings and generated tokens against the grid's. Two yardsticks say how much
// these rates mean: the share of grid cells inside the best cell's CI (what a random (T, τ) would
// score on withinCI), and the plain grid on a subset of the dev queries with the strategy's sampling
// cost (the first ⌊samplings / |T|⌋ dev queries), judged the same way.
import { bootstrapCI } from '../metrics/aggregate.js';
import { deriveSeed } from '../util/rng.js';
import type { Sample } from '../util/sample.js';
import type { ThresholdOptions } from './search.js';
import { runSearch, type DevSampler, type SearchStrategy } from './searchStrategy.js';
import { select } from './select.js';

export interface ReplayOutcome {
  grid: { temperature: number; threshold: number; meanQueryEffect: number; lo: number; hi: number };
  chosen: { temperature: number; threshold: number; gridQueryEffect: number };
  same: boolean;
  withinCI: boolean;
  pairedWithin: boolean;
  /** best − chosen, mean over dev queries, with its paired CI. */
  gap: { mean: number; lo: number; hi: number };
  queriesSampled: number;
  gridQueries: number;
  tokens: number;
  gridTokens: number;
  /** Share of the grid's cells whose mean query effect lies inside the best cell's CI. */
  cellsWithinCI: number;
  /** The grid on the first `queries` dev queries (the strategy's sampling cost), judged like the strategy. */
  subset: { queries: number; temperature: number; threshold: number; same: boolean; withinCI: boolean };
}

/** Per dev query, the query effect of (T, τ) on the grid's samples (null: left out, emptyQueries 'exclude'). */
export function cellQueryEffects(devIds: readonly string[], samplesAtT: readonly Sample[], opts: ThresholdOptions, threshold: number): (number | null)[] {
  const sel = select(devIds, samplesAtT, { ...opts, threshold });
  return sel.perQuery.map((q) => (opts.emptyQueries === 'exclude' && q.selected === 0 ? null : q.queryEffect));
}

export async function replaySearch(
  strategy: SearchStrategy,
  devIds: readonly string[],
  temperatures: readonly number[],
  devSamples: readonly Sample[],
  opts: ThresholdOptions,
  o: { budget: number; level: number; resamples: number; seed: number },
): Promise<ReplayOutcome> {
  const at = new Map<number, Sample[]>(temperatures.map((T) => [T, devSamples.filter((s) => s.temperature === T)]));
  let tokens = 0;
  const sampler: DevSampler = async (T, ids) => {
    const want = new Set(ids);
    const xs = at.get(T)!.filter((s) => want.has(s.queryId));
    tokens += xs.reduce((a, s) => a + s.tokens, 0);
    return xs;
  };
  const grid = await runSearch('grid', devIds, temperatures, sampler, opts);
  const gridTokens = tokens;
  tokens = 0;
  const cheap = await runSearch(strategy, devIds, temperatures, sampler, opts, o.budget);
  const cheapTokens = tokens;
  const best = cellQueryEffects(devIds, at.get(grid.temperature)!, opts, grid.threshold);
  const mine = cellQueryEffects(devIds, at.get(cheap.temperature)!, opts, cheap.threshold);
  const ci = bootstrapCI(best, { level: o.level, resamples: o.resamples, seed: deriveSeed(o.seed, 'replay-best') })!;
  const diffs = best.map((b, i) => (b === null || mine[i] === null ? null : b - mine[i]!));
  const gap = bootstrapCI(diffs, { level: o.level, resamples: o.resamples, seed: deriveSeed(o.seed, 'replay-gap') }) ?? { mean: 0, lo: 0, hi: 0 };
  const cellOf = (T: number, tau: number) => grid.table.find((c) => c.temperature === T && c.threshold === tau)!;
  const cell = cellOf(cheap.temperature, cheap.threshold);
  const nSub = Math.max(1, Math.floor(cheap.queriesSampled / temperatures.length));
  const sub = await runSearch('grid', devIds.slice(0, nSub), temperatures, sampler, opts);
  return {
    grid: { temperature: grid.temperature, threshold: grid.threshold, meanQueryEffect: grid.meanQueryEffect, lo: ci.lo, hi: ci.hi },
    chosen: { temperature: cheap.temperature, threshold: cheap.threshold, gridQueryEffect: cell.meanQueryEffect },
    same: cheap.temperature === grid.temperature && cheap.threshold === grid.threshold,
    withinCI: cell.meanQueryEffect >= ci.lo,
    pairedWithin: gap.lo <= 0 && gap.hi >= 0,
    gap: { mean: gap.mean, lo: gap.lo, hi: gap.hi },
    queriesSampled: cheap.queriesSampled,
    gridQueries: grid.gridQueries,
    tokens: cheapTokens,
    gridTokens,
    cellsWithinCI: grid.table.filter((c) => c.meanQueryEffect >= ci.lo).length / grid.table.length,
    subset: {
      queries: nSub,
      temperature: sub.temperature,
      threshold: sub.threshold,
      same: sub.temperature === grid.temperature && sub.threshold === grid.threshold,
      withinCI: cellOf(sub.temperature, sub.threshold).meanQueryEffect >= ci.lo,
    },
  };
}
