// Experiment statistics: seeds × queries CIs, paired differences (by seed and query id), the summary
// over synthetic runs (final = last evaluated iteration, T/τ means, default pairs), and the shared-SFT
// config check.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { bootstrapCIGrouped } from '../../src/metrics/aggregate.js';
import { MONITORS, type Monitor } from '../../src/metrics/summary.js';
import { serializeConfig } from '../../src/run/configLoad.js';
import { bestIteration, defaultPairs, formatExperimentMarkdown, summarizeExperiment, type ExperimentRun } from '../../src/run/experimentReport.js';
import { differenceStatement, pairedDifferenceCI, pairedDifferences, seedQueryCI, type SeedValues } from '../../src/run/experimentStats.js';
import type { MetricsRecord } from '../../src/run/records.js';
import { iterationZeroKey, seedFromSharedSft } from '../../src/run/shareSft.js';
import { Rng } from '../../src/util/rng.js';
import { tinyConfig } from './tiny.js';

const root = mkdtempSync(path.join(tmpdir(), 'bstar-expstats-'));
after(() => rmSync(root, { recursive: true, force: true }));

const sv = (seed: number, vals: Record<string, number | null>): SeedValues => ({ seed, values: new Map(Object.entries(vals)) });
const o = { level: 0.9, resamples: 2000, seed: 7 };

test('seeds × queries CI: mean of per-seed means (nulls skipped); zero width when every resample is equal', () => {
  const ci = seedQueryCI([sv(0, { a: 1, b: 0 }), sv(1, { a: 1, b: 1, c: null })], o)!;
  assert.equal(ci.mean, 0.75); // (0.5 + 1) / 2, the null query left out
  assert.ok(ci.lo >= 0.25 && ci.hi === 1, `${ci.lo} ${ci.hi}`);
  const flat = seedQueryCI([sv(0, { a: 1, b: 1 }), sv(1, { a: 1 }), sv(2, { x: 1, y: 1, z: 1 })], o)!;
  assert.deepEqual([flat.mean, flat.lo, flat.hi], [1, 1, 1]);
  assert.equal(seedQueryCI([sv(0, { a: null })], o), null);
});

test('pairing by seed and query id: order, missing queries, nulls and unmatched seeds', () => {
  const a = [sv(2, { q1: 1, q2: 0, q3: 1, q4: null }), sv(0, { q1: 1, q2: 1 }), sv(5, { q1: 1 })];
  const b = [sv(0, { q2: 0, q1: 0 }), sv(2, { q3: 0, q1: 1, q4: 1, q9: 0 })];
  assert.deepEqual(pairedDifferences(a, b), [
    { seed: 0, diffs: [1, 1] },
    { seed: 2, diffs: [0, 1] }, // q1: 1−1, q3: 1−0; q2 missing in b, q4 null in a
  ]);
  assert.throws(() => pairedDifferences([sv(0, {}), sv(0, {})], b), /a seed 0 must be one run per seed/);
  assert.equal(pairedDifferenceCI([sv(1, { q: 1 })], b, o), null);
});

test('paired difference: a known constant difference is beyond the CI, equal methods are within; paired beats unpaired', () => {
  const rng = new Rng(4);
  const base = (seed: number) => Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`q${i}`, rng.float() < 0.5 ? 1 : 0]));
  const bs = [0, 1, 2].map((s) => sv(s, base(s)));
  // a = b + 0.25 on every query: the difference is 0.25 in every resample
  const plus = bs.map((x) => ({ seed: x.seed, values: new Map([...x.values].map(([q, v]) => [q, v! + 0.25])) }));
  const d = pairedDifferenceCI(plus, bs, o)!;
  assert.deepEqual([d.mean, d.lo, d.hi, d.verdict, d.pairs], [0.25, 0.25, 0.25, 'beyond', 180]);
  assert.deepEqual(d.seeds, [0, 1, 2]);
  assert.match(differenceStatement('bstar', 'online-rft', 'final pass@1', d), /^bstar − online-rft, final pass@1: \+0\.250 \[\+0\.250, \+0\.250\] \(90 % CI over 3 seeds × queries, 180 pairs\): differ beyond the 90 % CI \(bstar higher\)$/);
  const same = pairedDifferenceCI(bs, bs, o)!;
  assert.deepEqual([same.mean, same.lo, same.hi, same.verdict], [0, 0, 0, 'within']);
  assert.match(differenceStatement('a', 'b', 'x', same), /within the 90 % CI \(no difference shown\)$/);
  // a fixes 6 of the 60 queries of each seed that b gets wrong: +0.1 paired, clearly beyond 0, while
  // the unpaired per-method CIs overlap
  const fixed = bs.map((x) => {
    let left = 6;
    return { seed: x.seed, values: new Map([...x.values].map(([q, v]) => [q, v === 0 && left-- > 0 ? 1 : v])) };
  });
  const p = pairedDifferenceCI(fixed, bs, o)!;
  assert.ok(Math.abs(p.mean - 0.1) < 1e-12, `${p.mean}`);
  assert.equal(p.verdict, 'beyond');
  const ca = seedQueryCI(fixed, o)!;
  const cb = seedQueryCI(bs, o)!;
  assert.ok(ca.lo < cb.hi, `unpaired CIs overlap: [${ca.lo}, ${ca.hi}] vs [${cb.lo}, ${cb.hi}]`);
  // the paired CI is the grouped bootstrap of the per-seed differences with the same stream
  const g = bootstrapCIGrouped(pairedDifferences(fixed, bs).map((x) => x.diffs), o)!;
  assert.deepEqual([p.lo, p.hi], [g.lo, g.hi]);
});

