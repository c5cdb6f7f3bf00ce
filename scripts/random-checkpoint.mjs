#!/usr/bin/env node
// Writes a random-weight checkpoint with a real model's exact public config.json (for memory and speed
// measurements, and for trying bstar on a real-sized model without downloading one). Run after a build:
//
//   node scripts/random-checkpoint.mjs smollm2-135m /tmp/smollm2-135m
//   node scripts/random-checkpoint.mjs qwen2.5-0.5b /tmp/qwen2.5-0.5b
//   node scripts/random-checkpoint.mjs smollm2-135m /tmp/smol --tokenizer test/fixtures/tokenizers/bytelevel
//
// Weights are initialised as transformers' _init_weights does (matrices ~ N(0, initializer_range²),
// biases 0, RMSNorm weights 1) from a seeded generator (--seed, default 0), and stored in the
// config's torch_dtype (bfloat16 for both presets) unless --dtype says otherwise. With --tokenizer
// <dir> (tokenizer.json + tokenizer_config.json) the tokenizer files are written beside the weights and
// bos/eos/pad ids are taken from it (the presets' ids belong to their own tokenizers).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { parseModelConfig, withChanges, TORCH_DTYPES } = await import(path.join(root, 'dist/src/model/config.js'));
const { paramTable } = await import(path.join(root, 'dist/src/model/params.js'));
const { saveCheckpoint } = await import(path.join(root, 'dist/src/model/checkpoint.js'));
const { loadTokenizer } = await import(path.join(root, 'dist/src/tokenizer/index.js'));
const { Rng } = await import(path.join(root, 'dist/src/util/rng.js'));

/** The public config.json of each model, field for field. */
export const PRESETS = {
  // HuggingFaceTB/SmolLM2-135M
  'smollm2-135m': {
    architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0,
    hidden_act: 'silu', hidden_size: 576, initializer_range: 0.041666666666666664, intermediate_size: 1536, is_llama_config: true,
    max_position_embeddings: 8192, mlp_bias: false, model_type: 'llama', num_attention_heads: 9, num_hidden_layers: 30,
    num_key_value_heads: 3, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_interleaved: false, rope_scaling: null, rope_theta: 100000,
    tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.42.3', use_cache: true, vocab_size: 49152,
  },
  // Qwen/Qwen2.5-0.5B
  'qwen2.5-0.5b': {
    architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu',
    hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24,
    model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6,
    rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.40.1',
    use_cache: true, use_sliding_window: false, vocab_size: 151936,
  },
};

function usage(msg) {
  console.error(`random-checkpoint: ${msg}\nusage: node scripts/random-checkpoint.mjs <${Object.keys(PRESETS).join('|')}> <out-dir> [--seed n] [--dtype ${TORCH_DTYPES.join('|')}] [--tokenizer <dir>]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const [preset, out] = args;
if (!preset || !out) usage('a preset and an output directory are required');
if (!(preset in PRESETS)) usage(`unknown preset "${preset}"`);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const seed = Number(opt('seed') ?? 0);
if (!Number.isSafeInteger(seed) || seed < 0) usage(`--seed expects an integer ≥ 0, found "${opt('seed')}"`);
const dtype = opt('dtype');
if (dtype !== undefined && !TORCH_DTYPES.includes(dtype)) usage(`--dtype expects one of ${TORCH_DTYPES.join(', ')}, found "${dtype}"`);

let config = parseModelConfig(PRESETS[preset], `preset ${preset}`);
const tokDir = opt('tokenizer');
const tokenizer = tokDir ? loadTokenizer(tokDir) : undefined;
if (tokenizer) {
  if (tokenizer.vocabSize > config.vocab_size) usage(`--tokenizer ${tokDir} has ${tokenizer.vocabSize} ids, more than vocab_size ${config.vocab_size}`);
  const id = (x) => (x >= 0 ? x : null);
  config = withChanges(config, { bos_token_id: id(tokenizer.bosId), eos_token_id: tokenizer.eosId, pad_token_id: id(tokenizer.padId) }, `preset ${preset} with ${tokDir}`);
}

const rng = new Rng(seed);
const weights = new Map();
const { tensors, total } = paramTable(config);
for (const t of tensors) {
  const w = new Float32Array(t.size);
  if (t.isNorm) w.fill(1);
  else if (!t.isBias) for (let i = 0; i < t.size; i++) w[i] = rng.normal() * config.initializer_range;
  weights.set(t.name, w);
}
saveCheckpoint(out, { config, weights, tokenizer }, { dtype: dtype ?? config.torch_dtype });
console.log(JSON.stringify({ out, preset, params: total, dtype: dtype ?? config.torch_dtype, tokenizer: tokDir ?? null }));
