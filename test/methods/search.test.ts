import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseThreshold, gridValues, searchConfig } from '../../src/methods/search.js';
import { select, SelectionError } from '../../src/methods/select.js';
import { Rng } from '../../src/util/rng.js';
import type { Sample } from '../../src/util/sample.js';
import { mk } from './helpers.js';

test('grids are exact decimals, endpoints included, no drift', () => {
  const taus = gridValues({ from: -1, to: 1, step: 0.1 });
  assert.equal(taus.length, 21);
  assert.deepEqual(taus.slice(0, 4), [-1, -0.9, -0.8, -0.7]);
  assert.equal(taus[10], 0);
  assert.ok(Object.is(taus[10], 0) || taus[10] === 0);
  assert.equal(taus[13], 0.3); // naive accumulation gives 0.30000000000000004
  assert.equal(taus[20], 1);
  assert.deepEqual(gridValues({ from: 0.5, to: 1.2, step: 0.1 }), [0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2]);
  const fine = gridValues({ from: -1, to: 0.99, step: 0.01 }); // the official τ grid
  assert.equal(fine.length, 200);
  assert.equal(fine[199], 0.99);
  assert.ok(fine.every((v, i) => v === Math.round((-1 + i * 0.01) * 100) / 100));
  assert.deepEqual(gridValues({ from: 0.55, to: 1.15, step: 0.1 }), [0.55, 0.65, 0.75, 0.85, 0.95, 1.05, 1.15]);
  assert.deepEqual(gridValues({ from: 0, to: 1, step: 0.3 }), [0, 0.3, 0.6, 0.9]); // `to` off-grid: stops below
  assert.deepEqual(gridValues({ from: 1, to: 1, step: 0.1 }), [1]);
  assert.throws(() => gridValues({ from: 0, to: 1, step: 0 }), (e: unknown) => e instanceof SelectionError && /grid.step must be a number > 0, found 0/.test(e.message));
  assert.throws(() => gridValues({ from: 1, to: 0, step: 0.1 }), /grid.to must be ≥ grid.from/);
});

/**
 * Dev set of 2 queries, n* = 2. At T = 0.5: q1 has one correct (reward 1.2), q2 one correct (0.8) and a
 * wrong one (0.4). At T = 0.7: q1 has two correct (1.3, 1.1) and a wrong one (0.6); q2 two correct
 * (1.5, 0.9).
 *  τ = 0.5 → T0.5: q1 1/2·1 = .5, q2 (1/2)(1/1) = .5 → .5 ; T0.7: q1 1·2/3, q2 1·1 → .8333
 *  τ = 0.7 → T0.5: .5, .5 → .5 ;                          T0.7: q1 1·1, q2 1·1 → 1
 *  τ = 1.0 → T0.5: .5, 0 → .25 ;                          T0.7: q1 1, q2 (1/2)·1 → .75
 */
function devTable(): { ids: string[]; rows: { temperature: number; samples: Sample[] }[] } {
  return {
    ids: ['q1', 'q2'],
    rows: [
      { temperature: 0.5, samples: [mk('q1', 'a', 1.2, true, 0.5), mk('q2', 'b', 0.8, true, 0.5), mk('q2', 'c', 0.4, false, 0.5)] },
      {
        temperature: 0.7,
        samples: [mk('q1', 'd', 1.3, true, 0.7), mk('q1', 'e', 1.1, true, 0.7), mk('q1', 'f', 0.6, false, 0.7), mk('q2', 'g', 1.5, true, 0.7), mk('q2', 'h', 0.9, true, 0.7)],
      },
    ],
  };
}

test('hand-built table: the known winner and every cell', () => {
  const { ids, rows } = devTable();
  const r = searchConfig(ids, rows, { thresholds: [0.5, 0.7, 1.0], nStar: 2 });
  assert.equal(r.temperature, 0.7);
  assert.equal(r.threshold, 0.7);
  assert.equal(r.meanQueryEffect, 1);
  const qe = r.table.map((c) => [c.temperature, c.threshold, Math.round(c.meanQueryEffect * 1e4) / 1e4]);
  assert.deepEqual(qe, [[0.5, 0.5, 0.5], [0.5, 0.7, 0.5], [0.5, 1, 0.25], [0.7, 0.5, 0.8333], [0.7, 0.7, 1], [0.7, 1, 0.75]]);
  assert.deepEqual(r.table.map((c) => c.selected), [2, 2, 1, 5, 4, 3]);
  assert.deepEqual(r.zeroSignal, [{ temperature: 0.5, queries: 0 }, { temperature: 0.7, queries: 0 }]);
});

