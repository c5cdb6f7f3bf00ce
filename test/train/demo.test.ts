// The demo job end to end on a small model: the loss falls, output is deterministic per seed, and
// greedy decoding continues prompts with the model's argmax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tsKernels } from '../../src/engine/index.js';
import { tinyLlamaConfig } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { DEMO_VOCAB, decodeChars, encodeChars, greedyComplete, runDemo } from '../../src/train/demo.js';

const config = tinyLlamaConfig(DEMO_VOCAB, { hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, pad_token_id: 0, max_position_embeddings: 16 });

test('demo: loss falls over training and runs are reproducible', () => {
  const lines: string[] = [];
  const opts = { steps: 40, batch: 16, lr: 1e-2, seed: 3, evalProblems: 8, config, kernels: tsKernels };
  const a = runDemo({ ...opts, log: (l) => lines.push(l) });
  const b = runDemo({ ...opts, log: () => {} });
  assert.deepEqual(a.losses, b.losses);
  const first = a.losses.slice(0, 5).reduce((x, y) => x + y) / 5;
  const last = a.losses.slice(-5).reduce((x, y) => x + y) / 5;
  assert.ok(last < 0.8 * first, `loss ${first} → ${last}`);
  assert.ok(lines.some((l) => /greedy accuracy on 8 held-out problems/.test(l)));
  assert.ok(a.tokensPerSecond > 0);
});

test('demo vocabulary round-trips and greedy decoding appends the argmax token', () => {
  assert.equal(decodeChars(encodeChars('12+34=046\n')), '12+34=046\n');
  assert.throws(() => encodeChars('1-2'), /no character "-"/);
  const model = new LlamaModel(config, { maxBatch: 2, maxSeq: 8, kernels: tsKernels });
  model.initWeights(1);
  const prompts = [encodeChars('12+34='), encodeChars('99+01=')];
  const out = greedyComplete(model, prompts, 2);
  assert.equal(out.length, 2);
  // the first generated token is the argmax of the prompt's last-position logits
  for (let b = 0; b < 2; b++) {
    model.forward(new Int32Array(prompts[b]), null, null, 1, 6);
    const lg = model.logits().subarray(5 * DEMO_VOCAB, 6 * DEMO_VOCAB);
    let best = 0;
    for (let v = 1; v < DEMO_VOCAB; v++) if (lg[v] > lg[best]) best = v;
    assert.equal(out[b][0], best);
  }
});
