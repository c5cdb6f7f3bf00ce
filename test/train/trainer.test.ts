// Trainer semantics: LR schedules against hand-computed values, loss-mask reduction across
// micro-batches, freezing, determinism, the non-finite guard, and bad-input errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { getKernels, tsKernels } from '../../src/engine/index.js';
import { ConfigError, parseModelConfig, type ModelConfig } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { BatchError, lengthSplit, makeBatch, microBatches, type Example } from '../../src/train/batch.js';
import { completionLogprobs } from '../../src/train/logprob.js';
import { lrMultiplier } from '../../src/train/schedule.js';
import { PAPER_FREEZE } from '../../src/train/optimizer.js';
import { gradNormOrThrow, NonFiniteError, Trainer } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';

const cfg: ModelConfig = parseModelConfig({
  hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  vocab_size: 13, max_position_embeddings: 32, bos_token_id: null, eos_token_id: null, pad_token_id: 0,
});

function examples(seed: number, n: number): Example[] {
  const r = new Rng(seed);
  const out: Example[] = [];
  for (let i = 0; i < n; i++) {
    const p = Array.from({ length: 1 + r.int(5) }, () => 1 + r.int(12));
    const c = Array.from({ length: 1 + r.int(6) }, () => 1 + r.int(12));
    out.push({ prompt: p, completion: c });
  }
  return out;
}
const bopts = { padId: 0, vocabSize: 13, maxSeq: 16 };

test('LR schedules follow the HF/LambdaLR lambdas (hand-computed)', () => {
  const spec = { warmupSteps: 2, totalSteps: 6, minLrRatio: 0 };
  const seq = (schedule: 'constant' | 'linear' | 'cosine') => [0, 1, 2, 3, 4, 5, 6, 7].map((s) => lrMultiplier({ ...spec, schedule }, s));
  assert.deepEqual(seq('constant'), [0, 0.5, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(seq('linear'), [0, 0.5, 1, 0.75, 0.5, 0.25, 0, 0]);
  const cos = seq('cosine');
  // past total_steps HF's cosine lambda rises again (cos beyond π); kept as is to match torch runs
  const want = [0, 0.5, 1, (1 + Math.cos(Math.PI / 4)) / 2, 0.5, (1 + Math.cos((3 * Math.PI) / 4)) / 2, 0, (1 + Math.cos((5 * Math.PI) / 4)) / 2];
  cos.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-15, `cosine λ(${i}) = ${v}, want ${want[i]}`));
  // floor: decays to minLrRatio instead of 0
  assert.ok(Math.abs(lrMultiplier({ ...spec, schedule: 'cosine', minLrRatio: 0.1 }, 6) - 0.1) < 1e-15);
});

test('batch: completion-only mask, right padding, token count', () => {
  const b = makeBatch([{ prompt: [3, 4], completion: [5, 6] }, { prompt: [7], completion: [8] }], bopts);
  assert.equal(b.T, 3);
  assert.deepEqual([...b.inputs], [3, 4, 5, 7, 0, 0]);
  assert.deepEqual([...b.targets], [4, 5, 6, 8, 0, 0]);
  assert.deepEqual([...b.mask], [0, 1, 1, 1, 0, 0]);
  assert.equal(b.tokens, 3);
});

test('gradient accumulation: the step loss and grads do not depend on the micro-batch split', () => {
  const exs = examples(3, 6);
  const model = new LlamaModel(cfg, { maxBatch: 6, maxSeq: 16, dtype: 'float64', kernels: tsKernels });
  model.initWeights(11);
  const results = [1, 2, 6].flatMap((size) => (['order', 'length'] as const).map((split) => {
    const t = new Trainer(model, { lr: 0, maxGradNorm: null });
    const r = t.step(microBatches(exs, size, bopts, split));
    return { loss: r.loss, grads: Float64Array.from(model.grads), norm: r.gradNorm };
  }));
  // reference: the mean over all unmasked tokens, by hand from per-row losses of one full batch
  const full = makeBatch(exs, bopts);
  const w = new Float64Array(full.B * full.T).fill(1);
  model.forward(full.inputs, full.targets, w, full.B, full.T);
  let sum = 0;
  for (let i = 0; i < full.B * full.T; i++) sum += full.mask[i] * model.acts.losses[i];
  const mean = sum / full.tokens;
  for (const r of results) {
    assert.ok(Math.abs(r.loss - mean) < 1e-12, `loss ${r.loss} vs mean ${mean}`);
    for (let i = 0; i < r.grads.length; i++) assert.ok(Math.abs(r.grads[i] - results[0].grads[i]) < 1e-12);
  }
});