test('ties: lower temperature first, then higher threshold (paper) or lower threshold (official)', () => {
  // The same samples at both temperatures: every (T, τ) pair ties across T.
  const base = [mk('q', 'a', 1.5, true), mk('q', 'b', 0.2, false)];
  const rows = [1.1, 0.9].map((temperature) => ({ temperature, samples: base.map((s) => ({ ...s, temperature })) }));
  // τ in {0.3, 0.5, 1.0} all select just 'a' (qe = 1/1 with n* = 1); τ = 0 also selects 'b'.
  const thresholds = [0, 0.3, 0.5, 1.0];
  const paper = searchConfig(['q'], rows, { thresholds, nStar: 1 });
  assert.deepEqual([paper.temperature, paper.threshold, paper.meanQueryEffect], [0.9, 1.0, 1]);
  const official = searchConfig(['q'], rows, { thresholds, nStar: 1, thresholdTies: 'lower' });
  assert.deepEqual([official.temperature, official.threshold], [0.9, 0.3]);
  // Given order does not matter.
  const reversed = searchConfig(['q'], [...rows].reverse(), { thresholds: [...thresholds].reverse(), nStar: 1 });
  assert.deepEqual([reversed.temperature, reversed.threshold], [0.9, 1.0]);
});

test('each cell is the selection at (T, τ) from the one scored table — nothing is re-sampled per τ', () => {
  const rng = new Rng(12);
  const ids = Array.from({ length: 8 }, (_, i) => `q${i}`);
  const temps = gridValues({ from: 0.5, to: 1.2, step: 0.1 });
  const rows = temps.map((temperature) => ({
    temperature,
    samples: Object.freeze(
      Array.from({ length: 64 }, () => {
        const correct = rng.float() < 1.2 - temperature;
        return Object.freeze(mk(ids[rng.int(8)], `t${rng.int(12)}`, (correct ? 1 : 0) + rng.float() * 2 - 1, correct, temperature));
      }),
    ),
  }));
  const thresholds = gridValues({ from: -1, to: 1, step: 0.1 });
  const r = searchConfig(ids, rows, { thresholds, nStar: 4 });
  assert.equal(r.table.length, temps.length * thresholds.length);
  let best = -1;
  for (const cell of r.table) {
    const row = rows.find((x) => x.temperature === cell.temperature)!;
    const sel = select(ids, row.samples, { threshold: cell.threshold, nStar: 4 });
    assert.equal(cell.meanQueryEffect, sel.meanQueryEffect);
    assert.equal(cell.selected, sel.samples.length);
    best = Math.max(best, cell.meanQueryEffect);
  }
  assert.equal(r.meanQueryEffect, best);
  // chooseThreshold at the chosen T agrees with the joint search.
  const row = rows.find((x) => x.temperature === r.temperature)!;
  const c = chooseThreshold(ids, row.samples, { thresholds, nStar: 4 }, r.temperature);
  assert.equal(c.threshold, r.threshold);
});

test('thresholdSearchOn pool: chooseThreshold on another pool at a fixed T, with the official selection', () => {
  const gold = new Map([['p1', 'G1'], ['p2', 'G2']]);
  // An incorrect sample can outrank the gold when its PRM term is large (official: prm/5 unclipped).
  const pool = [mk('p1', 'a', 1.4, true), mk('p1', 'b', 0.3, false), mk('p2', 'c', 1.05, false), mk('p2', 'd', 1.2, true)];
  const opts = { thresholds: [0.2, 0.5, 1.02, 1.1], nStar: 2, gold, selection: 'fixed-size' as const, targetSize: 4, capBeforeDedup: true, emptyQueries: 'exclude' as const, thresholdTies: 'lower' as const };
  const c = chooseThreshold(['p1', 'p2'], pool, opts, 1.0);
  // Ranked: p1 [a 1.4, G1 1.0, b 0.3], p2 [d 1.2, c 1.05, G2 1.0].
  // τ 0.2, 0.5: k = 2 → p1 {a, G1} qe 1, p2 {d, c} qe (1/2)(1/2) → 0.625
  // τ 1.02: p1 {a}, p2 {d, c}: 3 < 4 at every k → k = 64: (1/2 + 1/4)/2 = 0.375
  // τ 1.1:  p1 {a}, p2 {d}: k = 64: (1/2 + 1/2)/2 = 0.5
  assert.deepEqual(c.curve.map((x) => x.meanQueryEffect), [0.625, 0.625, 0.375, 0.5]);
  assert.deepEqual(c.curve.map((x) => x.cap), [2, 2, 64, 64]);
  assert.equal(c.threshold, 0.2); // official tie rule: the lower τ
  assert.equal(chooseThreshold(['p1', 'p2'], pool, { ...opts, thresholdTies: 'higher' }, 1.0).threshold, 0.5);
});

test('bad input: empty grids, duplicate temperatures, mislabelled samples', () => {
  const { ids, rows } = devTable();
  assert.throws(() => searchConfig(ids, rows, { thresholds: [], nStar: 2 }), (e: unknown) => e instanceof SelectionError && /thresholds must be a non-empty list/.test(e.message));
  assert.throws(() => searchConfig(ids, [], { thresholds: [0], nStar: 2 }), /temperatures must be a non-empty list/);
  assert.throws(() => searchConfig(ids, [rows[0], rows[0]], { thresholds: [0], nStar: 2 }), /temperatures must be distinct values/);
  assert.throws(() => searchConfig(ids, [{ temperature: 0.6, samples: rows[0].samples }], { thresholds: [0], nStar: 2 }), /byTemperature\[0\]\.samples\[0\]\.temperature must be 0.6/);
});
