import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankPools, select, selectRanked, SelectionError } from '../../src/methods/select.js';
import { queryEffect } from '../../src/metrics/queryEffect.js';
import { Rng } from '../../src/util/rng.js';
import type { Sample } from '../../src/util/sample.js';
import { mk } from './helpers.js';

test('threshold is strict, duplicates dropped (best copy kept), counts and query effect by hand', () => {
  const samples = [
    mk('q1', 'A', 1.3, true),
    mk('q1', 'A', 1.2, true), // duplicate text of a better-rewarded one
    mk('q1', 'B', 0.2, false),
    mk('q1', 'C', 1.1, true),
    mk('q1', 'D', 0.5, false), // reward == τ: not selected
    mk('q2', 'E', 0.9, false),
    mk('q2', 'F', 1.5, true),
  ];
  const sel = select(['q1', 'q2'], samples, { threshold: 0.5, nStar: 4 });
  assert.deepEqual(sel.samples.map((s) => [s.queryId, s.text, s.reward]), [['q1', 'A', 1.3], ['q1', 'C', 1.1], ['q2', 'F', 1.5], ['q2', 'E', 0.9]]);
  const [q1, q2] = sel.perQuery;
  assert.deepEqual([q1.aboveThreshold, q1.selected, q1.uniqueCorrect], [3, 2, 2]);
  assert.equal(q1.queryEffect, (2 / 4) * (2 / 2));
  assert.deepEqual([q2.selected, q2.uniqueCorrect], [2, 1]);
  assert.equal(q2.queryEffect, (1 / 4) * (1 / 2));
  assert.equal(sel.meanQueryEffect, (0.5 + 0.125) / 2);
  assert.equal(sel.cap, null);
});

test('per-query cap keeps the best rewards, ties in sample order', () => {
  const samples = [mk('q', 'a', 0.5, true), mk('q', 'b', 0.9, true), mk('q', 'c', 0.5, false), mk('q', 'd', 0.7, true)];
  const sel = select(['q'], samples, { threshold: 0, nStar: 2, perQueryCap: 3 });
  assert.deepEqual(sel.samples.map((s) => s.text), ['b', 'd', 'a']);
  assert.equal(sel.cap, 3);
  assert.equal(sel.perQuery[0].queryEffect, 1 * (3 / 3));
});

test('uniqueBy equations merges responses with the same equation sequence', () => {
  const eq = (t: string) => t.match(/\d+[+*-]\d+=\d+/g) ?? [];
  const samples = [mk('q', 'so 1+1=2 done', 1, true), mk('q', 'we get 1+1=2', 1, true), mk('q', '2*1=2', 1, true), mk('q', 'no eq', 1, true)];
  const byText = select(['q'], samples, { threshold: 0.5, nStar: 8 });
  const byEq = select(['q'], samples, { threshold: 0.5, nStar: 8, uniqueBy: 'equations', equations: eq });
  assert.equal(byText.perQuery[0].selected, 4);
  assert.deepEqual(byEq.samples.map((s) => s.text), ['so 1+1=2 done', '2*1=2', 'no eq']);
  assert.throws(() => select(['q'], samples, { threshold: 0, nStar: 8, uniqueBy: 'equations' }), (e: unknown) => e instanceof SelectionError && /equations must be a function/.test(e.message));
});

test('zero-signal and empty queries are counted; empty queries score 0 or are excluded (official)', () => {
  const samples = [mk('q1', 'a', 1.2, true), mk('q2', 'b', 0.1, false), mk('q2', 'c', -0.3, false)];
  const ids = ['q1', 'q2', 'q3']; // q3 has no samples at all
  const paper = select(ids, samples, { threshold: 0.5, nStar: 1 });
  assert.equal(paper.zeroSignalQueries, 2);
  assert.equal(paper.emptyQueries, 2);
  assert.deepEqual(paper.perQuery.map((q) => q.zeroSignal), [false, true, true]);
  assert.equal(paper.meanQueryEffect, 1 / 3);
  const official = select(ids, samples, { threshold: 0.5, nStar: 1, emptyQueries: 'exclude' });
  assert.equal(official.meanQueryEffect, 1);
  // τ below every reward selects the wrong ones too.
  const low = select(ids, samples, { threshold: -1, nStar: 1 });
  assert.deepEqual(low.perQuery.map((q) => q.queryEffect), [1, 0, 0]);
});