/** Every partition of the sorted rows into contiguous runs of ≤ size, by brute force: the least cost. */
function bruteBestCost(lengths: number[], size: number, overhead: number): number {
  const l = [...lengths].sort((a, b) => a - b);
  const go = (i: number): number => {
    if (i === l.length) return 0;
    let best = Infinity;
    for (let j = i + 1; j <= Math.min(l.length, i + size); j++) best = Math.min(best, (j - i) * l[j - 1] + overhead + go(j));
    return best;
  };
  return go(0);
}

test('lengthSplit: every row once, groups of ≤ size, the least padding + overhead (brute force)', () => {
  const r = new Rng(5);
  for (let trial = 0; trial < 60; trial++) {
    const n = 1 + r.int(11);
    const size = 1 + r.int(6);
    const overhead = [0, 3, 40][trial % 3];
    const lengths = Array.from({ length: n }, () => 1 + r.int(30));
    const groups = lengthSplit(lengths, size, overhead);
    assert.deepEqual(groups.flat().sort((a, b) => a - b), lengths.map((_, i) => i), `rows ${lengths}`);
    assert.ok(groups.every((g) => g.length >= 1 && g.length <= size));
    const cost = groups.reduce((c, g) => c + g.length * Math.max(...g.map((i) => lengths[i])) + overhead, 0);
    assert.equal(cost, bruteBestCost(lengths, size, overhead), `lengths ${lengths} size ${size} overhead ${overhead}`);
  }
  // hand-worked: lengths 10, 2, 9, 3 in groups of ≤ 2 with overhead 2 → {2, 3} and {9, 10}: 6 + 20 + 2·2
  // positions (one row each: 24 + 4·2; in order: 20 + 18 + 2·2); with no overhead every row alone
  assert.deepEqual(lengthSplit([10, 2, 9, 3], 2, 2), [[1, 3], [2, 0]]);
  assert.deepEqual(lengthSplit([10, 2, 9, 3], 2, 0), [[1], [3], [2], [0]]);
  // a large overhead keeps as few groups as the size allows
  assert.equal(lengthSplit([10, 2, 9, 3], 4, 1000).length, 1);
});

test('micro-batch split by length: fewer padded positions, the same loss and gradient as in order', () => {
  // rows of 8..200 positions: long enough that splitting pays for the per-micro-batch overhead
  const r = new Rng(8);
  const exs: Example[] = Array.from({ length: 12 }, () => ({
    prompt: Array.from({ length: 4 + r.int(4) }, () => 1 + r.int(12)),
    completion: Array.from({ length: 4 + r.int(190) }, () => 1 + r.int(12)),
  }));
  const long = { ...cfg, max_position_embeddings: 256 };
  const model = new LlamaModel(long, { maxBatch: 12, maxSeq: 256, dtype: 'float64', kernels: tsKernels });
  model.initWeights(3);
  const run = (split: 'order' | 'length') => {
    const mbs = microBatches(exs, 12, { ...bopts, maxSeq: 256 }, split);
    const t = new Trainer(model, { lr: 0, maxGradNorm: null });
    const r = t.step(mbs);
    return { r, grads: Float64Array.from(model.grads), rows: mbs.reduce((a, b) => a + b.B, 0) };
  };
  const inOrder = run('order');
  const byLength = run('length');
  assert.equal(inOrder.rows, 12);
  assert.equal(byLength.rows, 12);
  assert.equal(byLength.r.tokens, inOrder.r.tokens);
  assert.equal(byLength.r.positions - byLength.r.padded, inOrder.r.positions - inOrder.r.padded, 'the same real positions');
  assert.ok(byLength.r.padded < inOrder.r.padded, `padding ${byLength.r.padded} vs ${inOrder.r.padded}`);
  assert.ok(Math.abs(byLength.r.loss - inOrder.r.loss) < 1e-12);
  for (let i = 0; i < inOrder.grads.length; i++) assert.ok(Math.abs(byLength.grads[i] - inOrder.grads[i]) < 1e-12, `grad ${i}`);
});

