// Shared by the model tests: tiny configs and seeded random weights in the HF layout.
import { Rng } from '../../src/util/rng.js';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.js';
import { paramTable, tensorsInHfOrder } from '../../src/model/params.js';

/** A tiny llama config (GQA, untied); `over` holds config.json fields (validated like a file). */
export function tinyConfig(over: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig({
    vocab_size: 24,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 3,
    ...over,
  }, 'test config');
}

/** Normal(0, scale) weights drawn in transformers' tensor order; norms around 1 so they matter. */
export function randomWeights(cfg: ModelConfig, seed: number, scale = 0.3): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const m = new Map<string, Float32Array>();
  for (const { name, shape, size: n } of tensorsInHfOrder(paramTable(cfg).tensors)) {
    const w = new Float32Array(n);
    const isNorm = shape.length === 1 && !name.endsWith('.bias');
    for (let i = 0; i < n; i++) w[i] = isNorm ? 1 + 0.2 * rng.normal() : scale * rng.normal();
    m.set(name, w);
  }
  return m;
}
