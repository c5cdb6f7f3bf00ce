import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CharTokenizer, loadTokenizer, tokenizerFromHf, TokenizerError, UnsupportedTokenizerError } from '../../src/tokenizer/index.js';

const ALPHA = [...'0123456789+-*/=() \n', 'é', '😀'];

test('ids: specials first (<unk>,<s>,</s>,<pad>), then the alphabet in order', () => {
  const t = new CharTokenizer(ALPHA);
  assert.equal(t.vocabSize, 4 + ALPHA.length);
  assert.deepEqual([t.unkId, t.bosId, t.eosId, t.padId], [0, 1, 2, 3]);
  assert.deepEqual(t.encode('12+3'), [5, 6, 14, 7]);
  assert.deepEqual(t.encode('1', { addBos: true }), [1, 5]);
  // a code point outside the BMP is one token, not two UTF-16 units
  assert.deepEqual(t.encode('😀é'), [4 + ALPHA.length - 1, 4 + ALPHA.length - 2]);
});

test('decode inverts encode; decodeToken streams the same text; specials skipped on request', () => {
  const t = new CharTokenizer(ALPHA);
  const text = '(12+3)*4 = 60\né😀';
  const ids = t.encode(text, { addBos: true });
  assert.equal(t.decode(ids), '<s>' + text);
  assert.equal(t.decode(ids, { skipSpecialTokens: true }), text);
  assert.equal(ids.map((i) => t.decodeToken(i)).join(''), t.decode(ids));
  assert.throws(() => t.decodeToken(t.vocabSize), /token id 25 is outside \[0, 25\)/);
});

test('unknown characters are an error naming char and position, or <unk> when asked', () => {
  const t = new CharTokenizer(ALPHA);
  assert.throws(() => t.encode('12x'), (e: unknown) => e instanceof TokenizerError && /"x" \(U\+0078\) at position 2/.test(e.message));
  assert.deepEqual(new CharTokenizer(ALPHA, { onUnknown: 'unk' }).encode('1x'), [5, 0]);
});

test('bad alphabets are refused', () => {
  assert.throws(() => new CharTokenizer(['a', 'bc']), /alphabet\[1\] must be exactly one character.*"bc"/);
  assert.throws(() => new CharTokenizer(['a', 'b', 'a']), /alphabet\[2\] "a" repeats alphabet\[0\]/);
});

test('tokenizer.json has the Hugging Face structure, field by field', () => {
  const t = new CharTokenizer(['a', 'b', ' ']);
  const files = t.toHfFiles();
  const j = files['tokenizer.json'] as Record<string, any>;
  assert.deepEqual(Object.keys(j).sort(), ['added_tokens', 'decoder', 'model', 'normalizer', 'padding', 'post_processor', 'pre_tokenizer', 'truncation', 'version']);
  assert.equal(j.version, '1.0');
  assert.equal(j.truncation, null);
  assert.equal(j.padding, null);
  assert.equal(j.normalizer, null);
  assert.equal(j.pre_tokenizer, null);
  assert.deepEqual(j.decoder, { type: 'Fuse' });
  assert.deepEqual(j.added_tokens[1], { id: 1, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  assert.deepEqual(j.added_tokens.map((a: any) => [a.id, a.content]), [[0, '<unk>'], [1, '<s>'], [2, '</s>'], [3, '<pad>']]);
  assert.deepEqual(j.model, {
    type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: false,
    vocab: { '<unk>': 0, '<s>': 1, '</s>': 2, '<pad>': 3, a: 4, b: 5, ' ': 6 }, merges: [],
  });
  assert.equal(j.post_processor.type, 'TemplateProcessing');
  assert.deepEqual(j.post_processor.single, [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }]);
  assert.deepEqual(j.post_processor.special_tokens, { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } });
  const cfg = files['tokenizer_config.json'] as Record<string, any>;
  assert.equal(cfg.tokenizer_class, 'PreTrainedTokenizerFast');
  assert.deepEqual([cfg.bos_token, cfg.eos_token, cfg.unk_token, cfg.pad_token], ['<s>', '</s>', '<unk>', '<pad>']);
  assert.equal(cfg.added_tokens_decoder['2'].content, '</s>');
  assert.deepEqual(files['special_tokens_map.json'], { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: '<pad>' });
});

// What the `tokenizers` library does with this JSON, written independently from the JSON alone: no
// normalizer/pre-tokenizer → the whole text is one word; BPE with no merges → one piece per char,
// looked up in vocab (unk_token otherwise); TemplateProcessing "single" → <s> + sequence.
function hfEncode(j: any, text: string): number[] {
  const ids = [...text].map((ch) => j.model.vocab[ch] ?? j.model.vocab[j.model.unk_token]);
  const out: number[] = [];
  for (const piece of j.post_processor.single) {
    if (piece.SpecialToken) out.push(...j.post_processor.special_tokens[piece.SpecialToken.id].ids);
    else out.push(...ids);
  }
  return out;
}

test('encode(addBos) agrees with the HF semantics of the saved JSON', () => {
  const t = new CharTokenizer(ALPHA);
  const j = t.toHfFiles()['tokenizer.json'];
  for (const s of ['', '1+2=3', ' (9-8)*7\n', 'é😀0']) assert.deepEqual(t.encode(s, { addBos: true }), hfEncode(j, s));
});

test('saved files load back through the dispatching loader', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bstar-tok-'));
  try {
    const t = new CharTokenizer(ALPHA, { modelMaxLength: 128 });
    for (const [name, v] of Object.entries(t.toHfFiles())) writeFileSync(path.join(dir, name), JSON.stringify(v));
    const u = loadTokenizer(dir);
    assert.equal(u.kind, 'char');
    assert.deepEqual((u as CharTokenizer).tokens, t.tokens);
    assert.deepEqual((u.toHfFiles() as any)['tokenizer.json'], t.toHfFiles()['tokenizer.json']);
    assert.equal((u.toHfFiles() as any)['tokenizer_config.json'].model_max_length, 128);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loader names the first field that is not the char-level shape', () => {
  const base = () => JSON.parse(JSON.stringify(new CharTokenizer(['a', 'b']).toHfFiles()['tokenizer.json']));
  const j1 = base();
  j1.decoder = null;
  assert.throws(() => tokenizerFromHf(j1, null, 'x/tokenizer.json'), /x\/tokenizer.json: decoder: expected \{"type":"Fuse"\}, found null/);
  const j2 = base();
  delete j2.model.vocab.b;
  j2.model.vocab.c = 7;
  assert.throws(() => tokenizerFromHf(j2, null), /model.vocab: expected contiguous ids 0..7, found "no token with id 5"/);
  const j3 = base();
  j3.model.vocab['<s>'] = 2;
  j3.model.vocab['</s>'] = 1;
  assert.throws(() => tokenizerFromHf(j3, null), /model.vocab id 1: expected "<s>", found "<\/s>"/);
  const j4 = base();
  j4.model.merges = [['a', 'b']];
  // BPE with merges goes to the general loader (HfTokenizer), which needs the special tokens named in tokenizer_config.json
  assert.throws(() => tokenizerFromHf(j4, null), (e: unknown) => e instanceof TokenizerError && /has no eos_token/.test((e as Error).message));
  const j5 = base();
  j5.model.type = 'Mystery';
  assert.throws(() => tokenizerFromHf(j5, null), UnsupportedTokenizerError);
});
