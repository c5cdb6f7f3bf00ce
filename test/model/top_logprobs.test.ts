// Top logprobs (bstar serve's top_logprobs): the pure topLogprobs on hand-computed cases, and the
// sampler's per-token top-k checked against a full recompute by the naive forward (an independent
// implementation); asking for them changes no sample.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getKernels } from '../../src/engine/index.js';
import { Sampler, type GenerateParams } from '../../src/model/sampler.js';
import { topLogprobs } from '../../src/model/sampling.js';
import { CharTokenizer } from '../../src/tokenizer/index.js';
import { naiveLogits } from './naive_forward.js';
import { randomWeights, tinyConfig } from './helpers.js';

test('topLogprobs: the k largest, most likely first, ties to the lower id, log-softmax values', () => {
  // logits [0, ln 3, ln 3, ln 2]: softmax = [1, 3, 3, 2] / 9
  const l = [0, Math.log(3), Math.log(3), Math.log(2)];
  const t = topLogprobs(l, 0, 4, 3);
  assert.deepEqual(t.map((x) => x.token), [1, 2, 3]);
  assert.ok(Math.abs(t[0].logprob - Math.log(3 / 9)) < 1e-12);
  assert.ok(Math.abs(t[2].logprob - Math.log(2 / 9)) < 1e-12);
  assert.deepEqual(topLogprobs(l, 0, 4, 0), []);
  assert.deepEqual(topLogprobs(l, 0, 4, 9).map((x) => x.token), [1, 2, 3, 0], 'k > V: every token');
  // an offset row of a batch
  assert.deepEqual(topLogprobs([9, 9, ...l], 2, 4, 1).map((x) => x.token), [1]);
});

test('generate with topLogprobs: the same samples, and each token\'s top k are those of a full recompute', () => {
  const tok = new CharTokenizer([...'0123456789+-*=() ab\n']);
  const cfg = tinyConfig();
  const weights = randomWeights(cfg, 11, 0.35);
  const V = cfg.vocab_size;
  const sampler = new Sampler(cfg, weights, tok, { kernels: getKernels() });
  const reqs = ['1+2=', '(3*4)-5=', 'ab a'].map((prompt, i) => ({ prompt, id: `r${i}`, n: 2 }));
  const params: GenerateParams = { seed: 3, temperature: 0.9, topP: 0.95, maxNewTokens: 10 };
  const plain = sampler.generate(reqs, params).samples;
  const k = 4;
  const withTop = sampler.generate(reqs, { ...params, topLogprobs: k }).samples;
  assert.deepEqual(withTop.map((g) => g.map((s) => [s.tokens, s.text])), plain.map((g) => g.map((s) => [s.tokens, s.text])));
  for (const [r, group] of withTop.entries()) {
    for (const s of group) {
      assert.equal(s.topLogprobs!.length, s.tokens.length);
      const seq = [...tok.encode(reqs[r].prompt, { addBos: true }), ...s.tokens];
      const logits = naiveLogits(cfg, weights, seq);
      s.tokens.forEach((tokId, t) => {
        const row = s.promptTokens - 1 + t;
        const x = Array.from(logits.subarray(row * V, (row + 1) * V), Number);
        const mx = Math.max(...x);
        const lse = mx + Math.log(x.reduce((a, v) => a + Math.exp(v - mx), 0));
        const want = x.map((v, id) => ({ id, lp: v - lse })).sort((a, b) => b.lp - a.lp || a.id - b.id).slice(0, k);
        const got = s.topLogprobs![t];
        assert.equal(got.length, k);
        assert.deepEqual(got.map((g) => g.token), want.map((w) => w.id), `request ${r} token ${t}`);
        got.forEach((g, i) => assert.ok(Math.abs(g.logprob - want[i].lp) < 1e-4, `${g.logprob} vs ${want[i].lp}`));
        // probabilities: at most 1 together, the sampled token's own logprob at most the best one
        assert.ok(got.reduce((a, g) => a + Math.exp(g.logprob), 0) <= 1 + 1e-9);
        assert.ok(s.modelLogprobs[t] <= got[0].logprob + 1e-9);
        if (got.some((g) => g.token === tokId)) assert.ok(Math.abs(got.find((g) => g.token === tokId)!.logprob - s.modelLogprobs[t]) < 1e-6);
      });
    }
  }
  // scoring gives the same top-k at the same positions
  const s0 = withTop[0][0];
  const scored = sampler.logprobs([{ prompt: reqs[0].prompt, completion: s0.tokens }], { topLogprobs: k })[0];
  scored.topLogprobs!.forEach((row, t) => {
    assert.deepEqual(row.map((x) => x.token), s0.topLogprobs![t].map((x) => x.token));
    row.forEach((x, i) => assert.ok(Math.abs(x.logprob - s0.topLogprobs![t][i].logprob) < 1e-4));
  });
});
