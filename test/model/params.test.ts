// Parameter layout: HF names and [out, in] shapes, one flat buffer, views made once, seeded init.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tsKernels } from '../../src/engine/index.js';
import { configJson, parseModelConfig, tinyModelConfig, withChanges } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { countParams } from '../../src/model/params.js';

test('namedParams: HF names and shapes, views into one flat buffer', () => {
  const cfg = parseModelConfig({ hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 7 });
  const m = new LlamaModel(cfg, { maxBatch: 1, maxSeq: 4, kernels: tsKernels });
  const shapes = Object.fromEntries(m.tensors.map((t) => [t.name, t.shape]));
  assert.deepEqual(shapes['model.embed_tokens.weight'], [7, 8]);
  assert.deepEqual(shapes['model.layers.1.self_attn.q_proj.weight'], [8, 8]);
  assert.deepEqual(shapes['model.layers.1.self_attn.k_proj.weight'], [4, 8]);
  assert.deepEqual(shapes['model.layers.0.self_attn.o_proj.weight'], [8, 8]);
  assert.deepEqual(shapes['model.layers.0.mlp.gate_proj.weight'], [12, 8]);
  assert.deepEqual(shapes['model.layers.0.mlp.down_proj.weight'], [8, 12]);
  assert.deepEqual(shapes['model.norm.weight'], [8]);
  assert.deepEqual(shapes['lm_head.weight'], [7, 8]);
  // 56 embed + 2·(8 + 64 + 32 + 32 + 64 + 8 + 3·96) + 8 + 56
  assert.equal(m.numParams, 56 + 2 * (8 + 64 + 32 + 32 + 64 + 8 + 288) + 8 + 56);
  assert.equal(countParams(withChanges(cfg, { tie_word_embeddings: true })), m.numParams - 56);
  const views = m.namedParams();
  assert.equal(views, m.namedParams()); // made once
  assert.equal(views.size, 2 + 2 * 9 + 1);
  let total = 0;
  for (const [name, v] of views) {
    assert.equal(v.buffer, m.params.buffer, name);
    total += v.length;
  }
  assert.equal(total, m.numParams);
  views.get('model.layers.1.input_layernorm.weight')![3] = 42;
  const t = m.tensors.find((x) => x.name === 'model.layers.1.input_layernorm.weight')!;
  assert.equal(m.params[t.offset + 3], 42);
});

test('seeded init: std ≈ initializer_range, norms 1, same seed same weights', () => {
  const cfg = tinyModelConfig(64, { num_hidden_layers: 1 });
  const a = new LlamaModel(cfg, { maxBatch: 1, maxSeq: 4, kernels: tsKernels });
  const b = new LlamaModel(cfg, { maxBatch: 1, maxSeq: 4, kernels: tsKernels });
  a.initWeights(5);
  b.initWeights(5);
  assert.deepEqual(a.params, b.params);
  const q = a.namedParams().get('model.layers.0.self_attn.q_proj.weight')!;
  let ss = 0;
  for (const x of q) ss += x * x;
  assert.ok(Math.abs(Math.sqrt(ss / q.length) - 0.02) < 0.001);
  assert.ok(a.namedParams().get('model.norm.weight')!.every((x) => x === 1));
  // HF config.json round trip
  assert.deepEqual(parseModelConfig(configJson(cfg)), cfg);
});
