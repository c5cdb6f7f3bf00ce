import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { getBackend } from '../../src/engine/index.js';
import { tinyModelConfig } from '../../src/model/config.js';
import { localPolicy } from '../../src/policy/local.js';
import type { OptimizerSpec } from '../../src/policy/types.js';
import { ARITH_ALPHABET } from '../../src/tasks/arith.js';
import { CharTokenizer } from '../../src/tokenizer/char.js';

const tok = new CharTokenizer(ARITH_ALPHABET);
const cfg = tinyModelConfig(tok.vocabSize, { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 64, bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId });
const spec: OptimizerSpec = { lr: 1e-2, minLr: 1e-3, schedule: 'cosine', warmupSteps: 0, totalSteps: 10, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1, freeze: [], microBatch: 2 };
const batch = [
  { prompt: '1+2=', completion: '3' },
  { prompt: '2+2=', completion: '4' },
  { prompt: '3+4=', completion: '7' },
];
const make = () => localPolicy({ config: cfg, tokenizer: tok, maxSeq: 32, maxBatch: 4, kernels: getBackend('ts'), initSeed: 5 });

test('training is visible to sampling (shared weights) and a step lowers the loss', async () => {
  const p = make();
  await p.configureOptimizer(spec, { reset: true });
  const before = await p.logprobs([{ prompt: '1+2=', completion: '3' }]);
  const l0 = await p.evalLoss(batch);
  for (let i = 0; i < 5; i++) await p.train(batch);
  const l1 = await p.evalLoss(batch);
  assert.ok(l1 < l0, `loss ${l0} → ${l1}`);
  const after = await p.logprobs([{ prompt: '1+2=', completion: '3' }]);
  assert.notDeepEqual(after, before);
  assert.equal(p.optimizerStatus()!.step, 5);
});

test('configureOptimizer: reset zeroes moments and step; keep carries them', async () => {
  const p = make();
  await p.configureOptimizer(spec, { reset: true });
  await p.train(batch);
  await p.train(batch);
  const m = (p.backend as unknown as { trainer: { state: { m: Float32Array; step: number } } }).trainer.state;
  const mBefore = m.m.slice();
  assert.ok(mBefore.some((x) => x !== 0));
  await p.configureOptimizer({ ...spec, totalSteps: 20 }, { reset: false });
  const kept = (p.backend as unknown as { trainer: { state: { m: Float32Array; step: number } } }).trainer.state;
  assert.deepEqual(kept.m, mBefore);
  assert.equal(kept.step, 2);
  assert.equal(p.optimizerStatus()!.spec.totalSteps, 20);
  await p.configureOptimizer(spec, { reset: true });
  const fresh = (p.backend as unknown as { trainer: { state: { m: Float32Array; v: Float32Array; step: number } } }).trainer.state;
  assert.ok(fresh.m.every((x) => x === 0) && fresh.v.every((x) => x === 0));
  assert.equal(fresh.step, 0);
});

test('snapshot/restore brings back weights (and optimizer when asked)', async () => {
  const p = make();
  await p.configureOptimizer(spec, { reset: true });
  const w0 = p.backend.model.params.slice();
  const snap = await p.snapshot({ optimizer: true });
  await p.train(batch);
  assert.notDeepEqual(p.backend.model.params, w0);
  await p.restore(snap);
  assert.deepEqual(p.backend.model.params, w0);
  assert.equal(p.optimizerStatus()!.step, 0);
});

test('save/load round-trips weights, optimizer state and the caller state bit for bit; training continues identically', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bstar-policy-'));
  try {
    const a = make();
    await a.configureOptimizer(spec, { reset: true });
    await a.train(batch);
    await a.save(path.join(dir, 'ck'), { iteration: 3, cursor: [1, 2] });
    const b = make();
    const st = await b.load(path.join(dir, 'ck'));
    assert.deepEqual(st, { iteration: 3, cursor: [1, 2] });
    assert.deepEqual(b.backend.model.params, a.backend.model.params);
    assert.deepEqual(b.optimizerStatus(), a.optimizerStatus());
    const ra = await a.train(batch);
    const rb = await b.train(batch);
    assert.deepEqual(rb, ra);
    assert.deepEqual(b.backend.model.params, a.backend.model.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sampling is seeded per request id', async () => {
  const p = make();
  const params = { n: 3, temperature: 1, topP: 1, maxTokens: 5, stop: [], seed: 7 };
  const a = await p.sample([{ id: 'x', prompt: '1+2=' }, { id: 'y', prompt: '2+2=' }], params);
  const b = await p.sample([{ id: 'y', prompt: '2+2=' }], params);
  assert.deepEqual(b.completions[0], a.completions[1]);
  assert.equal(a.completions[0].length, 3);
});
