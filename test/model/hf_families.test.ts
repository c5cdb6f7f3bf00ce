// Qwen2 and Mistral checkpoints in transformers' layouts (fixtures from
// `test/fixtures/make_hf_checkpoint.py write-family {qwen2,mistral} …`: BF16 / F16 weights, q/k/v biases,
// two shards with model.safetensors.index.json) load and reproduce PyTorch's logits and greedy tokens;
// features bstar does not implement are refused naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend, getKernels } from '../../src/engine/index.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { logitsOf, maxDiff } from './decoder_logits.js';
import { ConfigError, contextLength, parseModelConfig } from '../../src/model/config.js';
import { Sampler } from '../../src/model/sampler.js';
import { CharTokenizer } from '../../src/tokenizer/index.js';
import type { Kernels } from '../../src/engine/kernels.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');


// ids-only prompts: a tokenizer with exactly vocab_size ids decodes every generated id
const tokFor = (V: number) => new CharTokenizer([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].slice(0, V - 4));

for (const [name, family, dtype] of [['hf_tiny_qwen2', 'qwen2', 'BF16'], ['hf_tiny_mistral', 'mistral', 'F16']] as const) {
  test(`${family} (${dtype}${family === 'mistral' ? ', 2 shards' : ', q/k/v biases'}): logits to 1e-4 and greedy tokens match PyTorch on every backend`, () => {
    const dir = path.join(fixtures, name);
    const exp = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8'));
    assert.equal(exp.dtype, dtype);
    const ck = loadCheckpoint(dir);
    assert.equal(ck.config.model_type, family);
    if (family === 'qwen2') assert.ok(ck.weights.has('model.layers.1.self_attn.k_proj.bias'));
    for (const backend of ['ts', 'native'] as const) {
      let k: Kernels;
      try {
        k = getBackend(backend);
      } catch {
        continue; // the native addon is optional; ts always runs
      }
      const diff = maxDiff(logitsOf(k, ck.config, ck.weights, exp.prompt_ids), exp.logits);
      assert.ok(diff < 1e-4, `${backend}: max |logit diff| ${diff}`);
    }
    const s = new Sampler(ck.config, ck.weights, tokFor(ck.config.vocab_size)).generate([{ prompt: exp.prompt_ids, n: 2 }], { seed: 0, temperature: 0, maxNewTokens: exp.max_new_tokens });
    assert.deepEqual(s.samples[0][0].tokens, exp.greedy_ids);
    assert.deepEqual(s.samples[0][1].tokens, exp.greedy_ids);
  });
}

