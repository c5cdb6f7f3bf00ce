// `bstar run` on a user's checkpoint with its own tokenizer: a SmolLM2-shaped (llama, tied, GQA 3:1)
// miniature with a real byte-level BPE tokenizer.json and a chat template; task prompts go through
// the template (prompt.chat auto|on|off); a 2-iteration gsm8k run stopped after iteration 1 and
// resumed ends exactly where an uninterrupted run does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { parseModelConfig } from '../../src/model/config.js';
import { paramTable } from '../../src/model/params.js';
import { withChatTemplate } from '../../src/run/chatPrompt.js';
import { buildContext, resumeRun, startRun } from '../../src/run/run.js';
import { getTask } from '../../src/tasks/index.js';
import { CharTokenizer, loadTokenizer } from '../../src/tokenizer/index.js';
import type { HfTokenizer } from '../../src/tokenizer/hf.js';
import { Rng } from '../../src/util/rng.js';
import { deterministicPart } from '../../src/run/records.js';
import { tinyConfig } from './tiny.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bpeDir = path.resolve(here, '../../../test/fixtures/tokenizers/bytelevel');
const tok = loadTokenizer(bpeDir) as HfTokenizer;

test('prompt.chat: the task prompt becomes one user turn with the generation prompt; BOS once; off and plain tokenizers leave it alone', () => {
  const gsm = getTask('gsm8k');
  const q = { id: 'q1', prompt: 'Natalia sold 48 clips. How many?', gold: { answer: '48', solution: 'She sold 48.\n#### 48' } } as unknown as Parameters<typeof gsm.formatPrompt>[0];
  const chat = withChatTemplate(gsm, tok, 'auto', 'bytelevel');
  const text = chat.formatPrompt(q);
  assert.equal(text, `<|start_header_id|>user<|end_header_id|>\n\n${gsm.formatPrompt(q).trim()}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`);
  // the ids the policy sees (encode with BOS) are apply_chat_template(tokenize=True)'s: the full render, special tokens parsed, no extra BOS
  const full = tok.applyChatTemplate([{ role: 'user', content: gsm.formatPrompt(q) }], { addGenerationPrompt: true });
  assert.ok(full.startsWith('<|begin_of_text|>'));
  assert.deepEqual(tok.encode(text, { addBos: true }), tok.encode(full));
  assert.equal(tok.encode(text, { addBos: true }).filter((id) => id === tok.bosId).length, 1);
  // the other task functions are the task's own
  assert.equal(chat.name, gsm.name);
  assert.equal(chat.goldSolution(q), gsm.goldSolution(q));
  assert.equal(withChatTemplate(gsm, tok, 'off', 'bytelevel').formatPrompt(q), gsm.formatPrompt(q));
  const plain = new CharTokenizer([...'abc']);
  assert.equal(withChatTemplate(gsm, plain, 'auto', 'the gsm8k tokenizer').formatPrompt(q), gsm.formatPrompt(q));
  assert.throws(() => withChatTemplate(gsm, plain, 'on', 'the gsm8k tokenizer'), /^ChatPromptError: prompt\.chat: "on" needs a chat template, but the gsm8k tokenizer has none/);
});

/** A SmolLM2-shaped miniature (SmolLM2's config fields, small sizes) with the BPE tokenizer, random weights. */
function writeCheckpoint(dir: string): void {
  const config = parseModelConfig({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', attention_bias: false, mlp_bias: false, is_llama_config: true,
    rope_interleaved: false, hidden_act: 'silu', hidden_size: 48, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 3,
    num_key_value_heads: 1, max_position_embeddings: 1024, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true,
    vocab_size: 448, bos_token_id: tok.bosId, eos_token_id: tok.eosId, initializer_range: 0.041666666666666664, torch_dtype: 'bfloat16',
  }, 'smollm2-mini');
  const rng = new Rng(5);
  const weights = new Map<string, Float32Array>();
  for (const t of paramTable(config).tensors) weights.set(t.name, t.isNorm ? new Float32Array(t.size).fill(1) : Float32Array.from({ length: t.size }, () => rng.normal() * 0.05));
  saveCheckpoint(dir, { config, weights, tokenizer: tok });
}

test('bstar run on a BPE-tokenizer checkpoint with a chat template: gsm8k, 2 iterations, stop after 1 + resume = uninterrupted', async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-chat-'));
  try {
    const ck = path.join(tmp, 'smol');
    writeCheckpoint(ck);
    const overrides = [
      `model.checkpoint=${JSON.stringify(ck)}`, 'task.name=gsm8k', 'task.options={}', 'task.trainSize=6', 'iterations=2', 'method=online-rft',
      'queriesPerIteration=3', 'samplesPerQuery=2', 'targetSamples=4', 'sampling.maxTokens=12', 'sft.batchSize=3', 'train.batchSize=2',
      'train.stepsPerIteration=1', 'eval.testSize=2', 'eval.k=2', 'eval.s=1', 'eval.samples=2',
    ];
    const c = tinyConfig(overrides);
    assert.equal(c.prompt.chat, 'auto');
    // the context sees chat prompts
    const ctx = await buildContext(c, { log: () => {} });
    assert.match(ctx.task.formatPrompt(ctx.test[0]), /^<\|start_header_id\|>user<\|end_header_id\|>\n\n# Question/);

    const full = await startRun(c, path.join(tmp, 'full'), { log: () => {} });
    const paused = await startRun(c, path.join(tmp, 'resumed'), { log: () => {}, stopAfter: 1 });
    assert.equal(paused.rows.length, 2);
    const resumed = await resumeRun(path.join(tmp, 'resumed'), { log: () => {} });
    const noTime = (rows: typeof full.rows) => rows.map((r) => ({ ...r, seconds: 0 }));
    assert.deepEqual(noTime(resumed.rows), noTime(full.rows));
    // phase and step records without their wall-clock parts (deterministicPart: timing, a step's tokens/s)
    const metrics = (d: string) => readFileSync(path.join(tmp, d, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => ({ ...deterministicPart(JSON.parse(l)), run: '' }));
    assert.deepEqual(metrics('resumed'), metrics('full'));
    assert.equal(full.rows.length, 3);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
