import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tsKernels } from '../../src/engine/ts/index.js';
import { getKernels } from '../../src/engine/index.js';
import { findStop, Sampler, SamplingError, streamableLength, type GenerateParams, type GenerateRequest, type TokenEvent } from '../../src/model/sampler.js';
import { CharTokenizer } from '../../src/tokenizer/index.js';
import { logSoftmaxAt, naiveGreedy, naiveLogits } from './naive_forward.js';
import { withChanges } from '../../src/model/config.js';
import { randomWeights, tinyConfig } from './helpers.js';

const tok = new CharTokenizer([...'0123456789+-*=() ab\n']); // 4 + 20 = 24 ids
const cfg = tinyConfig();
const weights = randomWeights(cfg, 11, 0.35);
const V = cfg.vocab_size;

const prompts = ['1+2=', '(3*4)-5=', '9', 'ab ab ab a', '77*8=', '0'];

function sampler(opts: ConstructorParameters<typeof Sampler>[3] = {}) {
  return new Sampler(cfg, weights, tok, { kernels: tsKernels, ...opts });
}

test('greedy decoding through the KV cache equals full recompute: tokens exactly, logprobs to 1e-5', () => {
  const maxNew = 12;
  const { samples, stats } = sampler({ maxBatch: 4 }).generate(prompts.map((prompt) => ({ prompt })), { seed: 1, temperature: 0, maxNewTokens: maxNew });
  assert.equal(stats.slots, 4);
  prompts.forEach((p, i) => {
    const ref = naiveGreedy(cfg, weights, tok.encode(p, { addBos: true }), maxNew, [tok.eosId]);
    const s = samples[i][0];
    assert.deepEqual(s.tokens, ref.tokens, `prompt ${i}`);
    s.modelLogprobs.forEach((lp, t) => assert.ok(Math.abs(lp - ref.logprobs[t]) < 1e-5, `prompt ${i} token ${t}: ${lp} vs ${ref.logprobs[t]}`));
    assert.ok(s.samplerLogprobs.every((x) => x === 0));
    assert.equal(s.finishReason, s.tokens.at(-1) === tok.eosId ? 'eos' : 'length');
    assert.equal(s.text, tok.decode(s.tokens, { skipSpecialTokens: true }));
  });
});

test('sampled tokens carry model logprobs (untempered) and sampler logprobs (tempered, truncated), checked by recompute', () => {
  const params: GenerateParams = { seed: 5, temperature: 0.7, topK: 6, topP: 0.9, maxNewTokens: 8, n: 3 };
  const { samples } = sampler().generate([{ prompt: '1+2=' }, { prompt: '(3*4)' }], params);
  for (const group of samples) {
    for (const s of group) {
      const seq = [...tok.encode(group === samples[0] ? '1+2=' : '(3*4)', { addBos: true }), ...s.tokens];
      const logits = naiveLogits(cfg, weights, seq);
      s.tokens.forEach((t, i) => {
        const row = s.promptTokens - 1 + i;
        assert.ok(Math.abs(s.modelLogprobs[i] - logSoftmaxAt(logits, row, V, t)) < 1e-5);
        // independent tempered + top-k + top-p distribution
        const z = Array.from({ length: V }, (_, v) => logits[row * V + v] / 0.7);
        const mx = Math.max(...z);
        const p = z.map((x) => Math.exp(x - mx));
        const order = [...p.keys()].sort((a, b) => p[b] - p[a] || a - b).slice(0, 6);
        const massK = order.reduce((a, v) => a + p[v], 0);
        const kept: number[] = [];
        let cum = 0;
        for (const v of order) {
          kept.push(v);
          cum += p[v];
          if (cum / massK >= 0.9) break;
        }
        assert.ok(kept.includes(t), `token ${t} outside the top-k/top-p set ${kept}`);
        assert.ok(Math.abs(s.samplerLogprobs[i] - Math.log(p[t] / cum)) < 1e-5);
      });
      assert.ok(Math.abs(s.logprob - s.modelLogprobs.reduce((a, b) => a + b, 0)) < 1e-12);
    }
  }
});

