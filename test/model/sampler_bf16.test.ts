// Sampling with sampling.precision bf16 (projections and LM head with bf16 operands, fp32 sums): seeded
// samples are the same whatever the batch size, thread count or path (packed weights with the native
// fused decode, or plain matmul), on every bf16 GEMM of this CPU; log-probabilities stay within bf16
// rounding of fp32's, and are not fp32's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/engine/index.js';
import { loadAddon } from '../../src/engine/native.js';
import { Sampler, type GenerateParams, type GenerateRequest } from '../../src/model/sampler.js';
import { CharTokenizer } from '../../src/tokenizer/index.js';
import { randomWeights, tinyConfig } from './helpers.js';

const addon = loadAddon() as unknown as { setBf16(impl: string): string; setThreads(n: number): void; info(): { bf16Native: boolean; threads: number } };
const startThreads = addon.info().threads;
after(() => {
  addon.setBf16('native');
  addon.setThreads(startThreads);
});
const k = getBackend('native');
const tok = new CharTokenizer([...'0123456789+-*=() ab\n']);
const cfg = tinyConfig();
const weights = randomWeights(cfg, 11, 0.35);
const prompts = ['1+2=', '(3*4)-5=', '9', 'ab ab ab a', '77*8=', '0'];

const impls = addon.info().bf16Native ? ['native', 'emulated'] : ['emulated'];
for (const impl of impls) {
  test(`bf16 sampling (${impl}): same seed, same samples whatever the batch, threads or packed/plain weights`, () => {
    addon.setBf16(impl);
    const reqs: GenerateRequest[] = prompts.map((prompt, i) => ({ prompt, id: `q${i}`, n: 1 + (i % 3) }));
    const params: GenerateParams = { seed: 42, temperature: 1.0, topP: 0.95, maxNewTokens: 10 };
    addon.setThreads(1);
    const ref = new Sampler(cfg, weights, tok, { kernels: k, maxBatch: 1, precision: 'bf16' }).generate(reqs, params).samples;
    for (const [threads, maxBatch] of [[1, 16], [2, 3], [2, 16]]) {
      addon.setThreads(threads);
      const got = new Sampler(cfg, weights, tok, { kernels: k, maxBatch, precision: 'bf16' }).generate(reqs, params).samples;
      assert.deepEqual(got, ref, `threads ${threads}, maxBatch ${maxBatch}`);
    }
    const plain = new Sampler(cfg, weights, tok, { kernels: k, packedWeights: false, precision: 'bf16' }).generate(reqs, params).samples;
    assert.deepEqual(plain.map((g) => g.map((s) => s.tokens)), ref.map((g) => g.map((s) => s.tokens)), 'plain weights: tokens');
    plain.forEach((g, i) => g.forEach((s, j) => s.modelLogprobs.forEach((lp, t) => assert.ok(Math.abs(lp - ref[i][j].modelLogprobs[t]) < 1e-9, `plain ${i}/${j} token ${t}`))));
    addon.setThreads(startThreads);
  });
}

test('bf16 log-probabilities are within bf16 rounding of fp32 ones, and differ from them', () => {
  const items = prompts.map((p, i) => ({ prompt: p, completion: ['3', '7', '==', ' ab', '616', '1+1'][i] }));
  const f32 = new Sampler(cfg, weights, tok, { kernels: k }).logprobs(items);
  const b16 = new Sampler(cfg, weights, tok, { kernels: k, precision: 'bf16' }).logprobs(items);
  let maxDiff = 0;
  f32.forEach((r, i) => r.logprobs.forEach((lp, t) => (maxDiff = Math.max(maxDiff, Math.abs(lp - b16[i].logprobs[t])))));
  assert.ok(maxDiff > 0 && maxDiff < 0.05, `max |Δ logprob| ${maxDiff}`);
});
