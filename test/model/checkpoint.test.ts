import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError, loadCheckpoint, recoverInterruptedSave, saveCheckpoint } from '../../src/model/checkpoint.js';
import { parseModelConfig, configJson, ConfigError } from '../../src/model/config.js';
import { encodeSafetensors, decodeSafetensors } from '../../src/model/safetensors.js';
import { CharTokenizer } from '../../src/tokenizer/index.js';
import { Rng } from '../../src/util/rng.js';
import { randomWeights, tinyConfig } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'bstar-ckpt-'));
}

function sample() {
  const config = tinyConfig();
  const rng = new Rng(7);
  rng.float();
  return {
    config,
    weights: randomWeights(config, 1),
    tokenizer: new CharTokenizer([...'0123456789+-*= \n'].slice(0, 20)),
    trainingState: {
      tensors: new Map([['adam.m', new Float32Array([0.1, -0.2, 3e-8])], ['adam.v', new Float32Array([1e-9, 2, 0])]]),
      state: { step: 17, lrStep: 17, rng: rng.getState(), cursor: { epoch: 1, index: 42 }, lr: 0.1 + 0.2 },
    },
  };
}

test('round trip: config, weights, tokenizer, generation config and training state come back exactly', () => {
  const dir = path.join(tmp(), 'ckpt');
  const s = sample();
  saveCheckpoint(dir, { ...s, generation: { max_new_tokens: 32 } });
  assert.deepEqual(readdirSync(dir).sort(), [
    'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json',
    'tokenizer.json', 'tokenizer_config.json', 'training_state.json', 'training_state.safetensors',
  ]);
  const cfgJson = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(cfgJson.architectures, ['LlamaForCausalLM']);
  assert.equal(cfgJson.model_type, 'llama');
  assert.equal(cfgJson.torch_dtype, 'float32');
  assert.equal(cfgJson.num_key_value_heads, 2);
  const gen = JSON.parse(readFileSync(path.join(dir, 'generation_config.json'), 'utf8'));
  assert.deepEqual([gen.bos_token_id, gen.eos_token_id, gen.pad_token_id, gen.max_new_tokens], [1, 2, 3, 32]);
  // transformers refuses safetensors without format metadata
  assert.equal(decodeSafetensors(readFileSync(path.join(dir, 'model.safetensors')), 'm').metadata.format, 'pt');

  const back = loadCheckpoint(dir);
  assert.deepEqual(back.config, s.config);
  assert.deepEqual([...back.weights.keys()].sort(), [...s.weights.keys()].sort());
  for (const [k, w] of s.weights) assert.deepEqual(back.weights.get(k), w, k);
  assert.deepEqual(back.tokenizer!.encode('12+3'), s.tokenizer.encode('12+3'));
  assert.deepEqual(back.trainingState!.state, s.trainingState.state);
  for (const [k, t] of s.trainingState.tensors) assert.deepEqual(back.trainingState!.tensors.get(k), t);
  // the restored RNG continues the same stream
  const a = Rng.fromState(s.trainingState.state.rng);
  const b = Rng.fromState((back.trainingState!.state as typeof s.trainingState.state).rng);
  assert.equal(a.nextU32(), b.nextU32());
});

test('tied embeddings: no lm_head.weight in the file, and one there is refused', () => {
  const dir = path.join(tmp(), 'tied');
  const config = tinyConfig({ tie_word_embeddings: true });
  const weights = randomWeights(config, 2);
  assert.ok(!weights.has('lm_head.weight'));
  saveCheckpoint(dir, { config, weights });
  assert.ok(!decodeSafetensors(readFileSync(path.join(dir, 'model.safetensors')), 'm').tensors.has('lm_head.weight'));
  assert.equal(loadCheckpoint(dir).weights.size, weights.size);
  rewriteWeights(dir, (t) => t.set('lm_head.weight', { shape: [24, 32], data: new Float32Array(24 * 32) }));
  assert.throws(() => loadCheckpoint(dir), /unexpected tensor "lm_head.weight".*tie_word_embeddings is true/);
});