test('same seed, same samples whatever the batch size (1, 3, 16), KV budget or thread count', () => {
  const reqs: GenerateRequest[] = prompts.map((prompt, i) => ({ prompt, id: `q${i}`, n: 1 + (i % 3) }));
  const params: GenerateParams = { seed: 42, temperature: 1.0, topP: 0.95, maxNewTokens: 10, stop: ['=='] };
  const runs = [1, 3, 16].map((maxBatch) => sampler({ maxBatch }).generate(reqs, params).samples);
  assert.deepEqual(runs[1], runs[0]);
  assert.deepEqual(runs[2], runs[0]);
  const tight = sampler({ kvBudgetTokens: 40, prefillChunk: 5 }).generate(reqs, params);
  assert.equal(tight.stats.slots, 2);
  assert.deepEqual(tight.samples, runs[0]);
  // the process backend (native when built): bit-identical across batch sizes and thread counts
  const k = getKernels();
  const ref = new Sampler(cfg, weights, tok, { kernels: k, maxBatch: 1 }).generate(reqs, params).samples;
  for (const [threads, maxBatch] of [[1, 16], [2, 3], [2, 16]]) {
    k.setThreads(threads);
    assert.deepEqual(new Sampler(cfg, weights, tok, { kernels: k, maxBatch }).generate(reqs, params).samples, ref, `${k.name}: threads ${threads}, maxBatch ${maxBatch}`);
  }
  k.setThreads(1);
  // a different seed or request id gives different samples
  const other = sampler().generate(reqs, { ...params, seed: 43 }).samples;
  assert.notDeepEqual(other.map((g) => g.map((s) => s.tokens)), runs[0].map((g) => g.map((s) => s.tokens)));
});

test('packed weight copies (matmulPacked, native decodeSteps) give the samples of the originals (nt), and follow in-place weight updates', () => {
  // On the native backend the packed path also chooses tokens natively (decodeSteps), with C's exp/log
  // instead of V8's: the same tokens, logprobs equal to the last bits.
  const reqs: GenerateRequest[] = prompts.map((prompt, i) => ({ prompt, id: `q${i}`, n: 2 }));
  const params: GenerateParams = { seed: 7, temperature: 0.9, maxNewTokens: 8 };
  const k = getKernels();
  const w = new Map([...weights].map(([n, a]) => [n, a.slice()]));
  const plain = new Sampler(cfg, w, tok, { kernels: k, packedWeights: false });
  const fast = new Sampler(cfg, w, tok, { kernels: k });
  const same = (a: ReturnType<Sampler['generate']>['samples'], b: typeof a, tag: string) => {
    assert.deepEqual(a.map((g) => g.map((x) => [x.tokens, x.text, x.finishReason])), b.map((g) => g.map((x) => [x.tokens, x.text, x.finishReason])), tag);
    a.forEach((g, i) => g.forEach((x, j) => {
      const y = b[i][j];
      x.modelLogprobs.forEach((lp, t) => assert.ok(Math.abs(lp - y.modelLogprobs[t]) < 1e-9, `${tag} ${i}/${j} token ${t}`));
      x.samplerLogprobs.forEach((lp, t) => assert.ok(Math.abs(lp - y.samplerLogprobs[t]) < 1e-9, `${tag} ${i}/${j} token ${t}`));
    }));
  };
  const before = fast.generate(reqs, params).samples;
  same(before, plain.generate(reqs, params).samples, 'before');
  // the trainer updates weights in place; the next call must see them
  for (const a of w.values()) for (let i = 0; i < a.length; i += 3) a[i] *= -1.5;
  const after = fast.generate(reqs, params).samples;
  same(after, plain.generate(reqs, params).samples, 'after');
  assert.notDeepEqual(after.map((g) => g.map((x) => x.tokens)), before.map((g) => g.map((x) => x.tokens)));
});