function fakeRun(method: string, seed: number, finalPass1: Record<string, number>, opts: { iterations: number; T?: number[] }): ExperimentRun {
  const records: MetricsRecord[] = [];
  const evals = new Map<number, Map<string, Record<Monitor, number | null>>>();
  for (let i = 0; i <= opts.iterations; i++) {
    const rec = (phase: MetricsRecord['phase'], metrics: Record<string, number | null>): MetricsRecord => ({ v: 1, run: `${method}-s${seed}`, method, seed, iteration: i, phase, metrics, timing: { ms: 0, tokens: 0, tokensPerSecond: 0 } });
    if (i > 0) records.push(rec('sample', { 'sample/temperature': opts.T?.[i - 1] ?? 1 }), rec('select', { 'select/threshold': 0.5 }));
    const last = i === opts.iterations;
    const pq = new Map(Object.entries(finalPass1).map(([q, v]) => [q, Object.fromEntries(MONITORS.map((m) => [m, m === 'pass@1' ? (last ? v : 0) : m === 'distinct-equations' ? null : 0.5])) as Record<Monitor, number | null>]));
    records.push(rec('eval', { 'eval/pass@1': 0, 'eval/k': 4, 'eval/s': 2 }));
    evals.set(i, pq);
  }
  return { name: `${method}-s${seed}`, method, seed, records, evals };
}

test('experiment summary: final = last evaluated iteration, per-iteration CIs, chosen T means, default pairs', () => {
  assert.deepEqual(defaultPairs(['sft', 'online-rft', 'bstar']), [['bstar', 'online-rft']]);
  assert.deepEqual(defaultPairs(['fixed-T0.5-tau0', 'fixed-T0.8-tau0', 'bstar']), [['bstar', 'fixed-T0.5-tau0'], ['bstar', 'fixed-T0.8-tau0']]);
  assert.deepEqual(defaultPairs(['sft', 'star']), []);
  const runs = [
    fakeRun('online-rft', 0, { a: 1, b: 0 }, { iterations: 2 }),
    fakeRun('online-rft', 1, { a: 0, b: 0 }, { iterations: 2 }),
    fakeRun('bstar', 0, { a: 1, b: 1 }, { iterations: 2, T: [0.5, 0.7] }),
    fakeRun('bstar', 1, { a: 1, b: 1 }, { iterations: 2, T: [0.6, 1.0] }),
  ];
  const s = summarizeExperiment('x', runs, { ...o, pairs: [['bstar', 'online-rft']] });
  assert.deepEqual([s.k, s.s], [4, 2]);
  assert.deepEqual(s.runs[2].means.map((m) => [m.iteration, m['pass@1']]), [[0, 0], [1, 0], [2, 0]]);
  assert.equal(s.runs[2].finalIteration, 2);
  const [ort, bst] = s.methods;
  assert.equal(ort.final['pass@1']!.mean, 0.25);
  assert.equal(bst.final['pass@1']!.mean, 1);
  assert.deepEqual([bst.final['pass@1']!.lo, bst.final['pass@1']!.hi], [1, 1]);
  assert.equal(ort.final['distinct-equations'], null);
  assert.deepEqual(bst.iterations.map((it) => it.temperature?.mean ?? null), [null, 0.55, 0.85]);
  assert.deepEqual(bst.iterations[2].temperature!.perSeed, [0.7, 1.0]);
  assert.equal(bst.iterations[1].monitors['pass@1']!.mean, 0);
  assert.equal(bst.iterations[1].monitors['best-of-k'], null); // final-only monitor
  const p1 = s.paired.find((p) => p.monitor === 'pass@1')!;
  assert.equal(p1.mean, 0.75); // seed 0: (0 + 1)/2, seed 1: (1 + 1)/2
  assert.equal(p1.pairs, 4);
  const md = formatExperimentMarkdown(s);
  assert.match(md, /^\| bstar \| 2 \| 2 \| 1\.000 \[1\.000, 1\.000\] \| 0\.500 \[0\.500, 0\.500\] \| 0\.500 \[0\.500, 0\.500\] \| — \| 0\.85 \| 0\.50 \|$/m);
  assert.match(md, /^- bstar, iteration 2: T 0\.70, 1\.00; τ 0\.50, 0\.50$/m);
  assert.match(md, /^- bstar − online-rft, final pass@1: \+0\.750 /m);
});

