// bstar's char tokenizer against the real Hugging Face `tokenizers` library, which loaded the
// tokenizer.json bstar wrote (test/fixtures/check_tokenizer_json.py; output committed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../../src/tokenizer/index.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

test('the tokenizers library reads bstar\'s tokenizer.json and encodes/decodes exactly as bstar does', () => {
  const check = JSON.parse(readFileSync(path.join(fixtures, 'bstar_tiny_tokenizers_check.json'), 'utf8'));
  const tok = loadTokenizer(path.join(fixtures, 'bstar_tiny'));
  assert.equal(check.vocab_size, tok.vocabSize);
  assert.ok(check.probes.length >= 5);
  for (const p of check.probes) {
    assert.deepEqual(tok.encode(p.text, { addBos: true }), p.ids, p.text);
    assert.deepEqual(tok.encode(p.text), p.ids_no_special, p.text);
    assert.equal(tok.decode(p.ids), p.decoded);
    assert.equal(tok.decode(p.ids, { skipSpecialTokens: true }), p.decoded_skip_special);
  }
});

test('transformers (AutoConfig, AutoTokenizer, GenerationConfig) read bstar\'s checkpoint files as bstar means them', () => {
  const check = JSON.parse(readFileSync(path.join(fixtures, 'bstar_tiny_transformers_check.json'), 'utf8'));
  const dir = path.join(fixtures, 'bstar_tiny');
  const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(check.config_class, 'LlamaConfig');
  for (const [k, v] of Object.entries(check.config)) assert.deepEqual(v, cfg[k], k);
  const tok = loadTokenizer(dir);
  assert.deepEqual(check.special_tokens, { bos: '<s>', eos: '</s>', pad: '<pad>', unk: '<unk>', bos_id: tok.bosId, eos_id: tok.eosId, pad_id: tok.padId });
  assert.equal(check.tokenizer_len, tok.vocabSize);
  for (const p of check.probes) {
    assert.deepEqual(tok.encode(p.text, { addBos: true }), p.input_ids, p.text);
    assert.equal(tok.decode(p.input_ids, { skipSpecialTokens: true }), p.decoded);
  }
  assert.deepEqual(check.generation, { bos_token_id: 1, eos_token_id: 2, pad_token_id: 3 });
});