test('preallocate: the arena for the whole budget exists before the first call and gives the same samples', () => {
  const reqs: GenerateRequest[] = prompts.map((prompt, i) => ({ prompt, id: `p${i}`, n: 2 }));
  const params: GenerateParams = { seed: 9, temperature: 1, maxNewTokens: 6 };
  const pre = new Sampler(cfg, weights, tok, { kernels: getKernels(), kvBudgetTokens: 500, preallocate: true });
  const arena = (pre as unknown as { arenaK: Float32Array[] }).arenaK;
  assert.equal(arena.length, cfg.num_hidden_layers);
  assert.equal(arena[0].length, 500 * cfg.num_key_value_heads * (cfg.hidden_size / cfg.num_attention_heads));
  const a = pre.generate(reqs, params);
  assert.equal((pre as unknown as { arenaK: Float32Array[] }).arenaK[0], arena[0], 'the preallocated arena is used, not replaced');
  const b = new Sampler(cfg, weights, tok, { kernels: getKernels(), kvBudgetTokens: 500 }).generate(reqs, params);
  assert.deepEqual(a.samples, b.samples);
});

test('prefix sharing: the prompt is prefilled once for n samples, whether they are admitted together or later', () => {
  const reqs = [{ prompt: '(3*4)-5=', n: 7 }, { prompt: '12', n: 2 }];
  const params: GenerateParams = { seed: 3, temperature: 1.2, maxNewTokens: 6 };
  const wide = sampler({ maxBatch: 16 }).generate(reqs, params);
  const narrow = sampler({ maxBatch: 2 }).generate(reqs, params);
  const P = tok.encode('(3*4)-5=', { addBos: true }).length + tok.encode('12', { addBos: true }).length;
  assert.equal(wide.stats.prefillTokens, P);
  assert.equal(narrow.stats.prefillTokens, P);
  assert.deepEqual(narrow.samples, wide.samples);
  assert.ok(narrow.stats.peakKvBytes > 0);
  // the samples differ from each other (own streams) and each matches a recompute of its logprobs
  assert.ok(new Set(wide.samples[0].map((s) => s.tokens.join(','))).size > 1);
});

test('stop strings end a sample across token boundaries; text is cut before the stop string', () => {
  const base = sampler().generate([{ prompt: 'ab' }], { seed: 0, temperature: 0, maxNewTokens: 16 }).samples[0][0];
  assert.ok(base.text.length >= 6, base.text);
  const stop = base.text.slice(3, 5); // two characters = two tokens
  const first = base.text.indexOf(stop);
  const s = sampler().generate([{ prompt: 'ab' }], { seed: 0, temperature: 0, maxNewTokens: 16, stop: ['zz', stop] }).samples[0][0];
  assert.equal(s.finishReason, 'stop');
  assert.equal(s.stopString, stop);
  assert.equal(s.text, base.text.slice(0, first));
  let m = 1;
  while (!tok.decode(base.tokens.slice(0, m), { skipSpecialTokens: true }).includes(stop)) m++;
  assert.deepEqual(s.tokens, base.tokens.slice(0, m));
  assert.deepEqual(findStop('xxab', 3, ['ab']), { index: 2, stop: 'ab' });
  assert.deepEqual(findStop('abcab', 4, ['ab', 'cab']), { index: 2, stop: 'cab' });
  assert.equal(findStop('ab', 2, ['ab']), null);
});

test('eos ends a sample (kept in tokens, not in text); max_new_tokens gives "length"', () => {
  const base = sampler().generate([{ prompt: '9' }], { seed: 0, temperature: 0, maxNewTokens: 10 }).samples[0][0];
  const eos = base.tokens[3];
  const first = base.tokens.indexOf(eos);
  const s = new Sampler(withChanges(cfg, { eos_token_id: eos }), weights, tok, { kernels: tsKernels }).generate([{ prompt: '9' }], { seed: 0, temperature: 0, maxNewTokens: 10 }).samples[0][0];
  assert.equal(s.finishReason, 'eos');
  assert.deepEqual(s.tokens, base.tokens.slice(0, first + 1));
  assert.equal(s.text, tok.decode(base.tokens.slice(0, first), { skipSpecialTokens: true }));
  const short = sampler().generate([{ prompt: '9' }], { seed: 0, temperature: 0, maxNewTokens: 2 }).samples[0][0];
  assert.equal(short.finishReason, base.tokens.slice(0, 2).includes(tok.eosId) ? 'eos' : 'length');
  assert.equal(short.tokens.length, 2);
});

