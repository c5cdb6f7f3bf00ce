// Cheaper B-STaR searches (`search.strategy`), next to the paper's full grid.
//
//   grid      (paper, default) every T of the grid on every dev query: |T| · D · K samples.
//   halving   successive halving over T (Karnin et al. 2013, "sequential halving"): in round r every
//             surviving T is sampled on a longer prefix of the dev subset, the temperatures are ranked
//             by their best mean query effect over τ on that common prefix, and the better half
//             (rounded up) survives; ⌈log2 |T|⌉ rounds, each spending an equal share of
//             `search.budget` · |T| · D query samplings (K samples each). τ is then chosen at the last
//             T on every query it was sampled on, exactly as searchConfig does.
//
// Each dev query's samples at T depend only on (seed, iteration, T, query id, sample index) (the
// sampler's contract), so sampling a prefix in pieces over rounds gives exactly the samples the full
// grid draws for those (T, query) pairs: a strategy can be replayed on a full-grid run's logged
// dev-samples.jsonl (`replaySearch`) and makes, there, exactly the choice it would have made live.
import type { Sample } from '../util/sample.js';
import { searchConfig, type SearchResult, type ThresholdOptions } from './search.js';
import { SelectionError } from './select.js';

export type SearchStrategy = 'grid' | 'halving';

/** One round of a strategy: which temperatures were sampled on the first `queries` dev queries. */
export interface SearchRound {
  temperatures: number[];
  queries: number;
}

export interface StrategyResult extends SearchResult {
  strategy: SearchStrategy;
  /** The dev subset in the order the strategy takes its prefixes (logged for replay). */
  devIds: string[];
  rounds: SearchRound[];
  /** Query samplings (K samples each) spent, and what the full grid spends (|T| · D). */
  queriesSampled: number;
  gridQueries: number;
}

/** Samples of the dev queries `ids` at temperature T (only queries not sampled before are asked for). */
export type DevSampler = (temperature: number, ids: readonly string[]) => Promise<readonly Sample[]>;

/**
 * The plan of successive halving before any sampling: the prefix length of each round for a given
 * number of survivors. Exported for tests. Example: halvingPrefix(64, 5, 0.4) → rounds of 5, 3, 2
 * temperatures on 8, 22, 43 queries (124 of 320 query samplings).
 */
export function halvingPrefixes(devSize: number, temperatures: number, budget: number): { survivors: number; queries: number }[] {
  if (!(budget > 0 && budget <= 1)) throw new SelectionError('search.budget', 'a fraction in (0, 1]', budget);
  if (temperatures < 1 || devSize < 1) return [];
  if (temperatures === 1) return [{ survivors: 1, queries: devSize }];
  const rounds = Math.ceil(Math.log2(temperatures));
  const perRound = (budget * temperatures * devSize) / rounds;
  const out: { survivors: number; queries: number }[] = [];
  let alive = temperatures;
  let n = 0;
  for (let r = 0; r < rounds && alive > 1; r++) {
    n = Math.min(devSize, n + Math.max(1, Math.floor(perRound / alive)));
    out.push({ survivors: alive, queries: n });
    alive = Math.ceil(alive / 2);
  }
  return out;
}

/** The best mean query effect over τ of one temperature, from a search table. */
function bestOf(result: SearchResult, T: number): number {
  return Math.max(...result.table.filter((c) => c.temperature === T).map((c) => c.meanQueryEffect));
}

/**
 * Runs a search strategy over the dev subset `devIds` (in its fixed order) and the grids of `opts`.
 * `sample` is called once per (T, new queries); the grid strategy asks for every T on every query and
 * returns searchConfig's result unchanged. For halving, the logged table holds each sampled T on the
 * queries it was sampled on (so its cells are over different numbers of queries).
 */
export async function runSearch(strategy: SearchStrategy, devIds: readonly string[], temperatures: readonly number[], sample: DevSampler, opts: ThresholdOptions, budget = 0.4): Promise<StrategyResult> {
  const D = devIds.length;
  const gridQueries = temperatures.length * D;
  if (strategy === 'grid') {
    const byTemperature = [];
    for (const T of temperatures) byTemperature.push({ temperature: T, samples: await sample(T, devIds) });
    const res = searchConfig(devIds, byTemperature, opts);
    return { ...res, strategy, devIds: [...devIds], rounds: [{ temperatures: [...temperatures], queries: D }], queriesSampled: gridQueries, gridQueries };
  }
  if (strategy !== 'halving') throw new SelectionError('search.strategy', '"grid" or "halving"', strategy);
  const have = new Map<number, { n: number; samples: Sample[] }>(temperatures.map((T) => [T, { n: 0, samples: [] }]));
  let alive = [...temperatures];
  const rounds: SearchRound[] = [];
  let spent = 0;
  for (const { queries } of halvingPrefixes(D, temperatures.length, budget)) {
    for (const T of alive) {
      const h = have.get(T)!;
      if (queries > h.n) {
        h.samples.push(...(await sample(T, devIds.slice(h.n, queries))));
        spent += queries - h.n;
        h.n = queries;
      }
    }
    rounds.push({ temperatures: [...alive], queries });
    const round = searchConfig(devIds.slice(0, queries), alive.map((T) => ({ temperature: T, samples: have.get(T)!.samples })), opts);
    // rank by the best qe over τ on the common prefix; ties → lower T; keep the better half
    const ranked = [...alive].sort((a, b) => bestOf(round, b) - bestOf(round, a) || a - b);
    alive = ranked.slice(0, Math.ceil(alive.length / 2)).sort((a, b) => a - b);
  }
  if (rounds.length === 0) throw new SelectionError('search', 'a non-empty dev subset and temperature grid', `${D} queries, ${temperatures.length} temperatures`);
  // the winner, and τ on every query it was sampled on; the logged table: each T on its own queries
  const T = alive[0];
  const own = (t: number) => searchConfig(devIds.slice(0, have.get(t)!.n), [{ temperature: t, samples: have.get(t)!.samples }], opts);
  const final = own(T);
  const perT = temperatures.filter((t) => have.get(t)!.n > 0).map(own);
  return {
    ...final,
    table: perT.flatMap((r) => r.table),
    zeroSignal: perT.flatMap((r) => r.zeroSignal),
    strategy,
    devIds: [...devIds],
    rounds,
    queriesSampled: spent,
    gridQueries,
  };
}
