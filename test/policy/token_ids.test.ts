// Token ids end to end with a byte-level BPE tokenizer (test/fixtures/tokenizers/bytelevel, 405 ids): a
// sampled completion's ids often differ from the re-encoding of its text (e.g. 'h', 'e' sampled apart
// re-encode as the merged 'he'; a split multi-byte character decodes to U+FFFD). The sample record keeps
// the sampled ids through reward and selection, and training uses exactly them: the trained loss equals
// the sampler's own per-token logprobs of those ids, and differs from the loss of the re-encoded text.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { MethodContext } from '../../src/methods/context.js';
import { METHOD_IMPLS } from '../../src/methods/index.js';
import { runIteration } from '../../src/methods/iteration.js';
import { sampleScored } from '../../src/methods/pieces.js';
import { tinyModelConfig } from '../../src/model/config.js';
import { localPolicy } from '../../src/policy/local.js';
import type { Policy, TrainExample } from '../../src/policy/types.js';
import { methodOptions } from '../../src/run/config.js';
import type { Query, Task } from '../../src/tasks/types.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';
import { tinyConfig } from '../run/tiny.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/tokenizers');
const tokenizer = loadTokenizer(path.join(fixtures, 'bytelevel'));

function bpePolicy() {
  const config = tinyModelConfig(tokenizer.vocabSize, {
    hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 128,
    bos_token_id: tokenizer.bosId, eos_token_id: tokenizer.eosId, pad_token_id: tokenizer.padId,
  });
  return localPolicy({ config, tokenizer, maxSeq: 128, maxBatch: 8, initSeed: 3 });
}

/** The completion's ids re-made from its text (what training did before ids travelled). */
const reencoded = (text: string, finishedOnEos: boolean) => [...tokenizer.encode(text), ...(finishedOnEos ? [tokenizer.eosId] : [])];

// A task whose verifier calls every non-empty text right: selection keeps (deduplicated) samples.
const queries: Query[] = ['The cat', 'A bird sings', 'In the house', 'hello there'].map((p, i) => ({ id: `q${i}`, prompt: p, gold: { answer: 'x', solution: ' the end' } }));
const task: Task = {
  name: 'bpe-test',
  load: () => queries,
  formatPrompt: (q) => q.prompt,
  extractAnswer: (t) => (t.length > 0 ? 'x' : null),
  verify: (t) => ({ correct: t.length > 0, answer: t.length > 0 ? 'x' : null, reason: t.length > 0 ? 'match' : 'no-answer' }),
  goldSolution: (q) => q.gold.solution!,
};

function context(policy: Policy): MethodContext {
  const options = methodOptions(tinyConfig(['queriesPerIteration=4', 'samplesPerQuery=4', 'sampling.maxTokens=12', 'sampling.temperature=1', 'selection.threshold=0.5', 'train.stepsPerIteration=2', 'train.batchSize=4', 'train.lr=0.0001']));
  return {
    policy, task, config: options, train: new Map(queries.map((q) => [q.id, q])), trainIds: queries.map((q) => q.id), goldIds: queries.map((q) => q.id),
    devIds: [], test: queries, log: () => {}, progress: { start() {}, update() {}, stop() {} },
  };
}

test('sampled ids differ from the re-encoded text, and the trained loss is that of the sampled ids', async () => {
  const p = bpePolicy();
  const out = await p.sample(queries.map((q) => ({ id: q.id, prompt: q.prompt })), { n: 6, temperature: 1, topP: 1, maxTokens: 12, stop: [], seed: 5 });
  const all = out.completions.flat();
  for (const c of all) {
    assert.ok(c.completionIds && c.promptIds && c.tokenLogprobs, 'every local completion carries its ids');
    assert.equal(c.completionIds.length, c.tokens);
    assert.equal(c.tokenLogprobs.length, c.tokens);
    assert.ok(Math.abs(c.tokenLogprobs.reduce((a, b) => a + b, 0) - c.logprob) < 1e-9);
  }
  const differing = all.filter((c) => JSON.stringify(reencoded(c.text, c.finishReason === 'eos')) !== JSON.stringify(c.completionIds));
  assert.ok(differing.length >= 3, `${differing.length} of ${all.length} completions re-encode differently`);
  const c = differing[0];
  const prompt = queries[out.completions.findIndex((g) => g.includes(c))].prompt;
  const withIds: TrainExample = { prompt, completion: c.text, promptIds: c.promptIds, completionIds: c.completionIds };
  // per-token CE of the training forward on the sampled ids = −(sampler's per-token logprobs), averaged
  const expected = -c.tokenLogprobs!.reduce((a, b) => a + b, 0) / c.tokens;
  const lossIds = await p.evalLoss([withIds]);
  assert.ok(Math.abs(lossIds - expected) < 1e-4 * Math.max(1, expected), `eval loss ${lossIds} vs sampler ${expected}`);
  const lossText = await p.evalLoss([{ prompt, completion: c.text }]);
  assert.ok(Math.abs(lossText - lossIds) > 1e-3, `re-encoded text trains on other tokens: ${lossText} vs ${lossIds}`);
  await p.configureOptimizer({ lr: 1e-4, minLr: 0, schedule: 'constant', warmupSteps: 0, totalSteps: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1, freeze: [], microBatch: 1 }, { reset: true });
  const r = await p.train([withIds]);
  assert.equal(r.loss, lossIds, 'the step trained on exactly the sampled ids');
  assert.equal(r.tokens, c.tokens);
});

test('the ids travel from the sampler through reward and selection to the trainer', async () => {
  const p = bpePolicy();
  const trained: TrainExample[][] = [];
  const spy: Policy = { ...p, train: (batch) => (trained.push([...batch]), p.train(batch)) };
  const ctx = context(spy);
  // the pool runIteration will sample (same stream: ['sample', 1])
  const pool = await sampleScored(ctx, queries, 1, 4, 1, ['sample', 1], 'pool');
  const res = await runIteration(ctx, METHOD_IMPLS['iterative-rft'], { base: null }, 1);
  const ids = (xs: typeof pool.samples) => [...xs].sort((a, b) => (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : 0)).map((s) => s.completionIds);
  assert.deepEqual(ids(res.artifacts.samples), ids(pool.samples), 'the iteration sampled the same pool');
  const selected = res.artifacts.selection!.samples;
  assert.ok(selected.length >= 4, `${selected.length} selected`);
  for (const s of selected) {
    assert.ok(s.completionIds && s.promptIds && s.tokenLogprobs, `${s.queryId}: the selected sample kept its ids`);
    assert.deepEqual(s.promptIds, tokenizer.encode(task.formatPrompt(ctx.train.get(s.queryId)!), { addBos: true }));
  }
  const bySample = new Map(selected.map((s) => [JSON.stringify(s.completionIds), s]));
  const examples = trained.flat();
  assert.equal(examples.length, 2 * 4, 'two steps of batch 4');
  let differ = 0;
  for (const e of examples) {
    const s = bySample.get(JSON.stringify(e.completionIds));
    assert.ok(s, 'each trained example is a selected sample, with its sampled ids');
    assert.equal(e.completion, s.text);
    assert.deepEqual(e.promptIds, s.promptIds);
    if (JSON.stringify(reencoded(s.text, s.completionIds!.at(-1) === tokenizer.eosId)) !== JSON.stringify(s.completionIds)) differ++;
  }
  assert.ok(differ > 0, 'some trained completion would have been re-encoded differently');
});