test('top_k = 1 and a tiny top_p are greedy at any temperature', () => {
  const g = sampler().generate([{ prompt: '1+2=' }], { seed: 9, temperature: 0, maxNewTokens: 8 }).samples[0][0].tokens;
  assert.deepEqual(sampler().generate([{ prompt: '1+2=', n: 3 }], { seed: 9, temperature: 1.5, topK: 1, maxNewTokens: 8 }).samples[0].map((s) => s.tokens), [g, g, g]);
  const p = sampler().generate([{ prompt: '1+2=' }], { seed: 9, temperature: 1.5, topP: 1e-9, maxNewTokens: 8 }).samples[0][0];
  assert.deepEqual(p.tokens, g);
  assert.ok(p.samplerLogprobs.every((x) => Math.abs(x) < 1e-12));
});

test('scoring: logprob(prompt, completion) equals full recompute and the sampler\'s own logprobs', () => {
  const sm = sampler({ maxBatch: 2, prefillChunk: 7 });
  const gen = sm.generate([{ prompt: '1+2=', n: 2 }], { seed: 4, temperature: 1, maxNewTokens: 6 }).samples[0];
  const items = [
    { prompt: '1+2=', completion: gen[0].tokens },
    { prompt: '1+2=', completion: gen[1].tokens },
    { prompt: '(3*4)-5=', completion: '7 ab' },
  ];
  const sc = sm.logprobs(items);
  assert.ok(sc[0].logprobs.every((x, i) => Math.abs(x - gen[0].modelLogprobs[i]) < 1e-5));
  assert.ok(sc[1].logprobs.every((x, i) => Math.abs(x - gen[1].modelLogprobs[i]) < 1e-5));
  const seq = [...tok.encode('(3*4)-5=', { addBos: true }), ...tok.encode('7 ab')];
  const logits = naiveLogits(cfg, weights, seq);
  const P = sc[2].promptTokens;
  sc[2].tokens.forEach((t, i) => assert.ok(Math.abs(sc[2].logprobs[i] - logSoftmaxAt(logits, P - 1 + i, V, t)) < 1e-5));
  assert.ok(Math.abs(sc[2].logprob - sc[2].logprobs.reduce((a, b) => a + b, 0)) < 1e-12);
});

