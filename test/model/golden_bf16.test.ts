// bf16 training (train.precision: bf16) against PyTorch goldens of the same arithmetic
// (test/fixtures/make_llama_golden_bf16.py: every projection and the LM head multiply bf16-rounded
// operands forward and backward, everything else in float64).
//
// Why the two backends are held to different end-to-end tolerances. A bf16 GEMM rounds each operand to 8
// significant bits; an operand whose fp32 value lies a few fp32 ulps from a bf16 rounding midpoint rounds
// up or down depending on the last bits of the kernel that computed it, and the two roundings are 2^-8
// apart. The TS kernels compute in float64 like the fixture and store fp32 (the fixture too rounds through
// fp32 to bf16), so here they round every operand as the fixture does, and are held to
// tight tolerances (relative to the largest magnitude of the reference tensor): logits and loss 1e-5,
// gradients 3e-3, losses of the 3 AdamW steps 1e-3, parameters after them 3e-3; measured (2026-12-03)
// logits ≤ 3.6e-8, gradients ≤ 2.6e-7, step losses ≤ 3.7e-6, parameters ≤ 7.4e-4. The same model in fp32
// misses these goldens by 1.5e-2 (logits), 2–3e-2 (gradients) and 4.6e-2 (parameters), asserted below, so
// they tell bf16 arithmetic from fp32. The native kernels are fp32 (RoPE, attention, SwiGLU, norms), an ulp
// or a few from float64, and differently per kernel set (vector width) and compiler (which product an FMA
// fuses): where that moves an operand across a rounding midpoint, the product moves by 2^-8 of a term, the
// values downstream move by more than fp32 noise, more operands round the other way, and the rest of the run
// sits at bf16 rounding noise from the fixture. In this fixture's tied model, element 908 of layer 1's
// query gradient (an operand of the q projection's backward GEMMs) is 8 fp32 ulps from a midpoint: g++'s
// avx512 and avx2 kernels put it 6 ulps nearer (the same rounding), the generic set's exactly on it (a tie,
// to even: the other rounding), clang++'s avx512 and avx2 9 ulps nearer (past it), and the gradients then
// miss by 5.7e-3 instead of 1.0e-3. Measured (2026-12-03) on the native kernels, the tight
// tolerances held only for g++'s avx512 set: g++'s avx2 (untied logits 4.3e-3) and generic (tied gradients
// 5.7e-3) sets and clang++ 14 on every set failed them, and so did the TS kernels themselves in 15 of 16
// runs with ±3 ulps of seeded noise on their fp32 outputs (the last test keeps 8 such runs). So each
// native kernel set is checked
// - call by call: every kernel call of its forward, backward and 3 AdamW steps against the TS kernels run
//   in float64 on copies of the same arguments, to 1e-5 (measured ≤ 1.3e-6; each GEMM is the bf16 product,
//   and one that skipped the rounding misses by ~1e-3, asserted below; every other kernel is right to fp32
//   rounding), and
// - end to end against PyTorch within bf16 rounding noise, u = 2^-8: logits, gradients and parameters
//   (2-norm) ≤ 4u, step losses ≤ 2u, loss ≤ u/4. Measured worst over every kernel set of both compilers and
//   200 runs of g++'s sets with ±3 or ±16 ulps of seeded noise on the fp32 kernels' outputs: logits 1.1e-2
//   (2.7u), gradients 1.0e-2 (2.6u), parameters 7.8e-3 (2.0u), step losses 5.1e-3 (1.3u), loss 3.2e-4.
//   These bounds do not tell bf16 from fp32 (a cascade approaches that difference); the call-by-call check
//   does.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend, tsKernels, type Buf, type Kernels, type Precision } from '../../src/engine/index.js';
import { loadAddon } from '../../src/engine/native.js';
import { parseModelConfig } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { makeBatch, microBatches } from '../../src/train/batch.js';
import { Trainer } from '../../src/train/trainer.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
const loaded = loadAddon();
if (loaded instanceof Error) throw loaded;
const addon = loaded as unknown as {
  setIsa(isa: string): string;
  setBf16(impl: string): string;
  info(): { bf16Native: boolean; isa: string; isas: string[] };
};
const start = addon.info();
after(() => {
  addon.setIsa(start.isa);
  addon.setBf16('native');
});

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

/** max |got − want| / max |want|. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let maxRef = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) maxRef = Math.max(maxRef, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / Math.max(maxRef, 1e-30);
}

/** ‖got − want‖₂ / ‖want‖₂. */
function normErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let ref = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    ref += want[i] * want[i];
    diff += (got[i] - want[i]) ** 2;
  }
  return Math.sqrt(diff / Math.max(ref, 1e-300));
}