/** Rewrites model.safetensors of `dir` after editing its tensor map. */
function rewriteWeights(dir: string, edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void, raw?: (b: Buffer) => Buffer): void {
  const f = path.join(dir, 'model.safetensors');
  const d = decodeSafetensors(readFileSync(f), f);
  const t = new Map([...d.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  edit(t);
  let buf = encodeSafetensors(t, d.metadata);
  if (raw) buf = raw(buf);
  writeFileSync(f, buf);
}

test('corrupted checkpoints: each names the file, the tensor or field, expected vs found', () => {
  const root = tmp();
  const s = sample();
  const fresh = (name: string) => {
    const d = path.join(root, name);
    saveCheckpoint(d, s);
    return d;
  };
  const q = 'model.layers.1.self_attn.k_proj.weight';
  const cases: [string, (d: string) => void, RegExp][] = [
    ['missing tensor', (d) => rewriteWeights(d, (t) => t.delete(q)), /model\.safetensors: missing tensor "model\.layers\.1\.self_attn\.k_proj\.weight" \(expected shape \[16,32\]/],
    ['extra tensor', (d) => rewriteWeights(d, (t) => t.set('model.layers.2.mlp.up_proj.weight', { shape: [1], data: new Float32Array(1) })), /unexpected tensor "model\.layers\.2\.mlp\.up_proj\.weight"/],
    ['wrong shape', (d) => rewriteWeights(d, (t) => t.set(q, { shape: [32, 16], data: t.get(q)!.data })), /tensor "model\.layers\.1\.self_attn\.k_proj\.weight": shape \[32,16\], expected \[16,32\] from config/],
    ['truncated file', (d) => rewriteWeights(d, () => {}, (b) => b.subarray(0, b.length - 100)), /model\.safetensors: tensor "lm_head\.weight": data_offsets end \d+ is beyond the \d+-byte data buffer \(file truncated/],
    ['offsets out of range', (d) => rewriteWeights(d, () => {}, (b) => Buffer.from(b.toString('latin1').replace(/"data_offsets":\[0,(\d+)\]/, (_m, e) => `"data_offsets":[0,${Number(e) + 4}]`), 'latin1')), /data_offsets \[0,\d+\] span \d+ bytes, shape \[24,32\] of F32 needs 3072/],
    ['garbage header', (d) => writeFileSync(path.join(d, 'model.safetensors'), Buffer.from('not a safetensors file at all')), /header length \d+ exceeds|truncated/],
    ['wrong dtype', (d) => {
      const f = path.join(d, 'model.safetensors');
      const b = readFileSync(f);
      writeFileSync(f, Buffer.from(b.toString('latin1').replace('"model.norm.weight":{"dtype":"F32"', '"model.norm.weight":{"dtype":"I32"'), 'latin1'));
    }, /model\.safetensors: tensor "model\.norm\.weight": dtype I32 cannot be read \(expected F32, F16 or BF16\)/],
    ['unknown config field', (d) => editConfig(d, (c) => (c.rope_typo = 1)), /config\.json: field "rope_typo": expected no such field \(a llama config\.json has /],
    ['config wrong type', (d) => editConfig(d, (c) => (c.hidden_size = '32')), /config\.json: field "hidden_size": expected a positive integer, found "32"/],
    ['config missing field', (d) => editConfig(d, (c) => delete c.hidden_size), /config\.json: field "hidden_size": expected a positive integer \(required\), found nothing \(missing\)/],
    ['config unsupported value', (d) => editConfig(d, (c) => (c.rope_scaling = { type: 'dynamic', factor: 2 })), /field "rope_scaling\.rope_type": expected "default" \(none\), "linear" or "llama3" \(other RoPE scalings are not implemented\), found "dynamic"/],
    ['config field of another family', (d) => editConfig(d, (c) => (c.use_sliding_window = false)), /field "use_sliding_window": expected no such field for model_type "llama" \(it belongs to qwen2\)/],
    ['tokenizer larger than vocab_size', (d) => editConfig(d, (c) => (c.vocab_size = 19)), /tokenizer\.json: tokenizer has 20 ids but .*config\.json field "vocab_size" is 19/],
    ['NaN weight', (d) => rewriteWeights(d, (t) => void (t.get('model.embed_tokens.weight')!.data[5] = NaN)), /model\.safetensors: tensor "model\.embed_tokens\.weight" has NaN at flat index 5 \(non-finite weights/],
    ['config shape mismatch', (d) => editConfig(d, (c) => (c.intermediate_size = 40)), /tensor "model\.layers\.0\.mlp\.gate_proj\.weight": shape \[48,32\], expected \[40,32\]/],
    ['config not JSON', (d) => writeFileSync(path.join(d, 'config.json'), '{"vocab_size": 24,'), /config\.json: not valid JSON/],
    ['no weights', (d) => rmSync(path.join(d, 'model.safetensors')), /model\.safetensors: not found/],
    ['training state half missing', (d) => rmSync(path.join(d, 'training_state.json')), /training state is incomplete: .*training_state\.json is missing/],
    ['vocab_size changed', (d) => { editConfig(d, (c) => (c.vocab_size = 22)); rmSync(path.join(d, 'tokenizer.json')); }, /shape \[24,32\], expected \[22,32\]/],
  ];
  for (const [what, corrupt, re] of cases) {
    const d = fresh(what.replace(/ /g, '_'));
    corrupt(d);
    assert.throws(() => loadCheckpoint(d), (e: unknown) => {
      assert.ok(e instanceof CheckpointError, `${what}: ${e}`);
      assert.match((e as Error).message, re, what);
      return true;
    });
  }
  rmSync(root, { recursive: true, force: true });
});

function editConfig(dir: string, f: (c: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(readFileSync(file, 'utf8'));
  f(c);
  writeFileSync(file, JSON.stringify(c));
}

test('bad data to save is refused before anything is written', () => {
  const root = tmp();
  const dir = path.join(root, 'c');
  const s = sample();
  const w = new Map(s.weights);
  w.set('model.norm.weight', new Float32Array(31));
  assert.throws(() => saveCheckpoint(dir, { ...s, weights: w }), /weights to save: tensor "model\.norm\.weight" has 31 elements, shape \[32\] needs 32/);
  assert.throws(() => saveCheckpoint(dir, { ...s, trainingState: { tensors: new Map(), state: { lr: NaN } } }), /training state: state\.lr is NaN/);
  assert.throws(() => saveCheckpoint(dir, { ...s, config: { ...s.config, num_key_value_heads: 3 } }), /field "num_attention_heads": expected a multiple of num_key_value_heads=3, found 4/);
  const nan = new Map(s.weights);
  nan.set('model.norm.weight', Float32Array.from(s.weights.get('model.norm.weight')!, (x, i) => (i === 7 ? Infinity : x)));
  assert.throws(() => saveCheckpoint(dir, { ...s, weights: nan }), /tensor "model\.norm\.weight" has Infinity at flat index 7; a checkpoint with non-finite weights is not written/);
  assert.deepEqual(readdirSync(root), []);
  rmSync(root, { recursive: true, force: true });
});

test('atomic replace: a failure mid-write leaves the previous checkpoint intact and no temp dir', () => {
  const root = tmp();
  const dir = path.join(root, 'c');
  const s = sample();
  saveCheckpoint(dir, s);
  const s2 = { ...s, weights: randomWeights(s.config, 99) };
  assert.throws(() => saveCheckpoint(dir, s2, { afterFile: (f) => { if (f === 'model.safetensors') throw new Error('disk full'); } }), /disk full/);
  assert.deepEqual(readdirSync(root), ['c']);
  assert.deepEqual(loadCheckpoint(dir).weights.get('model.norm.weight'), s.weights.get('model.norm.weight'));
  saveCheckpoint(dir, s2);
  assert.deepEqual(loadCheckpoint(dir).weights.get('model.norm.weight'), s2.weights.get('model.norm.weight'));
  assert.deepEqual(readdirSync(root), ['c']);
  rmSync(root, { recursive: true, force: true });
});

test('atomic replace: a process killed mid-write leaves the previous checkpoint loadable', () => {
  const root = tmp();
  const dir = path.join(root, 'c');
  const s = sample();
  saveCheckpoint(dir, s);
  const mod = path.resolve(here, '../../src/model/checkpoint.js');
  const helpers = path.resolve(here, 'helpers.js');
  const script = `
    const { saveCheckpoint } = await import(${JSON.stringify(mod)});
    const { randomWeights, tinyConfig } = await import(${JSON.stringify(helpers)});
    const config = tinyConfig();
    saveCheckpoint(${JSON.stringify(dir)}, { config, weights: randomWeights(config, 5) },
      { afterFile: (f) => { if (f === 'model.safetensors') process.kill(process.pid, 'SIGKILL'); } });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(r.signal, 'SIGKILL', r.stderr.toString());
  const left = readdirSync(root).sort();
  assert.equal(left[0].startsWith('.c.tmp-'), true, `temp dir left by the crash: ${left}`);
  assert.ok(existsSync(dir));
  assert.deepEqual(loadCheckpoint(dir).weights.get('model.norm.weight'), s.weights.get('model.norm.weight'));
  rmSync(root, { recursive: true, force: true });
});

test('config parsing accepts a transformers-written Llama config and refuses unknown fields', () => {
  const hf = {
    _name_or_path: 'x', architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000,
    eos_token_id: [128001, 128009], head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192,
    max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 16,
    num_key_value_heads: 8, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 500000.0, tie_word_embeddings: true,
    torch_dtype: 'bfloat16', transformers_version: '4.45.0', use_cache: true, vocab_size: 128256,
  };
  const c = parseModelConfig(hf);
  assert.deepEqual(c.eos_token_id, [128001, 128009]);
  assert.equal(c.head_dim, 64);
  assert.equal(c.torch_dtype, 'bfloat16');
  assert.deepEqual(parseModelConfig(configJson(c)), c);
  assert.throws(() => parseModelConfig({ ...hf, model_type: 'mistral' }, 'm/config.json'), (e: unknown) => e instanceof ConfigError && /m\/config\.json: field "attention_bias": expected no such field for model_type "mistral" \(it belongs to llama\)/.test((e as Error).message));
  const { attention_bias: _a, mlp_bias: _m, pretraining_tp: _p, ...noLlama } = hf;
  assert.throws(() => parseModelConfig({ ...noLlama, model_type: 'mistral' }, 'm/config.json'), (e: unknown) => e instanceof ConfigError && /m\/config\.json: field "architectures": expected \["MistralForCausalLM"\] for model_type "mistral"/.test((e as Error).message));
  assert.throws(() => parseModelConfig({ ...hf, sliding_window: 4096 }), /field "sliding_window": expected no such field for model_type "llama" \(it belongs to qwen2, mistral\)/);
  assert.throws(() => parseModelConfig({ ...hf, foo: 1 }, 'x/config.json'), /^ConfigError: x\/config\.json: field "foo": expected no such field \(a llama config\.json has vocab_size, /);
});

test('loading a missing dir after an interrupted replace points at the previous checkpoint', () => {
  const root = tmp();
  const s = sample();
  saveCheckpoint(path.join(root, '.c.old-1-2'), s);
  assert.throws(() => loadCheckpoint(path.join(root, 'c')), /checkpoint directory not found \(a replace was interrupted; the previous checkpoint is at .*\.c\.old-1-2\)/);
  rmSync(root, { recursive: true, force: true });
});

test('a config.json written by transformers 5 (rope_parameters, no architectures) parses', () => {
  const file = path.resolve(here, '../../../test/fixtures/transformers5_llama_config.json');
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  const c = parseModelConfig(raw, file);
  assert.equal(c.rope_theta, 10000);
  assert.equal(c.tie_word_embeddings, true);
  assert.equal(c.pad_token_id, null);
  assert.equal(c.head_dim, 8);
  assert.equal(c.rope_scaling, null);
  const l3 = { rope_type: 'llama3', rope_theta: 5e5, factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  const c3 = parseModelConfig({ ...raw, rope_parameters: l3 }, file);
  assert.equal(c3.rope_theta, 5e5);
  assert.deepEqual(c3.rope_scaling, { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 });
  assert.throws(() => parseModelConfig({ ...raw, rope_parameters: { rope_type: 'llama3', rope_theta: 5e5, factor: 8 } }, file), /field "rope_parameters\.low_freq_factor": expected a finite number > 0, found nothing \(missing\)/);
  assert.throws(() => parseModelConfig({ ...raw, rope_parameters: { rope_type: 'yarn', rope_theta: 5e5, factor: 8 } }, file), /field "rope_parameters\.rope_type": expected "default" \(none\), "linear" or "llama3" \(other RoPE scalings are not implemented\), found "yarn"/);
  assert.throws(() => parseModelConfig({ ...raw, rope_theta: 500 }, file), /field "rope_theta": expected the same as rope_parameters\.rope_theta 10000, found 500/);
  // without either, rope_theta takes transformers' default
  const { rope_parameters: _drop, ...noRope } = raw;
  assert.equal(parseModelConfig(noRope, file).rope_theta, 10000);
});

test('recoverInterruptedSave puts a moved-aside checkpoint back and removes stale temp dirs', () => {
  const root = tmp();
  const s = sample();
  saveCheckpoint(path.join(root, '.c.old-10-1000'), s);
  saveCheckpoint(path.join(root, '.c.old-10-2000'), { ...s, weights: randomWeights(s.config, 8) });
  saveCheckpoint(path.join(root, '.c.tmp-11-3000'), s);
  saveCheckpoint(path.join(root, 'other'), s);
  const r = recoverInterruptedSave(path.join(root, 'c'));
  assert.equal(r.restored, path.join(root, '.c.old-10-2000'));
  assert.deepEqual(r.removed.map((f) => path.basename(f)).sort(), ['.c.old-10-1000', '.c.tmp-11-3000']);
  assert.deepEqual(readdirSync(root).sort(), ['c', 'other']);
  assert.deepEqual(loadCheckpoint(path.join(root, 'c')).weights.get('model.norm.weight'), randomWeights(s.config, 8).get('model.norm.weight'));
  // an intact checkpoint is left alone, only debris goes
  saveCheckpoint(path.join(root, '.c.tmp-12-4000'), s);
  assert.deepEqual(recoverInterruptedSave(path.join(root, 'c')), { restored: null, removed: [path.join(root, '.c.tmp-12-4000')] });
  rmSync(root, { recursive: true, force: true });
});