test('injectGold adds the gold solution with a fixed reward, last among ties, counted correct', () => {
  const gold = new Map([['q', 'GOLD'], ['r', 'GOLDR']]);
  const samples = [mk('q', 'x', 1.0, true), mk('q', 'y', 1.4, true), mk('q', 'z', 0.3, false), mk('r', 'w', 0.2, false)];
  const sel = select(['q', 'r'], samples, { threshold: 0.5, nStar: 2, gold });
  assert.deepEqual(sel.samples.map((s) => s.text), ['y', 'x', 'GOLD', 'GOLDR']);
  assert.equal(sel.samples[2].gold, true);
  assert.equal(sel.samples[2].reward, 1);
  assert.deepEqual(sel.perQuery.map((q) => [q.pool, q.selected, q.uniqueCorrect, q.goldSelected, q.zeroSignal]), [
    [4, 3, 3, true, false],
    [2, 1, 1, true, true], // still zero-signal: no *sampled* response was correct
  ]);
  // τ = 1: the gold (reward 1.0) no longer passes the strict threshold.
  const high = select(['q', 'r'], samples, { threshold: 1, nStar: 2, gold, goldReward: 1 });
  assert.deepEqual(high.samples.map((s) => s.text), ['y']);
  // A sample identical to the gold text is a duplicate of it.
  const dup = select(['q'], [mk('q', 'GOLD', 1.2, true)], { threshold: 0, nStar: 1, gold: new Map([['q', 'GOLD']]) });
  assert.equal(dup.perQuery[0].selected, 1);
  assert.equal(dup.samples[0].gold, undefined);
  assert.throws(() => select(['q', 's'], samples.slice(0, 3), { threshold: 0, nStar: 1, gold }), /gold\["s"\] must be a gold solution text/);
});

test('fixed-size selection: smallest shared cap k reaching the target, else maxCap', () => {
  const samples = [
    ...['a', 'b', 'c', 'd'].map((t, i) => mk('q1', t, 1 - i * 0.1, true)),
    ...['e', 'f'].map((t, i) => mk('q2', t, 1 - i * 0.1, i === 0)),
    mk('q3', 'g', 0.9, false),
  ];
  const ids = ['q1', 'q2', 'q3'];
  // sizes at k = 1, 2, 3: 3, 5, 6
  for (const [target, k] of [[1, 1], [3, 1], [4, 2], [5, 2], [6, 3], [7, 4]] as const) {
    const sel = select(ids, samples, { threshold: 0, nStar: 2, selection: 'fixed-size', targetSize: target, maxCap: 64 });
    assert.equal(sel.cap, k, `target ${target}`);
    const direct = select(ids, samples, { threshold: 0, nStar: 2, perQueryCap: k });
    assert.deepEqual(sel.samples, direct.samples);
  }
  const never = select(ids, samples, { threshold: 0, nStar: 2, selection: 'fixed-size', targetSize: 100, maxCap: 3 });
  assert.equal(never.cap, 3);
  assert.equal(never.samples.length, 6);
  assert.throws(() => select(ids, samples, { threshold: 0, nStar: 2, selection: 'fixed-size' }), /targetSize must be an integer ≥ 1, found undefined/);
});

test('capBeforeDedup: duplicates use up cap slots (official), or not (default)', () => {
  const samples = [mk('q', 'A', 1.5, true), mk('q', 'A', 1.4, true), mk('q', 'B', 1.3, true)];
  assert.deepEqual(select(['q'], samples, { threshold: 0, nStar: 2, perQueryCap: 2 }).samples.map((s) => s.text), ['A', 'B']);
  assert.deepEqual(select(['q'], samples, { threshold: 0, nStar: 2, perQueryCap: 2, capBeforeDedup: true }).samples.map((s) => s.text), ['A']);
  // Fixed size with cap-before-dedup needs k = 3 to hold 2 unique.
  const sel = select(['q'], samples, { threshold: 0, nStar: 2, selection: 'fixed-size', targetSize: 2, capBeforeDedup: true });
  assert.equal(sel.cap, 3);
});

