// bf16 training (train.precision: bf16) against PyTorch goldens of the same arithmetic
// (test/fixtures/make_llama_golden_bf16.py: every projection and the LM head multiply bf16-rounded
// operands forward and backward, everything else in float64), on the TS backend and on the native one
// with each bf16 GEMM this CPU has. Tolerances (relative to the largest magnitude of the reference
// tensor): logits and loss 1e-5, gradients 3e-3, losses of the 3 AdamW steps 1e-3, parameters after them
// 3e-3. Measured (2026-12-03): logits ≤ 1.1e-7, gradients ≤ 1.0e-3, step losses ≤ 2.8e-4, parameters
// ≤ 7.4e-4; the gradient error is the rare operand that fp32 and float64 round to different bf16
// neighbours. The same model in fp32 misses these goldens by 1.5e-2 (logits), 2–3e-2 (gradients) and
// 4.6e-2 (parameters), asserted below, so the tolerances tell bf16 arithmetic from fp32.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend, tsKernels, type Kernels, type Precision } from '../../src/engine/index.js';
import { loadAddon } from '../../src/engine/native.js';
import { parseModelConfig } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { makeBatch, microBatches } from '../../src/train/batch.js';
import { Trainer } from '../../src/train/trainer.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
const addon = loadAddon() as unknown as { setBf16(impl: string): string; info(): { bf16Native: boolean; isa: string } };
after(() => addon.setBf16('native'));

interface Header {
  config: Record<string, unknown>;
  sequences: { prompt: number[]; completion: number[] }[];
  B: number;
  T: number;
  train: { lr: number; betas: [number, number]; eps: number; weight_decay: number; schedule: 'cosine'; warmup_steps: number; total_steps: number; max_grad_norm: number; steps: number };
  step_losses: number[];
  tensors: Record<string, { shape: number[]; offset: number }>;
}

function load(name: string): { h: Header; f32(t: string): Float32Array } {
  const h = JSON.parse(readFileSync(path.join(fixtures, `${name}.json`), 'utf8')) as Header;
  const bin = readFileSync(path.join(fixtures, `${name}.bin`));
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return {
    h,
    f32: (t) => {
      const e = h.tensors[t];
      assert.ok(e, `${name}: no tensor ${t}`);
      return new Float32Array(buf, e.offset * 4, e.shape.reduce((a, b) => a * b, 1));
    },
  };
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let maxRef = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) maxRef = Math.max(maxRef, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / Math.max(maxRef, 1e-30);
}

/** Runs the fixture's forward/backward and 3 steps; returns the worst relative errors per quantity. */
function run(name: string, kernels: Kernels, precision: Precision): { loss: number; logits: number; grads: number; steps: number; params: number } {
  const fx = load(name);
  const h = fx.h;
  const cfg = parseModelConfig(h.config, `${name}.json`);
  const model = new LlamaModel(cfg, { maxBatch: h.B, maxSeq: h.T, kernels, precision });
  const setParams = () => { for (const [n, view] of model.namedParams()) view.set(fx.f32(`param/${n}`)); };
  setParams();
  const batch = makeBatch(h.sequences, { padId: 0, vocabSize: cfg.vocab_size, maxSeq: h.T });
  const weights = new Float32Array(batch.mask.map((m) => m / batch.tokens));
  model.forward(batch.inputs, null, null, batch.B, batch.T);
  const logits = relErr(model.logits(), fx.f32('logits'));
  model.zeroGrad();
  const loss = model.forward(batch.inputs, batch.targets, weights, batch.B, batch.T);
  const out = { loss: relErr([loss], fx.f32('loss')), logits, grads: 0, steps: 0, params: 0 };
  model.backward();
  for (const [n, gr] of model.namedGrads()) out.grads = Math.max(out.grads, relErr(gr, fx.f32(`grad/${n}`)));
  setParams();
  const t = h.train;
  const trainer = new Trainer(model, { lr: t.lr, beta1: t.betas[0], beta2: t.betas[1], eps: t.eps, weightDecay: t.weight_decay, schedule: t.schedule, warmupSteps: t.warmup_steps, totalSteps: t.total_steps, maxGradNorm: t.max_grad_norm });
  const mbs = microBatches(h.sequences, 2, { padId: 0, vocabSize: cfg.vocab_size, maxSeq: h.T });
  for (let s = 0; s < t.steps; s++) out.steps = Math.max(out.steps, relErr([trainer.step(mbs).loss], [h.step_losses[s]]));
  for (const [n, p] of model.namedParams()) out.params = Math.max(out.params, relErr(p, fx.f32(`after/${n}`)));
  return out;
}

const nk = getBackend('native');
const targets: [string, Kernels, string | null][] = [
  ['ts', tsKernels, null],
  ['native, emulated bf16', nk, 'emulated'],
  ...(addon.info().bf16Native && addon.info().isa === 'avx512' ? [['native, vdpbf16ps', nk, 'native'] as [string, Kernels, string]] : []),
];

for (const variant of ['untied', 'tied']) {
  test(`bf16 golden ${variant}: fixtures share the fp32 goldens' parameters and batch`, () => {
    const a = load(`llama_${variant}`);
    const b = load(`llama_${variant}_bf16`);
    assert.deepEqual(b.h.sequences, a.h.sequences);
    for (const n of Object.keys(a.h.tensors).filter((t) => t.startsWith('param/'))) assert.deepEqual(b.f32(n), a.f32(n), n);
  });
  for (const [label, kernels, impl] of targets) {
    test(`bf16 golden ${variant}: logits, loss, grads and 3 AdamW steps match PyTorch's bf16 arithmetic (${label})`, () => {
      if (impl) addon.setBf16(impl);
      const e = run(`llama_${variant}_bf16`, kernels, "bf16");
      assert.ok(e.loss <= 1e-5 && e.logits <= 1e-5, `loss ${e.loss.toExponential(2)}, logits ${e.logits.toExponential(2)}`);
      assert.ok(e.grads <= 3e-3, `grads ${e.grads.toExponential(2)}`);
      assert.ok(e.steps <= 1e-3 && e.params <= 3e-3, `step losses ${e.steps.toExponential(2)}, params ${e.params.toExponential(2)}`);
      // the same model in fp32 fails these tolerances: they tell bf16 arithmetic from fp32
      const f = run(`llama_${variant}_bf16`, kernels, 'fp32');
      assert.ok(f.logits > 1e-3 && f.grads > 3e-3 && f.params > 3e-3, `fp32 vs bf16 goldens: logits ${f.logits.toExponential(2)}, grads ${f.grads.toExponential(2)}, params ${f.params.toExponential(2)}`);
      addon.setBf16('native');
    });
  }
}
