// Interop with PyTorch (fixtures from test/fixtures/make_hf_checkpoint.py; see its docstring).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsKernels } from '../../src/engine/ts/index.js';
import { getKernels } from '../../src/engine/index.js';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { logitsOf, maxDiff } from './decoder_logits.js';
import { Sampler } from '../../src/model/sampler.js';
import { CharTokenizer } from '../../src/tokenizer/index.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');


test('a checkpoint written by PyTorch loads; logits match to 1e-4 and greedy decoding token for token', () => {
  const dir = path.join(fixtures, 'hf_tiny_llama');
  const exp = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8'));
  const ck = loadCheckpoint(dir);
  assert.equal(ck.config.num_key_value_heads, 2);
  assert.equal(ck.tokenizer, null);
  const diff = maxDiff(logitsOf(getKernels(), ck.config, ck.weights, exp.prompt_ids), exp.logits);
  assert.ok(diff < 1e-4, `max |logit diff| ${diff}`);
  // ids-only prompts: any tokenizer with ≤ vocab_size ids will do for decoding text
  const tok = new CharTokenizer([...'abcdefghijklmnopqrstuvwxyz0123456789']);
  const s = new Sampler(ck.config, ck.weights, tok).generate([{ prompt: exp.prompt_ids }], { seed: 0, temperature: 0, maxNewTokens: exp.max_new_tokens });
  assert.deepEqual(s.samples[0][0].tokens, exp.greedy_ids);
});

test('a checkpoint written by bstar was read back by PyTorch with matching logits and greedy tokens', () => {
  const dir = path.join(fixtures, 'bstar_tiny');
  const exp = JSON.parse(readFileSync(path.join(dir, 'bstar_expected.json'), 'utf8'));
  const check = JSON.parse(readFileSync(path.join(fixtures, 'bstar_tiny_torch_check.json'), 'utf8'));
  assert.equal(check.match, true);
  assert.ok(check.max_abs_logit_diff < 1e-4);
  assert.deepEqual(check.torch_greedy_ids, exp.greedy_ids);
  // the committed checkpoint still means what PyTorch checked: bstar today reproduces those numbers
  const ck = loadCheckpoint(dir);
  assert.ok(ck.config.tie_word_embeddings);
  const diff = maxDiff(logitsOf(getKernels(), ck.config, ck.weights, exp.prompt_ids), exp.logits);
  assert.ok(diff < 1e-5, `max |logit diff| ${diff}`);
  const s = new Sampler(ck.config, ck.weights, ck.tokenizer!, { kernels: tsKernels }).generate([{ prompt: exp.prompt_ids }], { seed: 0, temperature: 0, maxNewTokens: exp.max_new_tokens });
  assert.deepEqual(s.samples[0][0].tokens, exp.greedy_ids);
});