test('best iteration: the highest mean Pass@1 over iterations ≥ 1 (earliest on a tie), the SFT baseline at its final; pairs each method at its own', () => {
  const setPass1 = (r: ExperimentRun, i: number, v: Record<string, number>) => {
    for (const [q, x] of Object.entries(v)) r.evals.get(i)!.get(q)!['pass@1'] = x;
  };
  // bstar peaks at iteration 1 (0.75 mean) and falls to 0.5; online-rft ends at 0.25 and never beats it
  const runs = [
    fakeRun('online-rft', 0, { a: 1, b: 0 }, { iterations: 3 }),
    fakeRun('online-rft', 1, { a: 0, b: 0 }, { iterations: 3 }),
    fakeRun('bstar', 0, { a: 1, b: 0 }, { iterations: 3 }),
    fakeRun('bstar', 1, { a: 0, b: 1 }, { iterations: 3 }),
    fakeRun('sft-baseline', 0, { a: 1, b: 1 }, { iterations: 1 }),
    fakeRun('sft-baseline', 1, { a: 0, b: 1 }, { iterations: 1 }),
  ];
  setPass1(runs[2], 1, { a: 1, b: 1 });
  setPass1(runs[3], 1, { a: 1, b: 0 });
  setPass1(runs[2], 2, { a: 1, b: 1 }); // a tie with iteration 1: the earliest wins
  setPass1(runs[3], 2, { a: 1, b: 0 });
  setPass1(runs[4], 0, { a: 1, b: 1 }); // the baseline's iteration 0 is higher than its final: still the final
  setPass1(runs[5], 0, { a: 1, b: 1 });
  const s = summarizeExperiment('x', runs, { ...o, pairs: [['bstar', 'online-rft'], ['bstar', 'sft-baseline']] });
  assert.deepEqual(s.methods.map((m) => [m.method, bestIteration(m)]), [['online-rft', 3], ['bstar', 1], ['sft-baseline', 1]]);
  const p = s.pairedBest.filter((x) => x.monitor === 'pass@1');
  assert.deepEqual(p.map((x) => [x.a, x.b, x.iterationA, x.iterationB]), [['bstar', 'online-rft', 1, 3], ['bstar', 'sft-baseline', 1, 1]]);
  assert.equal(p[0].mean, 0.5); // seed 0: (1−1 + 1−0)/2, seed 1: (1−0 + 0−0)/2
  assert.equal(p[1].mean, 0); // seed 0: (0 + 0)/2, seed 1: (1 + −1)/2
  assert.match(formatExperimentMarkdown(s), /^- bstar − online-rft, best iteration \(bstar 1, online-rft 3\) pass@1: \+0\.500 /m);
});

test('shared SFT: the iteration-0 key ignores method, T and τ only; seeding refuses a differing config by key', () => {
  const a = tinyConfig(['method=online-rft']);
  assert.equal(iterationZeroKey(a), iterationZeroKey(tinyConfig(['method=bstar', 'sampling.temperature=0.5', 'selection.threshold=0.7'])));
  assert.notEqual(iterationZeroKey(a), iterationZeroKey(tinyConfig(['method=online-rft', 'sft.lr=0.001'])));
  assert.notEqual(iterationZeroKey(a), iterationZeroKey(tinyConfig(['method=online-rft', 'seed=3'])));
  const donor = path.join(root, 'donor');
  mkdirSync(path.join(donor, 'checkpoints', '0'), { recursive: true });
  writeFileSync(path.join(donor, 'config.yaml'), serializeConfig(a));
  writeFileSync(path.join(donor, 'metrics.jsonl'), '');
  assert.throws(() => seedFromSharedSft(donor, path.join(root, 't'), tinyConfig(['method=star', 'eval.testSize=7'])), /donor[/\\]config\.yaml: cannot share its iteration 0 with .*t: config key eval\.testSize differs/);
  assert.throws(() => seedFromSharedSft(path.join(root, 'nothing'), path.join(root, 't'), a), /no complete checkpoints\/0 to share/);
});
