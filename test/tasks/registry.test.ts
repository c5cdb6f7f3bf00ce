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

const CODE_TASKS = new Set(['mbpp', 'humaneval']);

test('every task meets the contract on a few test queries', async () => {
  // A task that reads only a user's dataset (apps) is covered with one in test/tasks/dataset.test.ts.
  for (const n of taskNames().filter((x) => !getTaskModule(x).needsFile)) {
    const t = getTask(n);
    // MATH500 ships answers only: use the first split whose queries carry a worked solution.
    let qs = (await t.load('test', { limit: 5 })) as Query[];
    if (qs[0].gold.solution === undefined) qs = (await t.load('train', { limit: 5 })) as Query[];
    assert.equal(qs.length, 5, n);
    for (const q of qs) {
      assert.equal(typeof q.id, 'string');
      assert.ok(t.formatPrompt(q).includes(q.prompt), `${n}: prompt template drops the question`);
      const gold = t.goldSolution(q);
      const v = (await t.verify(gold, q)) as Verdict;
      assert.equal(v.correct, true, `${n} ${q.id}: ${v.reason}`);
      // Answer tasks compare extracted answers; code tasks judge by running tests (reason 'pass').
      if (!CODE_TASKS.has(n)) {
        assert.deepEqual(v, { correct: true, answer: q.gold.answer, reason: 'match' }, `${n} ${q.id}`);
        assert.equal(t.extractAnswer(gold), q.gold.answer);
      } else assert.equal(v.reason, 'pass');
      if (t.equations) assert.ok(Array.isArray(t.equations(gold)));
    }
    assert.throws(() => t.load('test', { nonsense: 1 }), /unknown[^]*nonsense|nonsense[^]*unknown/, n);
  }
});

test('fast self-checks of every registered task pass (what `bstar data check --quick` runs)', async () => {
  // Code tasks run every gold program in the sandbox (~0.1 s each): a smaller sample keeps this fast.
  const rows = [];
  for (const task of taskNames()) rows.push(...(await runSelfChecks({ task, limit: CODE_TASKS.has(task) ? 12 : 200 })));
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