/** A direct port of the official selection and balance score (official-repo-notes §2.7). */
function officialBalance(pools: Map<string, Sample[]>, gold: Map<string, string>, tau: number, target: number): { k: number; balance: number; picked: string[] } {
  const ranked = [...pools].map(([q, xs]) => {
    const c = xs.map((s) => ({ q, out: s.text, score: s.reward, ok: s.correct }));
    c.push({ q, out: gold.get(q)!, score: 1.0, ok: true });
    return c.sort((a, b) => b.score - a.score);
  });
  const sel = (k: number) => {
    const picked = ranked.flatMap((c) => c.filter((x) => x.score > tau).slice(0, k));
    const seen = new Set<string>();
    return picked.filter((x) => (seen.has(x.q + '\u0000' + x.out) ? false : (seen.add(x.q + '\u0000' + x.out), true)));
  };
  let k = 1;
  let s = sel(1);
  for (k = 1; k <= 64; k++) {
    s = sel(k);
    if (s.length >= target) break;
  }
  const byQ = new Map<string, typeof s>();
  for (const x of s) byQ.set(x.q, [...(byQ.get(x.q) ?? []), x]);
  const per = [...byQ.values()].map((xs) => {
    const c = xs.filter((x) => x.ok).length;
    return Math.min(c / 8, 1) * (c / xs.length);
  });
  return { k: Math.min(k, 64), balance: per.reduce((a, b) => a + b, 0) / per.length, picked: s.map((x) => x.q + ':' + x.out) };
}

test('official options together reproduce a direct port of the official selection and balance score', () => {
  const rng = new Rng(21);
  for (let trial = 0; trial < 20; trial++) {
    const pools = new Map<string, Sample[]>();
    const gold = new Map<string, string>();
    for (let q = 0; q < 12; q++) {
      const id = `q${q}`;
      gold.set(id, `gold${q}`);
      const n = rng.int(20);
      pools.set(id, Array.from({ length: n }, () => {
        const correct = rng.int(3) > 0;
        const prm = Math.round((rng.float() * 2 - 1) * 20) / 20;
        return mk(id, `t${rng.int(6)}`, prm + (correct ? 1 : 0), correct);
      }));
    }
    const ids = [...pools.keys()];
    const samples = [...pools.values()].flat();
    for (const tau of [-1, -0.5, -0.1, 0, 0.3, 0.99]) {
      const target = 5 + rng.int(60);
      const want = officialBalance(pools, gold, tau, target);
      const got = select(ids, samples, {
        threshold: tau, nStar: 8, gold, goldReward: 1, selection: 'fixed-size', targetSize: target, maxCap: 64, capBeforeDedup: true, emptyQueries: 'exclude',
      });
      assert.equal(got.cap, want.k);
      assert.deepEqual(got.samples.map((s) => s.queryId + ':' + s.text), want.picked);
      assert.ok(Math.abs(got.meanQueryEffect - want.balance) < 1e-12, `trial ${trial} τ ${tau}`);
    }
  }
});

test('rankPools once, select at many thresholds: same as selecting from scratch', () => {
  const rng = new Rng(4);
  const samples = Array.from({ length: 60 }, (_, i) => mk(`q${i % 5}`, `t${rng.int(10)}`, rng.float() * 3 - 1, rng.int(2) === 1));
  const ids = ['q0', 'q1', 'q2', 'q3', 'q4'];
  const pools = rankPools(ids, samples);
  for (const tau of [-1, 0, 0.5, 1, 1.5]) {
    const a = selectRanked(pools, { threshold: tau, nStar: 3 });
    const b = select(ids, samples, { threshold: tau, nStar: 3 });
    assert.deepEqual(a, b);
    const manual = ids.map((q) => {
      const kept = new Map<string, Sample>();
      for (const s of samples.filter((x) => x.queryId === q && x.reward > tau).sort((x, y) => y.reward - x.reward)) if (!kept.has(s.text)) kept.set(s.text, s);
      const xs = [...kept.values()];
      return queryEffect(xs.length, xs.filter((x) => x.correct).length, 3);
    });
    assert.ok(Math.abs(a.meanQueryEffect - manual.reduce((x, y) => x + y, 0) / 5) < 1e-12);
  }
});

test('bad input is a SelectionError naming the field', () => {
  assert.throws(() => select(['q'], [mk('x', 'a', 1, true)], { threshold: 0, nStar: 1 }), (e: unknown) => e instanceof SelectionError && /samples\[0\]\.queryId must be one of the queried ids, found "x"/.test(e.message));
  assert.throws(() => select(['q'], [mk('q', 'a', NaN, true)], { threshold: 0, nStar: 1 }), /samples\[0\]\.reward must be a number/);
  assert.throws(() => select(['q', 'q'], [], { threshold: 0, nStar: 1 }), /queryIds must be unique ids/);
  assert.throws(() => select(['q'], [], { threshold: 0, nStar: 1, perQueryCap: 0 }), /perQueryCap must be an integer ≥ 1, found 0/);
  assert.throws(() => select(['q'], [], { threshold: NaN, nStar: 1 }), /threshold must be a number/);
});