/** Runs the fixture's forward/backward and 3 steps; returns the worst relative errors per quantity. */
function run(name: string, kernels: Kernels, precision: Precision): { loss: number; logits: number; grads: number; steps: number; params: number; paramsNorm: number } {
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
  const out = { loss: relErr([loss], fx.f32('loss')), logits, grads: 0, steps: 0, params: 0, paramsNorm: 0 };
  model.backward();
  for (const [n, gr] of model.namedGrads()) out.grads = Math.max(out.grads, relErr(gr, fx.f32(`grad/${n}`)));
  setParams();
  const t = h.train;
  const trainer = new Trainer(model, { lr: t.lr, beta1: t.betas[0], beta2: t.betas[1], eps: t.eps, weightDecay: t.weight_decay, schedule: t.schedule, warmupSteps: t.warmup_steps, totalSteps: t.total_steps, maxGradNorm: t.max_grad_norm });
  const mbs = microBatches(h.sequences, 2, { padId: 0, vocabSize: cfg.vocab_size, maxSeq: h.T });
  for (let s = 0; s < t.steps; s++) out.steps = Math.max(out.steps, relErr([trainer.step(mbs).loss], [h.step_losses[s]]));
  for (const [n, p] of model.namedParams()) {
    out.params = Math.max(out.params, relErr(p, fx.f32(`after/${n}`)));
    out.paramsNorm = Math.max(out.paramsNorm, normErr(p, fx.f32(`after/${n}`)));
  }
  return out;
}

const fmt = (e: Record<string, number>) => Object.entries(e).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ');

/** Per-call agreement with the float64 oracle: each output within CALL_RTOL of the reference's largest magnitude. */
const CALL_RTOL = 1e-5;
const isFloat = (a: unknown): a is Buf => a instanceof Float32Array || a instanceof Float64Array;

/**
 * `k` with every kernel call checked against the TS kernels run on float64 copies of the same arguments:
 * every floating-point argument after the call (the outputs and in-place updates; inputs come out equal)
 * and the return value. Arguments that are the same view (crossEntropy's dlogits = logits) share one copy.
 * Records the worst error per kernel in `worst`; throws on the first call past CALL_RTOL.
 */
function checkedByOracle(k: Kernels, worst: Map<string, number>): Kernels {
  const out: Record<string, unknown> = { name: k.name, info: k.info, setThreads: k.setThreads };
  const oracle = tsKernels as unknown as Record<string, (...a: unknown[]) => unknown>;
  const impl = k as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const key of Object.keys(tsKernels)) {
    if (key in out) continue;
    out[key] = (...args: unknown[]) => {
      if (key === 'packB' || key === 'matmulPacked') throw new Error(`${key}: not expected in training (the check has no oracle for packed weights)`);
      const ref: unknown[] = [];
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const j = isFloat(a) ? args.findIndex((b) => isFloat(b) && b.buffer === a.buffer && b.byteOffset === a.byteOffset && b.length === a.length) : i;
        ref.push(j < i ? ref[j] : isFloat(a) ? Float64Array.from(a) : a);
      }
      const want = oracle[key](...ref);
      const got = impl[key](...args);
      let e = typeof want === 'number' ? Math.abs((got as number) - want) / Math.max(Math.abs(want), 1e-30) : 0;
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (isFloat(a)) e = Math.max(e, relErr(a, ref[i] as Float64Array));
      }
      worst.set(key, Math.max(worst.get(key) ?? 0, e));
      const shape = args.filter((a) => typeof a === 'string' || typeof a === 'number').join(',');
      if (!(e <= CALL_RTOL)) throw new Error(`${key}(${shape}): ${e.toExponential(2)} from the float64 oracle on the same arguments (tolerance ${CALL_RTOL})`);
      return got;
    };
  }
  return out as unknown as Kernels;
}

/** The TS backend's tolerances (see the top of this file). */
const withinTight = (e: ReturnType<typeof run>) => e.loss <= 1e-5 && e.logits <= 1e-5 && e.grads <= 3e-3 && e.steps <= 1e-3 && e.params <= 3e-3;

const u = 2 ** -8; // bf16's unit roundoff (8 significant bits)
/** The native end-to-end bounds: bf16 rounding noise (see the top of this file). */
function assertWithinBf16Noise(e: ReturnType<typeof run>, label: string): void {
  const ok = e.loss <= u / 4 && e.logits <= 4 * u && e.grads <= 4 * u && e.steps <= 2 * u && e.paramsNorm <= 4 * u;
  assert.ok(ok, `${label}: ${fmt(e)} (bounds: loss u/4, logits 4u, grads 4u, steps 2u, paramsNorm 4u; u = 2^-8)`);
}

const nk = getBackend('native');
// Every kernel set this CPU runs, with the emulated bf16 GEMM, and with vdpbf16ps where it has AVX512_BF16.
const sets: { isa: string; impl: 'native' | 'emulated' }[] = [];
for (const isa of start.isas) {
  sets.push({ isa, impl: 'emulated' });
  if (isa === 'avx512' && start.bf16Native) sets.push({ isa, impl: 'native' });
}