test('a loaded Qwen2 checkpoint saves as a Qwen2 config.json + biases and reloads to the same logits', () => {
  const src = loadCheckpoint(path.join(fixtures, 'hf_tiny_qwen2'));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-qwen2-'));
  try {
    saveCheckpoint(path.join(tmp, 'ck'), { config: src.config, weights: src.weights });
    const cfg = JSON.parse(readFileSync(path.join(tmp, 'ck', 'config.json'), 'utf8'));
    assert.deepEqual(cfg.architectures, ['Qwen2ForCausalLM']);
    assert.equal(cfg.use_sliding_window, false);
    const back = loadCheckpoint(path.join(tmp, 'ck'));
    const ids = [1, 5, 9, 13];
    assert.deepEqual(logitsOf(getKernels(), back.config, back.weights, ids), logitsOf(getKernels(), src.config, src.weights, ids));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

function withConfig(fixture: string, edit: (c: Record<string, unknown>) => void, f: (dir: string) => void): void {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-fam-'));
  try {
    cpSync(path.join(fixtures, fixture), tmp, { recursive: true });
    const c = JSON.parse(readFileSync(path.join(tmp, 'config.json'), 'utf8'));
    edit(c);
    writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(c));
    f(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

test('sliding windows are honoured by capping the context at the window; unsupported features are refused naming the field', () => {
  withConfig('hf_tiny_mistral', (c) => (c.sliding_window = 16), (dir) => {
    const ck = loadCheckpoint(dir);
    assert.equal(contextLength(ck.config), 16);
    // the sampler never runs a position outside the window: a long prompt is refused, generation stops at the window
    const s = new Sampler(ck.config, ck.weights, tokFor(ck.config.vocab_size));
    assert.throws(() => s.generate([{ prompt: new Array(16).fill(5) }], { seed: 0, temperature: 0, maxNewTokens: 4 }), /context \(max_position_embeddings\) is 16/);
    const g = s.generate([{ prompt: [1, 5, 6] }], { seed: 0, temperature: 0, maxNewTokens: 40, ignoreEos: true }).samples[0][0];
    assert.equal(g.tokens.length, 13);
    assert.equal(g.finishReason, 'length');
  });
  withConfig('hf_tiny_mistral', (c) => (c.sliding_window = null), (dir) => assert.equal(contextLength(loadCheckpoint(dir).config), 64));
  withConfig('hf_tiny_qwen2', (c) => ((c.use_sliding_window = true), (c.sliding_window = 32)), (dir) => assert.equal(contextLength(loadCheckpoint(dir).config), 32));
  withConfig('hf_tiny_qwen2', (c) => (c.rope_scaling = { rope_type: 'yarn', factor: 4 }), (dir) =>
    assert.throws(() => loadCheckpoint(dir), (e: Error) => e instanceof CheckpointError && /config\.json: field "rope_scaling\.rope_type": expected "default" \(none\), "linear" or "llama3" .*found "yarn"/.test(e.message)));
  withConfig('hf_tiny_qwen2', (c) => (c.attention_bias = true), (dir) =>
    assert.throws(() => loadCheckpoint(dir), /field "attention_bias": expected no such field for model_type "qwen2" \(it belongs to llama\)/));
  withConfig('hf_tiny_qwen2', (c) => ((c.model_type = 'gemma'), (c.architectures = ['GemmaForCausalLM'])), (dir) =>
    assert.throws(() => loadCheckpoint(dir), /field "model_type": expected one of "llama", "qwen2", "mistral"/));
  withConfig('hf_tiny_qwen2', (c) => (c.architectures = ['LlamaForCausalLM']), (dir) =>
    assert.throws(() => loadCheckpoint(dir), /field "architectures": expected \["Qwen2ForCausalLM"\] for model_type "qwen2"/));
  withConfig('hf_tiny_qwen2', (c) => (c.hidden_act = 'gelu'), (dir) => assert.throws(() => loadCheckpoint(dir), /field "hidden_act"/));
  assert.throws(() => parseModelConfig({ ...JSON.parse(readFileSync(path.join(fixtures, 'hf_tiny_llama', 'config.json'), 'utf8')), sliding_window: 8 }), ConfigError);
});

test('sharded checkpoints: a wrong or missing shard entry is named', () => {
  const edit = (dir: string, f: (ix: { weight_map: Record<string, string> }) => void) => {
    const p = path.join(dir, 'model.safetensors.index.json');
    const ix = JSON.parse(readFileSync(p, 'utf8'));
    f(ix);
    writeFileSync(p, JSON.stringify(ix));
  };
  withConfig('hf_tiny_mistral', () => {}, (dir) => {
    edit(dir, (ix) => delete ix.weight_map['model.norm.weight']);
    assert.throws(() => loadCheckpoint(dir), /weight_map has no entry for tensor "model.norm.weight"/);
  });
  withConfig('hf_tiny_mistral', () => {}, (dir) => {
    edit(dir, (ix) => (ix.weight_map['model.norm.weight'] = ix.weight_map['model.norm.weight'] === 'model-00001-of-00002.safetensors' ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors'));
    assert.throws(() => loadCheckpoint(dir), /holds tensor "model.norm.weight" which .* places in|missing tensor "model.norm.weight"/);
  });
  withConfig('hf_tiny_mistral', () => {}, (dir) => {
    rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    assert.throws(() => loadCheckpoint(dir), /model-00002-of-00002.safetensors: shard named by .* not found/);
  });
});
