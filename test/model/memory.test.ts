// Activation checkpointing gives bit-identical gradients with far fewer activation bytes, and the
// memory plan is what the model actually allocates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getKernels, tsKernels } from '../../src/engine/index.js';
import { parseModelConfig } from '../../src/model/config.js';
import { LlamaModel, memoryPlan } from '../../src/model/llama.js';
import { Rng } from '../../src/util/rng.js';

const cfg = parseModelConfig({
  model_type: 'qwen2', hidden_size: 64, intermediate_size: 160, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2,
  vocab_size: 97, max_position_embeddings: 64, tie_word_embeddings: true, use_sliding_window: false,
}, 'memory test config');

for (const [name, kernels] of [['ts', tsKernels], ['default', getKernels()]] as const) {
  test(`activation checkpointing: same loss and bit-identical gradients (${name} kernels, fp32)`, () => {
    const B = 3, T = 20;
    const r = new Rng(1);
    const tokens = Int32Array.from({ length: B * T }, () => r.int(cfg.vocab_size));
    const targets = Int32Array.from({ length: B * T }, () => r.int(cfg.vocab_size));
    const weights = Float32Array.from({ length: B * T }, (_, i) => (i % 5 === 0 ? 0 : 1 / (B * T)));
    const run = (recompute: boolean) => {
      const m = new LlamaModel(cfg, { maxBatch: B, maxSeq: T, kernels, recompute });
      m.initWeights(3);
      for (const t of m.tensors) if (t.isBias) m.params.fill(0.1, t.offset, t.offset + t.size);
      m.zeroGrad();
      const loss = m.forward(tokens, targets, weights, B, T);
      m.backward();
      return { loss, grads: Float32Array.from(m.grads) };
    };
    const a = run(false);
    const b = run(true);
    assert.equal(b.loss, a.loss);
    assert.ok(a.grads.every((g, i) => Object.is(g, b.grads[i])), 'gradients differ');
    assert.ok(a.grads.some((g) => g !== 0));
  });
}

test('memory plan: what the model allocates (within 2 %), and checkpointing shrinks the activations', () => {
  const B = 4, T = 48;
  for (const recompute of [false, true]) {
    const before = process.memoryUsage().arrayBuffers;
    const m = new LlamaModel(cfg, { maxBatch: B, maxSeq: T, kernels: tsKernels, recompute });
    const used = process.memoryUsage().arrayBuffers - before;
    const plan = m.memoryPlan();
    assert.equal(plan.params, m.numParams * 4);
    const want = plan.params + plan.grads + plan.activations; // no trainer: no moments
    assert.ok(Math.abs(used - want) <= 0.02 * want, `recompute ${recompute}: allocated ${used} bytes, plan says ${want}`);
    assert.equal(plan.peak, plan.params + plan.grads + plan.moments + plan.activations);
  }
  const off = memoryPlan(cfg, { maxBatch: B, maxSeq: T });
  const on = memoryPlan(cfg, { maxBatch: B, maxSeq: T, recompute: true });
  assert.ok(on.activations < 0.6 * off.activations, `${on.activations} vs ${off.activations}`);
});

test('fp32 stays bit-reproducible across thread counts with biases, GQA, tied head and checkpointing (native kernels)', () => {
  const k = getKernels();
  if (k.name !== 'native') return; // the TS kernels are single-threaded
  const start = k.info().threads;
  const B = 2, T = 24;
  const r = new Rng(7);
  const tokens = Int32Array.from({ length: B * T }, () => r.int(cfg.vocab_size));
  const weights = new Float32Array(B * T).fill(1 / (B * T));
  const grads = (threads: number, recompute: boolean) => {
    k.setThreads(threads);
    const m = new LlamaModel(cfg, { maxBatch: B, maxSeq: T, kernels: k, recompute });
    m.initWeights(11);
    for (const t of m.tensors) if (t.isBias) m.params.fill(0.05, t.offset, t.offset + t.size);
    m.zeroGrad();
    m.forward(tokens, tokens, weights, B, T);
    m.backward();
    return Float32Array.from(m.grads);
  };
  try {
    const one = grads(1, false);
    for (const [threads, recompute] of [[2, false], [2, true], [3, true]] as const) {
      const other = grads(threads, recompute);
      assert.ok(one.every((g, i) => Object.is(g, other[i])), `${threads} threads, recompute ${recompute}: gradients differ`);
    }
  } finally {
    k.setThreads(start);
  }
});
