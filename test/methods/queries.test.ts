import { test } from 'node:test';
import assert from 'node:assert/strict';
import { devSubset, iterationQueries, QueryPlanError, refillQueries } from '../../src/methods/queries.js';

const ids = Array.from({ length: 10 }, (_, i) => `q${i}`);

test('dev subset: seeded, fixed size, in pool order, distinct seeds differ', () => {
  const d = devSubset(ids, 4, 7);
  assert.equal(d.length, 4);
  assert.deepEqual(d, devSubset(ids, 4, 7));
  assert.deepEqual(d, [...d].sort((a, b) => ids.indexOf(a) - ids.indexOf(b)));
  assert.notDeepEqual(devSubset(ids, 4, 8), d); // (a collision has probability 1/210)
  assert.deepEqual(devSubset(ids, 10, 1), ids);
  assert.throws(() => devSubset(ids, 11, 1), (e: unknown) => e instanceof QueryPlanError && /devSize must be an integer in \[0, 10\]/.test(e.message));
});

test('iterations walk epoch shuffles: every query once per epoch, deterministic per iteration', () => {
  // M = 4 over 10 queries: iterations 1–5 cover positions 0–19 = exactly two epochs.
  const its = [1, 2, 3, 4, 5].map((i) => iterationQueries(ids, 4, i, 3));
  assert.ok(its.every((q) => q.length === 4 && new Set(q).size === 4));
  const flat = its.flat();
  assert.deepEqual([...flat.slice(0, 10)].sort(), [...ids].sort());
  assert.deepEqual([...flat.slice(10, 20)].sort(), [...ids].sort());
  assert.notDeepEqual(flat.slice(0, 10), flat.slice(10, 20)); // a fresh shuffle each epoch
  // Recomputable in any order (resume).
  assert.deepEqual(iterationQueries(ids, 4, 3, 3), its[2]);
  // M = pool: one permutation per iteration.
  const whole = iterationQueries(ids, 10, 2, 3);
  assert.deepEqual([...whole].sort(), [...ids].sort());
  assert.throws(() => iterationQueries(ids, 11, 1, 0), /queriesPerIteration \(M\) must be an integer in \[1, 10\]/);
  assert.throws(() => iterationQueries(ids, 2, 0, 0), /iteration must be an integer ≥ 1/);
  assert.throws(() => iterationQueries(['a', 'a'], 1, 1, 0), /queryIds must be unique/);
});

test('an iteration straddling two epochs still holds M distinct queries (repeats skipped, later positions taken)', () => {
  // Brute force: the walk over the concatenated epoch shuffles, positions (i−1)·M onwards, first M distinct.
  const epochOrder = (e: number) => {
    const order = iterationQueries(ids, 10, e + 1, 11); // M = pool: iteration e+1 is exactly epoch e's permutation
    return order;
  };
  for (const m of [3, 6, 7, 9]) {
    let straddledWithRepeat = 0;
    for (let i = 1; i <= 12; i++) {
      const got = iterationQueries(ids, m, i, 11);
      assert.equal(new Set(got).size, m, `M=${m} iteration ${i}`);
      const want: string[] = [];
      for (let pos = (i - 1) * m; want.length < m; pos++) {
        const id = epochOrder(Math.floor(pos / 10))[pos % 10];
        if (!want.includes(id)) want.push(id);
      }
      assert.deepEqual(got, want, `M=${m} iteration ${i}`);
      const naive = Array.from({ length: m }, (_, j) => epochOrder(Math.floor(((i - 1) * m + j) / 10))[((i - 1) * m + j) % 10]);
      if (new Set(naive).size < m) straddledWithRepeat++;
    }
    if (m >= 6) assert.ok(straddledWithRepeat > 0, `M=${m}: some iteration straddles with a repeat (the case under test)`);
  }
});

test('refill draws outside the iteration, seeded per iteration, and stops when the pool runs out', () => {
  const cur = new Set(iterationQueries(ids, 4, 1, 0));
  const r = refillQueries(ids, cur, 3, 1, 0);
  assert.equal(r.length, 3);
  assert.ok(r.every((id) => !cur.has(id)));
  assert.deepEqual(refillQueries(ids, cur, 3, 1, 0), r);
  assert.equal(refillQueries(ids, cur, 100, 1, 0).length, 6);
  assert.deepEqual(refillQueries(ids, cur, 0, 1, 0), []);
});
