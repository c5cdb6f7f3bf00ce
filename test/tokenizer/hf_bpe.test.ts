// General tokenizer.json loading (byte-level BPE à la Llama-3/Qwen2, SentencePiece-style BPE with byte
// fallback à la Llama-2/Mistral) and chat templates, against ids, decodes and rendered chats produced by
// the reference Python `tokenizers` 0.22.2 + jinja2 3.1.6 (test/fixtures/make_tokenizer_fixtures.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HfTokenizer, loadTokenizer, tokenizerFromHf, TokenizerError, UnsupportedTokenizerError } from '../../src/tokenizer/index.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/tokenizers');

interface Expected {
  vocab_size: number;
  cases: { text: string; ids: number[]; ids_no_special: number[]; decoded: string; decoded_skip_special: string }[];
  chats: { messages: { role: string; content: string }[]; add_generation_prompt: boolean; text: string; ids: number[] }[];
}

for (const name of ['bytelevel', 'sentencepiece']) {
  const dir = path.join(fixtures, name);
  const exp = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;

  test(`${name}: ids and decodes equal the reference tokenizers library on ${exp.cases.length} strings`, () => {
    const tok = loadTokenizer(dir);
    assert.ok(tok instanceof HfTokenizer);
    assert.equal(tok.vocabSize, exp.vocab_size);
    for (const c of exp.cases) {
      assert.deepEqual(tok.encode(c.text, { addBos: true }), c.ids, `encode ${JSON.stringify(c.text)}`);
      assert.deepEqual(tok.encode(c.text), c.ids_no_special, `encode (no specials) ${JSON.stringify(c.text)}`);
      assert.equal(tok.decode(c.ids), c.decoded, `decode ${JSON.stringify(c.text)}`);
      assert.equal(tok.decode(c.ids, { skipSpecialTokens: true }), c.decoded_skip_special, `decode skip ${JSON.stringify(c.text)}`);
    }
  });

  test(`${name}: chat template renders as transformers' apply_chat_template and tokenizes to the same ids`, () => {
    const tok = loadTokenizer(dir) as HfTokenizer;
    for (const c of exp.chats) {
      const text = tok.applyChatTemplate(c.messages, { addGenerationPrompt: c.add_generation_prompt });
      assert.equal(text, c.text);
      assert.deepEqual(tok.encode(text), c.ids);
    }
  });
}

test('special ids come from tokenizer_config.json; a missing eos or a bad role is named', () => {
  const dir = path.join(fixtures, 'sentencepiece');
  const j = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  const tok = tokenizerFromHf(j, cfg) as HfTokenizer;
  assert.deepEqual([tok.bosId, tok.eosId, tok.unkId, tok.padId], [1, 2, 0, 2]);
  assert.ok(tok.isSpecial(1) && tok.isSpecial(2) && !tok.isSpecial(300));
  assert.throws(() => tokenizerFromHf(j, { ...cfg, eos_token: undefined }), /has no eos_token/);
  assert.throws(() => tokenizerFromHf(j, { ...cfg, eos_token: '<nope>' }), /eos_token "<nope>" is not in the vocabulary/);
  assert.throws(() => tok.applyChatTemplate([{ role: 'system', content: 'x' }]), (e: Error) => e instanceof TokenizerError && /Only user and assistant roles/.test(e.message));
  assert.throws(() => tok.decode([tok.vocabSize]), /token id 558 is outside \[0, 558\)/);
  assert.throws(() => tokenizerFromHf({ model: { type: 'Mystery' } }, {}), (e: Error) => e instanceof UnsupportedTokenizerError && /field "model.type"/.test(e.message));
});

test('sampling with a byte-level tokenizer: text is the decoded completion, stop strings cut across tokens', async () => {
  const { Sampler } = await import('../../src/model/sampler.js');
  const { tinyConfig, randomWeights } = await import('../model/helpers.js');
  const tok = loadTokenizer(path.join(fixtures, 'bytelevel'));
  const config = tinyConfig({ vocab_size: tok.vocabSize, eos_token_id: tok.eosId, bos_token_id: tok.bosId });
  const s = new Sampler(config, randomWeights(config, 3, 1.5), tok);
  const prompt = 'The answer is';
  const { samples } = s.generate([{ prompt, n: 6 }], { seed: 5, temperature: 1.3, maxNewTokens: 24 });
  for (const x of samples[0]) {
    const gen = x.tokens.filter((t) => !tok.isSpecial(t));
    // byte-level decoding is concatenation of bytes: prompt + completion decodes to prompt text + completion text
    assert.equal(tok.decode([...tok.encode(prompt), ...gen]), prompt + x.text);
  }
  // a stop string taken from inside one sample's text ends that sample right before it
  const probe = samples[0].find((x) => x.text.length >= 6)!;
  const stop = probe.text.slice(3, 5);
  const again = s.generate([{ prompt, n: 6 }], { seed: 5, temperature: 1.3, maxNewTokens: 24, stop: [stop] }).samples[0];
  const hit = again[samples[0].indexOf(probe)];
  assert.equal(hit.finishReason, 'stop');
  assert.equal(hit.text, probe.text.slice(0, probe.text.indexOf(stop)));
});
