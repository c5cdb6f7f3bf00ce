import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnknownTaskError, completeRow, getTask, getTaskModule, runSelfChecks, taskNames } from '../../src/tasks/index.js';
import type { Query, Verdict } from '../../src/tasks/types.js';

test('registry: names map to tasks of that name; unknown names list the known ones', () => {
  for (const n of ['arith', 'gsm8k', 'arc']) assert.ok(taskNames().includes(n));
  assert.equal(taskNames()[0], 'arith');
  for (const n of taskNames()) assert.equal(getTask(n).name, n);
  assert.throws(
    () => getTask('gsm9k'),
    (e: Error) => e instanceof UnknownTaskError && e.message.includes('"gsm9k"') && taskNames().every((n) => e.message.includes(n)),
  );
  assert.throws(() => getTask('toString'), UnknownTaskError);
});

test('every task meets the contract on a few test queries', async () => {
  for (const n of taskNames()) {
    const t = getTask(n);
    const qs = (await t.load('test', { limit: 5 })) as Query[];
    assert.equal(qs.length, 5, n);
    for (const q of qs) {
      assert.equal(typeof q.id, 'string');
      assert.ok(t.formatPrompt(q).includes(q.prompt), `${n}: prompt template drops the question`);
      const gold = t.goldSolution(q);
      const v = (await t.verify(gold, q)) as Verdict;
      assert.deepEqual(v, { correct: true, answer: q.gold.answer, reason: 'match' }, `${n} ${q.id}`);
      assert.equal(t.extractAnswer(gold), q.gold.answer);
      if (t.equations) assert.ok(Array.isArray(t.equations(gold)));
    }
    assert.throws(() => t.load('test', { nonsense: 1 }), /unknown option "nonsense"/, n);
  }
});

test('fast self-checks of every registered task pass (what `bstar data check --quick` runs)', async () => {
  const rows = await runSelfChecks({ limit: 200 });
  for (const n of taskNames()) if (getTaskModule(n).selfCheck) assert.ok(rows.some((r) => r.task === n), n);
  for (const r of rows) assert.ok(r.ok, `${r.task}/${r.split} ${r.check}: ${r.detail ?? r.expect}`);
});

test('completeRow: a plain row is a gold check, ok only when every row verified', () => {
  const base = { task: 't', split: 's', failures: [], ms: 1 };
  assert.deepEqual(completeRow({ ...base, rows: 4, verified: 4 }), {
    ...base, rows: 4, verified: 4, check: 'gold verifies', expect: '= 100%', rate: 1, ok: true,
  });
  assert.equal(completeRow({ ...base, rows: 4, verified: 3 }).ok, false);
  assert.equal(completeRow({ ...base, rows: 4, verified: 3 }).rate, 0.75);
  assert.equal(completeRow({ ...base, rows: 0, verified: 0 }).ok, false);
  assert.equal(completeRow({ ...base, rows: 4, verified: 1, ok: true, rate: 0.25 }).ok, true);
});
