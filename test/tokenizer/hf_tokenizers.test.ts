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
