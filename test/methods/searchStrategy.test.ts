// search.strategy: the full grid reproduces searchConfig; successive halving samples only the planned
// (T, dev-prefix) pairs, within its budget, and picks a clearly dominant temperature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { searchConfig } from '../../src/methods/search.js';
import { halvingPrefixes, runSearch, type DevSampler } from '../../src/methods/searchStrategy.js';
import { Rng } from '../../src/util/rng.js';
import type { Sample } from '../../src/util/sample.js';
import { mk } from './helpers.js';

/** K samples per query and T: P(correct) 0.4 at `best`, 0.1 elsewhere; distinct texts, so each counts as unique. */
function synthetic(ids: readonly string[], temps: readonly number[], K: number, best: number, seed = 1): Map<number, Sample[]> {
  const rng = new Rng(seed);
  const out = new Map<number, Sample[]>();
  for (const T of temps) {
    const p = T === best ? 0.4 : 0.1;
    const xs: Sample[] = [];
    for (const id of ids) for (let j = 0; j < K; j++) {
      const ok = rng.float() < p;
      xs.push(mk(id, `${id}-${T}-${j}`, ok ? 1 + (rng.float() < 0.5 ? 0.5 : 1) : 0, ok, T));
    }
    out.set(T, xs);
  }
  return out;
}

function logged(all: Map<number, Sample[]>, calls: { T: number; ids: string[] }[]): DevSampler {
  return async (T, ids) => {
    calls.push({ T, ids: [...ids] });
    const want = new Set(ids);
    return all.get(T)!.filter((s) => want.has(s.queryId));
  };
}

const opts = { thresholds: [0.5, 1.2, 1.7], nStar: 2 };

test('halving plans: rounds, prefixes and cost (hand-computed)', () => {
  // 5 T, 64 queries, 40 %: 3 rounds of 42.67 query samplings: +8 for 5, +14 for 3, +21 for 2
  assert.deepEqual(halvingPrefixes(64, 5, 0.4), [{ survivors: 5, queries: 8 }, { survivors: 3, queries: 22 }, { survivors: 2, queries: 43 }]);
  // 3 T: 2 rounds of 38.4: +12 for 3, +19 for 2 → 36 + 38 = 74 of 192 (38.5 %)
  assert.deepEqual(halvingPrefixes(64, 3, 0.4), [{ survivors: 3, queries: 12 }, { survivors: 2, queries: 31 }]);
  // 8 T: 3 rounds of 68.27: +8 for 8, +17 for 4, +34 for 2
  assert.deepEqual(halvingPrefixes(64, 8, 0.4), [{ survivors: 8, queries: 8 }, { survivors: 4, queries: 25 }, { survivors: 2, queries: 59 }]);
  assert.deepEqual(halvingPrefixes(64, 1, 0.4), [{ survivors: 1, queries: 64 }]);
  assert.throws(() => halvingPrefixes(64, 3, 0), /search\.budget must be a fraction in \(0, 1\], found 0/);
});

test("strategy 'grid' is searchConfig over every T and query", async () => {
  const ids = Array.from({ length: 20 }, (_, i) => `q${i}`);
  const temps = [0.5, 0.8, 1.1];
  const all = synthetic(ids, temps, 8, 0.8);
  const calls: { T: number; ids: string[] }[] = [];
  const r = await runSearch('grid', ids, temps, logged(all, calls), opts);
  const want = searchConfig(ids, temps.map((T) => ({ temperature: T, samples: all.get(T)! })), opts);
  assert.deepEqual({ temperature: r.temperature, threshold: r.threshold, meanQueryEffect: r.meanQueryEffect, table: r.table, zeroSignal: r.zeroSignal }, want);
  assert.deepEqual(calls.map((c) => [c.T, c.ids.length]), [[0.5, 20], [0.8, 20], [1.1, 20]]);
  assert.equal(r.queriesSampled, 60);
  assert.equal(r.gridQueries, 60);
});