test('same seed and config give bit-identical losses over several steps', () => {
  const run = () => {
    const model = new LlamaModel(cfg, { maxBatch: 4, maxSeq: 16, kernels: getKernels() });
    model.initWeights(42);
    const t = new Trainer(model, { lr: 3e-3, schedule: 'cosine', warmupSteps: 1, totalSteps: 5, weightDecay: 0.1 });
    const mbs = microBatches(examples(5, 8), 4, bopts);
    return [0, 1, 2, 3, 4].map(() => t.step(mbs).loss);
  };
  const a = run();
  const b = run();
  assert.deepEqual(a, b);
  assert.ok(a[4] < a[0], `loss should fall: ${a.join(', ')}`);
});

test('freezing by name pattern: frozen tensors keep their values and get no grads', () => {
  for (const tied of [false, true]) {
    const c = { ...cfg, tie_word_embeddings: tied };
    const model = new LlamaModel(c, { maxBatch: 4, maxSeq: 16, kernels: tsKernels });
    model.initWeights(1);
    const before = Float32Array.from(model.params);
    const t = new Trainer(model, { lr: 1e-2, freeze: PAPER_FREEZE });
    t.step(microBatches(examples(9, 4), 4, bopts));
    for (const tensor of model.tensors) {
      const frozen = tensor.isNorm || tensor.kind === 'embed' || tensor.kind === 'head';
      const p = model.params.subarray(tensor.offset, tensor.offset + tensor.size);
      const p0 = before.subarray(tensor.offset, tensor.offset + tensor.size);
      const g = model.grads.subarray(tensor.offset, tensor.offset + tensor.size);
      const changed = p.some((x, i) => x !== p0[i]);
      assert.equal(changed, !frozen, `${tensor.name} (tied=${tied}) changed=${changed}`);
      if (frozen) assert.ok(g.every((x) => x === 0), `${tensor.name} got a grad`);
    }
  }
  const model = new LlamaModel(cfg, { maxBatch: 1, maxSeq: 4, kernels: tsKernels });
  assert.throws(() => new Trainer(model, { freeze: ['model.layers.*.mlp.nope'] }), (e: unknown) => e instanceof ConfigError && /freeze\[0\]/.test((e as Error).message));
});

test('a NaN loss stops the step with the step, tensor and layer, before any update', () => {
  const model = new LlamaModel(cfg, { maxBatch: 4, maxSeq: 16, kernels: tsKernels });
  model.initWeights(2);
  const t = new Trainer(model, { lr: 1e-2 });
  const mbs = microBatches(examples(4, 4), 4, bopts);
  t.step(mbs);
  model.namedParams().get('model.layers.1.mlp.up_proj.weight')![5] = NaN;
  const params = Float32Array.from(model.params);
  const m = Float32Array.from(t.state.m);
  assert.throws(() => t.step(mbs), (e: unknown) => {
    assert.ok(e instanceof NonFiniteError);
    assert.equal(e.step, 2);
    assert.equal(e.layer, 1);
    assert.equal(e.tensor, 'output of model.layers.1.mlp.up_proj');
    assert.match(e.message, /^non-finite loss \(micro-batch 0\) at step 2: output of model\.layers\.1\.mlp\.up_proj \(layer 1\) = NaN/);
    return true;
  });
  assert.equal(t.state.step, 1);
  assert.deepEqual(t.state.m, m);
  model.params.forEach((x, i) => assert.ok(Object.is(x, params[i])));
});