test('bad input is a SamplingError naming the field', () => {
  const sm = sampler({ kvBudgetTokens: 30 });
  const ok: GenerateParams = { seed: 0, temperature: 1, maxNewTokens: 4 };
  const cases: [GenerateRequest[], Partial<GenerateParams>, RegExp][] = [
    [[{ prompt: '1' }], { temperature: -0.1 }, /temperature must be a finite number >= 0.*-0\.1/],
    [[{ prompt: '1' }], { topP: 0 }, /top_p must be in \(0, 1\], found 0/],
    [[{ prompt: '1' }], { topP: 1.5 }, /top_p must be in \(0, 1\], found 1\.5/],
    [[{ prompt: '1' }], { topK: -1 }, /top_k must be a non-negative integer/],
    [[{ prompt: '1' }], { maxNewTokens: 0 }, /max_new_tokens must be a positive integer, found 0/],
    [[{ prompt: '1', n: 0 }], {}, /requests\[0\]\.n must be a positive integer/],
    [[{ prompt: '1' }], { stop: [''] }, /stop\[0\] must be a non-empty string/],
    [[{ prompt: '1' }, { prompt: '1'.repeat(64) }], {}, /requests\[1\]\.prompt has 65 tokens; the context \(max_position_embeddings\) is 64/],
    [[{ prompt: '1' }, { prompt: '1'.repeat(20) }], { maxNewTokens: 20 }, /requests\[1\] needs 40 KV cache positions \(prompt 21 \+ max_new_tokens 20 − 1\) but kvBudgetTokens is 30/],
    [[{ prompt: [1, 99] }], {}, /requests\[0\]\.prompt\[1\]: token id 99 is outside \[0, 24\)/],
    [[{ prompt: [] }], {}, /requests\[0\]\.prompt is empty/],
    [[{ prompt: 'x' }], {}, /requests\[0\]\.prompt: char tokenizer: character "x"/],
    [[{ prompt: '1', id: 'a' }, { prompt: '2' }, { prompt: '3', id: 'a' }], {}, /requests\[2\]\.id "a" repeats requests\[0\]\.id/],
  ];
  for (const [reqs, p, re] of cases) {
    assert.throws(() => sm.generate(reqs, { ...ok, ...p }), (e: unknown) => e instanceof SamplingError && re.test((e as Error).message) || assert.fail(`${re}: ${e}`));
  }
  assert.throws(() => sm.logprobs([{ prompt: '1'.repeat(40), completion: '2'.repeat(30) }]), /items\[0\]: prompt 41 \+ completion 30 tokens exceed the context/);
});

test('long generations stop at the context length with "length"', () => {
  const s = sampler().generate([{ prompt: '1'.repeat(58) }], { seed: 0, temperature: 1, maxNewTokens: 50 }).samples[0][0];
  assert.equal(s.promptTokens + s.tokens.length <= 64, true);
  if (s.finishReason === 'length') assert.equal(s.promptTokens + s.tokens.length, 64);
});

test('continuous batching: a sequence that ends frees its slot for a waiting one mid-flight', () => {
  // the long prompt hits the 64-position context after 4 tokens; short prompts run 10 tokens
  const reqs = [{ prompt: '1'.repeat(59) }, { prompt: '2' }, { prompt: '3' }];
  const params: GenerateParams = { seed: 0, temperature: 1, maxNewTokens: 10, ignoreEos: true };
  const seen: [number, number, number][] = [];
  const { samples, stats } = sampler({ maxBatch: 2 }).generate(reqs, { ...params, onSample: (s, done, total) => seen.push([s.requestIndex, done, total]) });
  assert.deepEqual(samples.map((g) => [g[0].tokens.length, g[0].finishReason]), [[4, 'length'], [10, 'length'], [10, 'length']]);
  assert.deepEqual(seen, [[0, 1, 3], [1, 2, 3], [2, 3, 3]]); // the long prompt ends first
  // short1 decodes 9 steps; short2 starts when the long one ends (after step 3) and needs 9 more
  assert.equal(stats.decodeSteps, 12);
  assert.equal(stats.slots, 2);
  assert.equal(stats.generatedTokens, 24);
});

test('streamableLength holds back a possible stop-string start and an unfinished character', () => {
  assert.equal(streamableLength('12+3', []), 4);
  assert.equal(streamableLength('12+3', ['+3=']), 2); // '+3' may become '+3='
  assert.equal(streamableLength('12+', ['+3=', 'x']), 2);
  assert.equal(streamableLength('12+4', ['+3=']), 4); // '+4' can no longer start it
  assert.equal(streamableLength('aab', ['abc', 'b']), 1); // 'ab' (of abc) is the longest held suffix; 'b' alone would be a full stop (already cut)
  assert.equal(streamableLength('x\uFFFD', []), 1);
  assert.equal(streamableLength('', ['a']), 0);
});