for (const variant of ['untied', 'tied']) {
  const name = `llama_${variant}_bf16`;
  test(`bf16 golden ${variant}: fixtures share the fp32 goldens' parameters and batch`, () => {
    const a = load(`llama_${variant}`);
    const b = load(name);
    assert.deepEqual(b.h.sequences, a.h.sequences);
    for (const n of Object.keys(a.h.tensors).filter((t) => t.startsWith('param/'))) assert.deepEqual(b.f32(n), a.f32(n), n);
  });

  test(`bf16 golden ${variant}: the TS kernels match PyTorch's bf16 arithmetic tightly; fp32 arithmetic does not`, () => {
    const e = run(name, tsKernels, 'bf16');
    assert.ok(withinTight(e), fmt(e));
    // the same model in fp32 fails these tolerances: they tell bf16 arithmetic from fp32
    const f = run(name, tsKernels, 'fp32');
    assert.ok(f.logits > 1e-3 && f.grads > 3e-3 && f.params > 3e-3, `fp32 vs bf16 goldens: logits ${f.logits.toExponential(2)}, grads ${f.grads.toExponential(2)}, params ${f.params.toExponential(2)}`);
  });

  for (const { isa, impl } of sets) {
    const label = `native ${isa}, ${impl === 'native' ? 'vdpbf16ps' : 'emulated bf16'}`;
    test(`bf16 golden ${variant} (${label}): every kernel call = the float64 oracle on its arguments; the run is within bf16 noise of PyTorch`, () => {
      addon.setIsa(isa);
      addon.setBf16(impl);
      const worst = new Map<string, number>();
      const e = run(name, checkedByOracle(nk, worst), 'bf16');
      for (const k of ['matmul', 'attentionBackward', 'ropeBackward', 'swigluBackward', 'rmsnormBackward', 'crossEntropy', 'adamw']) assert.ok(worst.has(k), `the run called ${k}`);
      assertWithinBf16Noise(e, label);
    });
  }
}

test('bf16 golden: the call-by-call check rejects a GEMM that skips the bf16 rounding (backward products in fp32)', () => {
  addon.setIsa(start.isa);
  addon.setBf16('emulated');
  const fp32Backward: Kernels = { ...nk, matmul: (layout, C, A, B, M, N, K, acc, p) => nk.matmul(layout, C, A, B, M, N, K, acc, layout === 'nt' ? p : 'fp32') };
  assert.throws(() => run('llama_tied_bf16', checkedByOracle(fp32Backward, new Map()), 'bf16'), /^Error: matmul\((nn|tn),.*from the float64 oracle/);
});

test('bf16 golden: the TS kernels with ±3 ulps of noise on their fp32 outputs miss the tight tolerances and stay within the native bounds', () => {
  // A stand-in for other correct fp32 implementations of the non-GEMM kernels (seeded: the same runs everywhere).
  const outputs: Record<string, number[]> = { ropeForward: [0], ropeBackward: [0], attentionForward: [0], attentionBackward: [0, 1, 2], swigluForward: [0], swigluBackward: [0, 1], rmsnormForward: [0], rmsnormBackward: [0] };
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  const runs: string[] = [];
  let missed = 0;
  for (const variant of ['untied', 'tied']) {
    for (let seed = 1; seed <= 4; seed++) {
      let s = seed;
      const rnd = () => {
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        s >>>= 0;
        return s / 2 ** 32;
      };
      const noisy: Record<string, unknown> = { ...tsKernels };
      for (const [k, idx] of Object.entries(outputs)) {
        const base = (tsKernels as unknown as Record<string, (...a: unknown[]) => void>)[k];
        noisy[k] = (...a: unknown[]) => {
          base(...a);
          for (const i of idx) {
            const x = a[i] as Float32Array;
            for (let j = 0; j < x.length; j++) {
              if (x[j] === 0) continue;
              f[0] = x[j];
              bits[0] += Math.floor(rnd() * 7) - 3;
              x[j] = f[0];
            }
          }
        };
      }
      const e = run(`llama_${variant}_bf16`, noisy as unknown as Kernels, 'bf16');
      assertWithinBf16Noise(e, `TS kernels, ±3 ulps of noise (${variant}, seed ${seed})`);
      if (!withinTight(e)) missed++;
      runs.push(`${variant} seed ${seed}: ${fmt(e)}`);
    }
  }
  // measured (2026-12-03): all 8 runs miss them (an operand crossed a bf16 midpoint)
  assert.ok(missed >= runs.length / 2, `only ${missed} of ${runs.length} runs missed the TS tolerances:\n${runs.join('\n')}`);
});
