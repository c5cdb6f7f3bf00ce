// PyTorch golden fixtures (test/fixtures/make_llama_golden.py: HF Llama math in plain torch) on both
// backends: logits and loss ≤ 1e-4, every gradient ≤ 1e-3, parameters after 3 AdamW steps (cosine
// warmup, clipping, weight decay without norms, 2 micro-batches of gradient accumulation) ≤ 1e-4.
// Errors are relative to the largest magnitude of the reference tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend, nativeKernels, tsKernels, type Kernels } from '../../src/engine/index.js';
import { parseModelConfig } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { makeBatch, microBatches } from '../../src/train/batch.js';
import { Trainer } from '../../src/train/trainer.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

interface Fixture {
  header: {
    config: Record<string, unknown>;
    sequences: { prompt: number[]; completion: number[] }[];
    B: number;
    T: number;
    train: { lr: number; betas: [number, number]; eps: number; weight_decay: number; schedule: 'cosine'; warmup_steps: number; total_steps: number; max_grad_norm: number; steps: number };
    step_losses: number[];
    step_grad_norms: number[];
    step_lrs: number[];
    tensors: Record<string, { dtype: 'f32' | 'i32'; shape: number[]; offset: number }>;
  };
  f32(name: string): Float32Array;
  i32(name: string): Int32Array;
}

function load(variant: string): Fixture {
  const header = JSON.parse(readFileSync(path.join(fixtures, `llama_${variant}.json`), 'utf8')) as Fixture['header'];
  const bin = readFileSync(path.join(fixtures, `llama_${variant}.bin`));
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const get = (name: string) => {
    const t = header.tensors[name];
    assert.ok(t, `fixture llama_${variant}: no tensor ${name}`);
    return { off: t.offset * 4, n: t.shape.reduce((a, b) => a * b, 1) };
  };
  return {
    header,
    f32: (name) => { const { off, n } = get(name); return new Float32Array(buf, off, n); },
    i32: (name) => { const { off, n } = get(name); return new Int32Array(buf, off, n); },
  };
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): { err: number; at: number } {
  assert.equal(got.length, want.length);
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) maxRef = Math.max(maxRef, Math.abs(want[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) { worst = e; at = i; }
  }
  return { err: worst / Math.max(maxRef, 1e-30), at };
}

function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  const { err, at } = relErr(got, want);
  assert.ok(err <= tol, `${what}: relative error ${err.toExponential(2)} > ${tol} at [${at}] (got ${got[at]}, want ${want[at]})`);
}

const backends: [string, () => Kernels | Error][] = [
  ['ts', () => tsKernels],
  ['native', () => nativeKernels()],
];

for (const variant of ['untied', 'tied']) {
  for (const [bname, getK] of backends) {
    test(`golden ${variant}: logits, loss, grads and 3 AdamW steps match PyTorch on the ${bname} backend`, () => {
      const k = getK();
      assert.ok(!(k instanceof Error), k instanceof Error ? k.message : '');
      const kernels = bname === 'native' ? getBackend('native') : (k as Kernels);
      const fx = load(variant);
      const h = fx.header;
      const cfg = parseModelConfig(h.config, `llama_${variant}.json`);
      const model = new LlamaModel(cfg, { maxBatch: h.B, maxSeq: h.T, kernels });
      for (const [name, view] of model.namedParams()) view.set(fx.f32(`param/${name}`));
      assert.equal(model.namedParams().size, Object.keys(h.tensors).filter((n) => n.startsWith('param/')).length);

      // the batch builder reproduces the fixture's padded inputs, targets and loss mask
      const batch = makeBatch(h.sequences, { padId: 0, vocabSize: cfg.vocab_size, maxSeq: h.T });
      assert.deepEqual([batch.B, batch.T], [h.B, h.T]);
      assert.deepEqual([...batch.inputs], [...fx.i32('inputs')]);
      assert.deepEqual([...batch.targets], [...fx.i32('targets')]);
      assert.deepEqual([...batch.mask], [...fx.f32('mask')]);

      const weights = new Float32Array(batch.mask.map((m) => m / batch.tokens));
      model.forward(batch.inputs, null, null, batch.B, batch.T);
      expectClose('logits', model.logits(), fx.f32('logits'), 1e-4);
      model.zeroGrad();
      const loss = model.forward(batch.inputs, batch.targets, weights, batch.B, batch.T);
      expectClose('loss', [loss], fx.f32('loss'), 1e-4);
      model.backward();
      for (const [name, g] of model.namedGrads()) expectClose(`grad ${name}`, g, fx.f32(`grad/${name}`), 1e-3);

      // 3 optimizer steps, each over 2 micro-batches of unequal T (accumulation must equal the full batch)
      for (const [name, view] of model.namedParams()) view.set(fx.f32(`param/${name}`));
      const t = h.train;
      const trainer = new Trainer(model, {
        lr: t.lr, betas: t.betas, eps: t.eps, weight_decay: t.weight_decay, schedule: t.schedule,
        warmup_steps: t.warmup_steps, total_steps: t.total_steps, max_grad_norm: t.max_grad_norm,
      });
      const mbs = microBatches(h.sequences, 2, { padId: 0, vocabSize: cfg.vocab_size, maxSeq: h.T });
      assert.notEqual(mbs[0].T, mbs[1].T);
      for (let s = 0; s < t.steps; s++) {
        const r = trainer.step(mbs);
        expectClose(`step ${s + 1} loss`, [r.loss], [h.step_losses[s]], 1e-4);
        expectClose(`step ${s + 1} grad norm`, [r.gradNorm], [h.step_grad_norms[s]], 1e-3);
        assert.ok(Math.abs(r.lr - h.step_lrs[s]) <= 1e-12 * Math.max(1, h.step_lrs[s]), `step ${s + 1} lr ${r.lr} vs ${h.step_lrs[s]}`);
      }
      for (const [name, p] of model.namedParams()) expectClose(`param after 3 steps ${name}`, p, fx.f32(`after/${name}`), 1e-4);
    });
  }
}