test('onToken: every token reported in order; streaming the stable text reproduces each sample; samples unchanged', () => {
  const reqs: GenerateRequest[] = [{ prompt: '1+2=', n: 3 }, { prompt: 'ab ab' }];
  const free = sampler().generate(reqs, { seed: 5, temperature: 1, maxNewTokens: 14 }).samples;
  const stop = free[0][1].text.slice(2, 4); // two tokens that sample 1 generates: a stop spanning tokens
  assert.equal(stop.length, 2);
  const params: GenerateParams = { seed: 5, temperature: 1, maxNewTokens: 14, stop: ['zz', stop] };
  const plain = sampler({ maxBatch: 2 }).generate(reqs, params).samples;
  assert.equal(plain[0][1].finishReason, 'stop');
  const sent = new Map<string, { text: string; tokens: number }>();
  let withStop = 0;
  let heldBack = 0;
  const traced = sampler({ maxBatch: 2 }).generate(reqs, {
    ...params,
    onToken: (e: TokenEvent) => {
      const key = `${e.requestIndex}/${e.sampleIndex}`;
      const st = sent.get(key) ?? { text: '', tokens: 0 };
      assert.equal(e.tokens.length, st.tokens + 1, `${key}: one event per token`);
      const upto = e.finishReason ? e.text.length : streamableLength(e.text, params.stop!);
      if (upto < e.text.length) heldBack++;
      assert.ok(e.text.startsWith(st.text), `${key}: sent text is never revised`);
      st.text = e.text.slice(0, Math.max(upto, st.text.length));
      st.tokens = e.tokens.length;
      if (e.finishReason === 'stop') withStop++;
      sent.set(key, st);
    },
  }).samples;
  assert.deepEqual(traced, plain);
  for (const [r, group] of plain.entries()) for (const s of group) assert.equal(sent.get(`${r}/${s.sampleIndex}`)!.text, s.text);
  assert.equal(sent.size, 4);
  assert.equal(withStop, plain.flat().filter((x) => x.finishReason === 'stop').length);
  assert.ok(heldBack > 0, 'some text was held back as a possible stop start');
});

test('start/step/cancel: a cancelled request frees its slots; the others get exactly their uncancelled samples', () => {
  const reqs: GenerateRequest[] = [{ prompt: '1+2=', n: 2 }, { prompt: '77*8=', n: 3 }, { prompt: '9', n: 2 }];
  const params: GenerateParams = { seed: 3, temperature: 1, maxNewTokens: 12 };
  const full = sampler({ maxBatch: 2 }).generate(reqs, params);
  const sm = sampler({ maxBatch: 2 });
  const run = sm.start(reqs, params);
  assert.throws(() => run.result(), /has not finished/);
  let steps = 0;
  while (run.step()) if (++steps === 2) run.cancel(1);
  const { samples, stats } = run.result();
  assert.deepEqual(samples[0], full.samples[0]);
  assert.deepEqual(samples[2], full.samples[2]);
  assert.ok(samples[1].filter(Boolean).length < 3);
  assert.equal(stats.cancelledSequences, 3 - samples[1].filter(Boolean).length);
  assert.ok(stats.generatedTokens < full.stats.generatedTokens);
  assert.equal(run.step(), false);
});

test('a tokenizer smaller than the vocabulary: ids it cannot decode are never sampled; logprobs are over its ids', () => {
  // 24-id model, 14-id tokenizer: the LM head rows 14..23 are never used
  const small = new CharTokenizer([...'0123456789']);
  const s = new Sampler(cfg, weights, small, { kernels: getKernels() });
  const out = s.generate([{ prompt: '12', n: 8 }], { seed: 3, temperature: 1.5, maxNewTokens: 12, ignoreEos: true }).samples[0];
  for (const smp of out) assert.ok(smp.tokens.every((t) => t < small.vocabSize), JSON.stringify(smp.tokens));
  // the first token's logprob is the log-softmax over the tokenizer's ids of the full model's logits
  const prompt = small.encode('12', { addBos: true });
  const full = naiveLogits(cfg, weights, prompt);
  const row = full.subarray((prompt.length - 1) * V, prompt.length * V).slice(0, small.vocabSize);
  const t0 = out[0].tokens[0];
  assert.ok(Math.abs(out[0].modelLogprobs[0] - logSoftmaxAt(row, 0, small.vocabSize, t0)) < 1e-5);
});