test('a non-finite gradient is reported by tensor name and layer', () => {
  const model = new LlamaModel(cfg, { maxBatch: 1, maxSeq: 4, kernels: tsKernels });
  const t = new Trainer(model, {});
  model.grads.fill(0.5);
  assert.ok(Math.abs(gradNormOrThrow(tsKernels, t.trainable, 3) - 0.5 * Math.sqrt(model.numParams)) < 1e-6);
  model.namedGrads().get('model.layers.0.self_attn.k_proj.weight')![3] = Infinity;
  assert.throws(() => gradNormOrThrow(tsKernels, t.trainable, 3), (e: unknown) =>
    e instanceof NonFiniteError && e.step === 3 && e.layer === 0 && e.tensor === 'model.layers.0.self_attn.k_proj.weight' && e.value === Infinity);
});

test('bad config, batch and input values are refused with typed errors naming the field', () => {
  const base = { hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 10 };
  const bad = (o: Record<string, unknown>, field: string) =>
    assert.throws(() => parseModelConfig(o, 'x.json'), (e: unknown) => e instanceof ConfigError && e.field === field && e.message.startsWith('x.json: field'));
  bad({ ...base, hidden_sise: 3 }, 'hidden_sise');
  bad({ ...base, hidden_size: '16' }, 'hidden_size');
  bad({ ...base, hidden_size: 18 }, 'hidden_size');
  bad({ ...base, num_key_value_heads: 3 }, 'num_attention_heads');
  bad({ ...base, tie_word_embeddings: 1 }, 'tie_word_embeddings');
  bad({ ...base, hidden_act: 'gelu' }, 'hidden_act');
  bad({ ...base, eos_token_id: 10 }, 'eos_token_id');
  bad({ ...base, rms_norm_eps: -1 }, 'rms_norm_eps');
  // a full HF config.json with its usual extra fields is accepted
  parseModelConfig({ ...base, model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_act: 'silu', torch_dtype: 'float32', rope_scaling: null, use_cache: true });

  assert.throws(() => makeBatch([{ prompt: [1], completion: [2] }, { prompt: [1], completion: [13] }], bopts),
    (e: unknown) => e instanceof BatchError && /example 1: completion\[0\] expected a token id in \[0, 13\), found 13/.test((e as Error).message));
  assert.throws(() => makeBatch([{ prompt: [1], completion: [] }], bopts), BatchError);
  assert.throws(() => makeBatch([{ prompt: new Array(17).fill(1), completion: [2] }], bopts), /at most maxSeq \+ 1 = 17 tokens, found 18/);

  const model = new LlamaModel(cfg, { maxBatch: 2, maxSeq: 4, kernels: tsKernels });
  const tok = new Int32Array(8);
  const w = new Float32Array(8).fill(1);
  assert.throws(() => model.forward(tok, tok, w, 3, 4), /batch size B: expected an integer in \[1, maxBatch=2\], found 3/);
  assert.throws(() => model.forward(tok, tok, w, 2, 5), /sequence length T/);
  assert.throws(() => model.forward(new Int32Array(7), null, null, 2, 4), /tokens: expected length ≥ B·T = 8/);
  tok[5] = 13;
  assert.throws(() => model.forward(tok, null, null, 2, 4), /tokens\[5\] \(row 1, position 1\): expected a token id in \[0, vocab_size=13\), found 13/);
  tok[5] = 0;
  w[2] = NaN;
  assert.throws(() => model.forward(tok, tok, w, 2, 4), /weights\[2\]: expected a finite number ≥ 0, found NaN/);
  assert.throws(() => model.backward(), /backward\(\)/);
  assert.throws(() => new LlamaModel(cfg, { maxBatch: 1, maxSeq: 33 }), /maxSeq: expected ≤ max_position_embeddings=32/);
  assert.throws(() => new Trainer(model, { lr: -1 }), (e: unknown) => e instanceof ConfigError && e.field === 'lr');
  assert.throws(() => new Trainer(model, { learning_rate: 1 } as never), (e: unknown) => e instanceof ConfigError && e.field === 'learning_rate');
});

