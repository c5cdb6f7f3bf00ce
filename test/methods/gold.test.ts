// SFT examples from gold problems with sft.goldVariants: several correct solution orders per problem
// (Task.goldSolutions), counted against the task's own solution count and checked by the verifier.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MethodContext } from '../../src/methods/context.js';
import { sftPhase } from '../../src/methods/iteration.js';
import { goldExamples, optimizerSpec } from '../../src/methods/pieces.js';
import { buildContext } from '../../src/run/run.js';
import { loadConfig } from '../../src/run/configLoad.js';
import { task as arith } from '../../src/tasks/arith.js';
import type { Query, Task, Verdict } from '../../src/tasks/types.js';
import { tinyConfig } from '../run/tiny.js';

const queries = arith.load('train', { size: 300, steps: [1, 4] }) as Query[];
const solutions = (q: Query) => (q.meta as { solutions: number }).solutions;
const ctxFor = (task: Task, variants: number) =>
  ({ task, config: loadConfig({ overrides: [`sft.goldVariants=${variants}`] }) }) as unknown as MethodContext;

test('goldVariants = V gives min(V, #correct orders) distinct verified examples per problem, gold first, deterministic', () => {
  for (const v of [1, 2, 4]) {
    const ex = goldExamples(ctxFor(arith, v), queries);
    assert.equal(ex.length, queries.reduce((a, q) => a + Math.min(v, solutions(q)), 0), `goldVariants=${v}`);
    let i = 0;
    for (const q of queries) {
      const n = Math.min(v, solutions(q));
      const mine = ex.slice(i, i + n);
      i += n;
      assert.equal(mine[0].completion, arith.goldSolution(q));
      assert.equal(new Set(mine.map((e) => e.completion)).size, n, `${q.id}: orders are distinct`);
      for (const e of mine) {
        assert.equal(e.prompt, arith.formatPrompt(q));
        assert.ok((arith.verify(e.completion, q) as Verdict).correct, `${q.id}: ${e.completion}`);
      }
    }
    assert.deepEqual(goldExamples(ctxFor(arith, v), queries), ex, 'same queries → same examples');
  }
  // 1–4-step problems: enough with several orders that the count really grows.
  assert.ok(goldExamples(ctxFor(arith, 4), queries).length > 1.5 * queries.length);
});

test('a task without goldSolutions gives its gold solution only, whatever goldVariants', () => {
  const plain: Task = { ...arith, goldSolutions: undefined };
  const ex = goldExamples(ctxFor(plain, 4), queries);
  assert.deepEqual(ex.map((e) => e.completion), queries.map((q) => arith.goldSolution(q)));
});

test('sftPhase: an epoch is one pass over all variant examples', async () => {
  const ctx = await buildContext(tinyConfig(['sft.goldVariants=3', 'task.options={"steps": 3}']), { log: () => {} });
  const pool = ctx.trainIds.map((id) => ctx.train.get(id)!);
  const expected = pool.reduce((a, q) => a + Math.min(3, solutions(q)), 0);
  assert.ok(expected > pool.length, 'some tiny-pool problem has several orders');
  const rec = await sftPhase(ctx, 2, (c, steps) => optimizerSpec(c, 'sft', steps));
  assert.equal(rec.metrics['sft/examples'], expected);
  assert.equal(rec.metrics['sft/steps'], Math.ceil((2 * expected) / ctx.config.sft.batchSize));
  assert.equal(ctx.policy.optimizerStatus()?.step, rec.metrics['sft/steps']);
});