test("strategy 'halving': only the planned prefixes are sampled, once each, within budget; the dominant T wins", async () => {
  const ids = Array.from({ length: 64 }, (_, i) => `q${i}`);
  const temps = [0.4, 0.6, 0.8, 1.0, 1.2];
  for (const best of temps) {
    const all = synthetic(ids, temps, 8, best, Math.round(best * 10));
    const calls: { T: number; ids: string[] }[] = [];
    const r = await runSearch('halving', ids, temps, logged(all, calls), opts, 0.4);
    assert.equal(r.temperature, best, `dominant T ${best}`);
    assert.ok(r.queriesSampled <= 0.4 * 5 * 64, `${r.queriesSampled} query samplings`);
    assert.equal(r.queriesSampled, calls.reduce((n, c) => n + c.ids.length, 0));
    // each (T, query) at most once, and always a prefix of the dev order
    for (const T of temps) {
      const got = calls.filter((c) => c.T === T).flatMap((c) => c.ids);
      assert.equal(new Set(got).size, got.length);
      assert.deepEqual(got, ids.slice(0, got.length));
    }
    assert.deepEqual(r.rounds.map((x) => x.temperatures.length), [5, 3, 2]);
    // τ is chosen at the winner on every query it was sampled on
    const n = calls.filter((c) => c.T === best).reduce((k, c) => k + c.ids.length, 0);
    const at = searchConfig(ids.slice(0, n), [{ temperature: best, samples: all.get(best)!.filter((s) => ids.slice(0, n).includes(s.queryId)) }], opts);
    assert.equal(r.threshold, at.threshold);
    assert.equal(r.meanQueryEffect, at.meanQueryEffect);
  }
});

test('replaySearch: the grid against itself is the same choice at full cost; halving is judged on the grid\'s cells', async () => {
  const { replaySearch, cellQueryEffects } = await import('../../src/methods/searchReplay.js');
  const ids = Array.from({ length: 64 }, (_, i) => `q${i}`);
  const temps = [0.4, 0.6, 0.8, 1.0, 1.2];
  const all = synthetic(ids, temps, 8, 0.8, 7);
  const samples = temps.flatMap((T) => all.get(T)!);
  const o = { budget: 0.4, level: 0.9, resamples: 500, seed: 3 };
  const self = await replaySearch('grid', ids, temps, samples, opts, o);
  assert.ok(self.same && self.withinCI && self.pairedWithin);
  assert.equal(self.tokens, self.gridTokens);
  assert.deepEqual(self.gap, { mean: 0, lo: 0, hi: 0 });
  const half = await replaySearch('halving', ids, temps, samples, opts, o);
  assert.equal(half.grid.temperature, 0.8);
  assert.equal(half.chosen.temperature, 0.8);
  assert.ok(half.queriesSampled <= 128 && half.tokens < half.gridTokens);
  // the chosen cell's qe is the grid's mean over all 64 queries at that (T, τ)
  const per = cellQueryEffects(ids, all.get(0.8)!, opts, half.chosen.threshold);
  assert.ok(Math.abs(half.chosen.gridQueryEffect - per.reduce((a, b) => a! + b!, 0)! / 64) < 1e-12);
  assert.ok(half.grid.lo <= half.grid.meanQueryEffect && half.grid.meanQueryEffect <= half.grid.hi);
  // the yardsticks: the grid's own cells inside its best's CI, and the grid on a subset of equal cost
  const gridNow = await runSearch('grid', ids, temps, async (T, want) => all.get(T)!.filter((x) => want.includes(x.queryId)), opts);
  const inside = gridNow.table.filter((c) => c.meanQueryEffect >= half.grid.lo).length;
  assert.ok(inside >= 1 && inside < gridNow.table.length);
  assert.equal(half.cellsWithinCI, inside / gridNow.table.length);
  assert.equal(half.subset.queries, Math.floor(half.queriesSampled / temps.length));
  const sub = await runSearch('grid', ids.slice(0, half.subset.queries), temps, async (T, want) => all.get(T)!.filter((x) => want.includes(x.queryId)), opts);
  assert.deepEqual([half.subset.temperature, half.subset.threshold], [sub.temperature, sub.threshold]);
  assert.equal(self.subset.queries, 64);
  assert.ok(self.subset.same, 'the grid at full cost is its own subset');
});