test('optimizer state (step, m, v) copied into a fresh trainer resumes bit-identically', () => {
  const mbs = microBatches(examples(8, 4), 4, bopts);
  const make = () => {
    const model = new LlamaModel(cfg, { maxBatch: 4, maxSeq: 16, kernels: tsKernels });
    model.initWeights(6);
    return new Trainer(model, { lr: 1e-2, schedule: 'linear', warmupSteps: 1, totalSteps: 6, weightDecay: 0.1 });
  };
  const a = make();
  a.step(mbs);
  a.step(mbs);
  const b = make();
  b.model.params.set(a.model.params);
  const { m, v } = a.namedMoments();
  const nb = b.namedMoments();
  assert.deepEqual([...m.keys()], [...b.model.namedParams().keys()]);
  for (const [name, x] of m) nb.m.get(name)!.set(x);
  for (const [name, x] of v) nb.v.get(name)!.set(x);
  b.state.step = a.state.step;
  const ra = a.step(mbs);
  const rb = b.step(mbs);
  assert.deepEqual(rb, ra);
  assert.deepEqual(b.model.params, a.model.params);
});

test('a training step allocates no new buffers (activations, grads and moments are preallocated)', () => {
  const model = new LlamaModel(cfg, { maxBatch: 4, maxSeq: 16, kernels: getKernels() });
  model.initWeights(3);
  const t = new Trainer(model, { lr: 1e-3, maxGradNorm: 0.5 });
  const mbs = microBatches(examples(12, 8), 4, bopts);
  t.step(mbs);
  // every typed array or ArrayBuffer the steps construct is counted (JS code looks these up on the
  // global object at each `new`); the addon's own buffers show in arrayBuffers after a full GC
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const kinds = ['ArrayBuffer', 'Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array', 'Uint16Array', 'Uint32Array'] as const;
  const g = globalThis as unknown as Record<string, unknown>;
  const originals = kinds.map((k) => g[k]);
  const made: string[] = [];
  gc();
  const before = process.memoryUsage().arrayBuffers;
  kinds.forEach((k, i) => (g[k] = new Proxy(originals[i] as object, { construct: (c, args, nt) => (made.push(k), Reflect.construct(c as new (...a: unknown[]) => object, args, nt)) })));
  try {
    for (let i = 0; i < 5; i++) t.step(mbs);
  } finally {
    kinds.forEach((k, i) => (g[k] = originals[i]));
  }
  gc();
  assert.deepEqual(made, [], 'typed arrays constructed during the steps');
  assert.ok(process.memoryUsage().arrayBuffers <= before, `arrayBuffers ${before} → ${process.memoryUsage().arrayBuffers} after 5 steps and a GC`);
});

test('completion logprobs equal the log-softmax of the logits summed over completion tokens', () => {
  const model = new LlamaModel(cfg, { maxBatch: 3, maxSeq: 16, dtype: 'float64', kernels: tsKernels });
  model.initWeights(4);
  const exs = examples(21, 3);
  const batch = makeBatch(exs, bopts);
  const lp = completionLogprobs(model, batch);
  model.forward(batch.inputs, null, null, batch.B, batch.T);
  const logits = model.logits();
  const V = cfg.vocab_size;
  exs.forEach((ex, b) => {
    // by hand: position t predicts token t+1 of prompt ++ completion
    const seq = [...Array.from(ex.prompt), ...Array.from(ex.completion)];
    let want = 0;
    for (let t = ex.prompt.length - 1; t < seq.length - 1; t++) {
      const row = logits.subarray((b * batch.T + t) * V, (b * batch.T + t + 1) * V);
      const mx = Math.max(...row);
      let se = 0;
      for (const x of row) se += Math.exp(x - mx);
      const lse = mx + Math.log(se);
      want += row[seq[t + 1]] - lse;
    }
    assert.ok(Math.abs(lp[b] - want) < 1e-10, `example ${b}: ${lp[b]} vs ${want}`);
  });
});
