// A run that starts from a checkpoint takes its weights only: the checkpoint's optimizer state (another
// run's, with its own micro-batch) is not restored, so a smaller batch works and the optimizer is fresh.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildContext, startRun } from '../../src/run/run.js';
import { parseMetricsJsonl } from '../../src/run/records.js';
import { tinyConfig } from './tiny.js';

const root = mkdtempSync(path.join(tmpdir(), 'bstar-startck-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('model.checkpoint of a run with optimizer state: weights only, a fresh optimizer, any batch size', async () => {
  const a = path.join(root, 'a');
  await startRun(tinyConfig(['iterations=1']), a, { log: () => {}, stopAfter: 0 });
  const ck = path.join(a, 'checkpoints', '0');
  assert.match(readFileSync(path.join(ck, 'training_state.json'), 'utf8'), /"optimizer": \{/, 'the checkpoint carries optimizer state');
  // smaller batches than the checkpoint's micro-batch (8), no SFT: the start is the checkpoint's weights
  const c = tinyConfig([`model.checkpoint=${JSON.stringify(ck)}`, 'sft.epochs=0', 'sft.startEpoch=0', 'sft.batchSize=2', 'train.batchSize=2', 'iterations=1']);
  const ctx = await buildContext(c, { log: () => {} });
  assert.equal(ctx.policy.optimizerStatus(), null, 'no optimizer restored from the checkpoint');
  const b = path.join(root, 'b');
  await startRun(c, b, { log: () => {} });
  const evalAt0 = (d: string) => parseMetricsJsonl(readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')).find((r) => r.iteration === 0 && r.phase === 'eval')!.metrics;
  assert.deepEqual(evalAt0(b), evalAt0(a), "iteration 0 evaluates the checkpoint's weights");
});
