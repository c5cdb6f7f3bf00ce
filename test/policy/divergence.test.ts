// The divergence guard on hand-made step outcomes: each finding (loss jump, loss at ln V after warm-up,
// zero gradient, weight bound) at exactly the step it should fire and not before; the message names
// what happened and the likely setting; warn mode logs each kind once and goes on; and on a real model
// an absurd LR stops the one training loop before it returns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tsKernels } from '../../src/engine/index.js';
import { parseModelConfig } from '../../src/model/config.js';
import { localPolicy } from '../../src/policy/local.js';
import { CharTokenizer } from '../../src/tokenizer/char.js';
import { DivergenceError, DivergenceGuard, DIVERGENCE_DEFAULTS } from '../../src/policy/divergence.js';
import { trainLoop } from '../../src/policy/trainLoop.js';
import type { StepResult } from '../../src/train/trainer.js';

const V = 50;
const ctx = { where: 'sft', lrSetting: { name: 'sft.lr', value: 3 }, warmupSteps: 2 };
const step = (i: number, o: Partial<StepResult> = {}): StepResult => ({
  step: i, loss: 2, gradNorm: 1, lr: 1e-3, tokens: 10, positions: 12, padded: 2, weightMaxAbs: 0.5, vocabSize: V, ...o,
});

/** The 1-based step at which the guard stops over these outcomes, and its message (or null). */
function stopsAt(steps: StepResult[], settings = DIVERGENCE_DEFAULTS): { at: number; message: string } | null {
  const g = new DivergenceGuard(settings, ctx);
  for (const s of steps) {
    try {
      g.check(s);
    } catch (e) {
      assert.ok(e instanceof DivergenceError);
      return { at: s.step, message: e.message };
    }
  }
  return null;
}

test('healthy training passes: falling, noisy loss; warm-up at ln V; a single zero gradient', () => {
  const losses = [Math.log(V), Math.log(V), 3.2, 2.1, 2.6, 1.4, 1.9, 1.1, 0.9, 1.3, 0.7];
  assert.equal(stopsAt(losses.map((l, i) => step(i + 1, { loss: l, gradNorm: i === 5 ? 0 : 1 }))), null);
});

test('loss jump: over 4× the running mean and over it + 1 nat; not for a jump under 1 nat', () => {
  const base = [2, 2, 2, 2].map((l, i) => step(i + 1, { loss: l }));
  const r = stopsAt([...base, step(5, { loss: 8.1 })]);
  assert.equal(r?.at, 5);
  assert.match(r!.message, /^divergence in sft at optimizer step 5: the loss jumped to 8\.1 from a running mean of 2 \(more than 4×\); likely cause: sft\.lr = 3 \(far above the usual fine-tuning range/);
  assert.equal(stopsAt([...base, step(5, { loss: 7.9 })]), null, '7.9 < 4 × 2');
  // small losses: 0.05 → 0.9 is 18× but under the mean + 1 nat
  assert.equal(stopsAt([0.05, 0.05, 0.9].map((l, i) => step(i + 1, { loss: l }))), null);
});

test('loss at ln V: uniformSteps steps in a row after warm-up, not during it', () => {
  const lnV = Math.log(V);
  const at = (n: number, from = 1) => Array.from({ length: n }, (_, i) => step(from + i, { loss: lnV * (1 + (i % 2 ? 0.005 : -0.005)) }));
  // steps 1–2 are warm-up: 8 counted steps are 3…10
  assert.equal(stopsAt(at(10))?.at, 10);
  assert.match(stopsAt(at(10))!.message, /the loss has sat at ln V = 3\.912 \(a uniform guess over 50 tokens\) for 8 steps after warm-up/);
  assert.equal(stopsAt(at(9)), null);
  assert.equal(stopsAt([...at(6), step(7, { loss: 3 }), ...at(5, 8)]), null, 'the run is broken by a step off ln V');
});

test('zero gradient for zeroGradSteps steps in a row; weights past the bound at once; NaN losses are not judged here', () => {
  assert.equal(stopsAt([1, 2, 3].map((i) => step(i, { gradNorm: 0 })))?.at, 3);
  assert.equal(stopsAt([1, 2, 3].map((i) => step(i, { gradNorm: i === 2 ? 1e-9 : 0 }))), null);
  const w = stopsAt([step(1), step(2, { weightMaxAbs: 2e4 })]);
  assert.equal(w?.at, 2);
  assert.match(w!.message, /a weight reached \|w\| = 2\.00e\+4 \(bound 1\.00e\+4\)/);
  // an external trainer reports NaN for what it cannot know
  assert.equal(stopsAt([1, 2, 3, 4].map((i) => step(i, { loss: NaN, gradNorm: NaN, weightMaxAbs: NaN, vocabSize: NaN }))), null);
});

test('warn: each kind of finding is logged once, training goes on', () => {
  const lines: string[] = [];
  const g = new DivergenceGuard({ ...DIVERGENCE_DEFAULTS, action: 'warn' }, ctx, (l) => lines.push(l));
  for (let i = 1; i <= 6; i++) g.check(step(i, { gradNorm: 0, weightMaxAbs: i >= 5 ? 1e5 : 1 }));
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0], /^warning: divergence in sft at optimizer step 3: the gradient norm has been 0 for 3 steps; likely cause: sft\.lr = 3 .*\(divergence\.action=warn: training goes on\)$/);
  assert.match(lines[1], /step 5: the gradient norm has been 0 for 5 steps; a weight reached/);
  assert.throws(() => new DivergenceGuard({ ...DIVERGENCE_DEFAULTS, action: 'ignore' as never }, ctx), /divergence\.action: expected "stop" or "warn"/);
});

test('on a real model, lr = 1e6 stops the one training loop at the step that blows the weights up', async () => {
  const tok = new CharTokenizer(['a', 'b', 'c']);
  const config = parseModelConfig({ hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, vocab_size: tok.vocabSize, max_position_embeddings: 16 });
  const p = localPolicy({ config, tokenizer: tok, maxSeq: 16, maxBatch: 4, kernels: tsKernels, initSeed: 1 });
  await p.configureOptimizer({ lr: 1e6, minLr: 0, schedule: 'constant', warmupSteps: 0, totalSteps: 10, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1, freeze: [], microBatch: 4 }, { reset: true });
  const seen: number[] = [];
  const guard = new DivergenceGuard(DIVERGENCE_DEFAULTS, { where: 'test', lrSetting: { name: 'lr', value: 1e6 }, warmupSteps: 0 });
  await assert.rejects(
    trainLoop(p, [{ prompt: 'ab', completion: 'cab' }, { prompt: 'b', completion: 'ca' }], { steps: 10, batchSize: 2, seed: 0, guard, onStep: (s) => void seen.push(s.weightMaxAbs) }),
    (e: Error) => e instanceof DivergenceError && e.step === 1 && /a weight reached \|w\| = 1\.00e\+6/.test(e.message) && /likely cause: lr = 1000000/.test(e.message),
  );
  assert.deepEqual(seen, [], 'the diverged step is not reported as a step');
});
