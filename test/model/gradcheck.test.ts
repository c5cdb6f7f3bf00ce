// Finite-difference gradient checks in float64 through the TS kernels: every layer's
// forward/backward pair, then the whole model of every family on a tiny config (GQA, tied and untied
// head, q/k/v(/o) biases, head_dim ≠ hidden/heads, RoPE scaling, activation checkpointing).
// Each layer is checked on the scalar loss Σ out·R with a fixed random R, so backward gets dout = R.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tsKernels as k } from '../../src/engine/index.js';
import { Rng } from '../../src/util/rng.js';
import { LlamaModel } from '../../src/model/llama.js';
import { parseModelConfig } from '../../src/model/config.js';
import { ropeTables } from '../../src/model/rope.js';

const rng = new Rng(1234);
function randn(n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}
function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Central differences of f w.r.t. every x[i] (or the listed indices), compared with analytic. */
function checkGrad(what: string, f: () => number, x: Float64Array, analytic: Float64Array, indices?: number[], h = 1e-5): void {
  assert.equal(analytic.length, x.length, `${what}: grad length`);
  let worst = 0;
  let worstAt = -1;
  const idx = indices ?? [...Array(x.length).keys()];
  for (const i of idx) {
    const x0 = x[i];
    x[i] = x0 + h;
    const fp = f();
    x[i] = x0 - h;
    const fm = f();
    x[i] = x0;
    const num = (fp - fm) / (2 * h);
    // float64 central differences at h = 1e-5 carry ~1e-10 absolute noise: gradients below 1e-3 are checked to 1e-9 absolute
    const err = Math.abs(num - analytic[i]) / Math.max(1e-3, Math.abs(num) + Math.abs(analytic[i]));
    if (err > worst) {
      worst = err;
      worstAt = i;
    }
  }
  assert.ok(worst < 1e-6, `${what}: worst relative error ${worst.toExponential(2)} at [${worstAt}] (analytic ${analytic[worstAt]}, x=${x[worstAt]})`);
}

test('biased projection forward/backward matches finite differences (the model\'s GEMM formulas, accumulate flag)', () => {
  // out = inp·Wᵀ + ones·b;  dinp = dout·W;  dW += doutᵀ·inp;  db += onesᵀ·dout
  const N = 3, IN = 4, OUT = 5;
  const inp = randn(N * IN), w = randn(OUT * IN), b = randn(OUT), R = randn(N * OUT), ones = new Float64Array(N).fill(1);
  const out = new Float64Array(N * OUT);
  const f = () => (k.matmul('nt', out, inp, w, N, OUT, IN, false), k.matmul('nn', out, ones, b, N, OUT, 1, true), dot(out, R));
  f();
  const dinp = randn(N * IN); // garbage: "=" must overwrite it
  const dw = new Float64Array(OUT * IN);
  const db = new Float64Array(OUT);
  k.matmul('nn', dinp, R, w, N, IN, OUT, false);
  k.matmul('tn', dw, R, inp, OUT, IN, N, true);
  k.matmul('tn', db, ones, R, 1, OUT, N, true);
  checkGrad('linear dinp', f, inp, dinp);
  checkGrad('linear dweight', f, w, dw);
  checkGrad('linear dbias', f, b, db);
  // accumulate: a second backward adds the same amount again
  const dinp2 = Float64Array.from(dinp);
  k.matmul('nn', dinp2, R, w, N, IN, OUT, true);
  for (let i = 0; i < dinp.length; i++) assert.ok(Math.abs(dinp2[i] - 2 * dinp[i]) < 1e-12);
});

test('embedding forward/backward matches finite differences (repeated tokens accumulate)', () => {
  const V = 6, C = 3, N = 5;
  const tokens = new Int32Array([1, 4, 1, 0, 5]);
  const wte = randn(V * C), R = randn(N * C), out = new Float64Array(N * C);
  const f = () => (k.embeddingForward(out, wte, tokens, N, C), dot(out, R));
  const dwte = new Float64Array(V * C);
  k.embeddingBackward(dwte, R, tokens, N, C);
  checkGrad('embedding dwte', f, wte, dwte);
});

test('RMSNorm forward/backward matches finite differences', () => {
  const N = 4, C = 6, eps = 1e-5;
  const inp = randn(N * C), w = randn(C, 0.5).map((x) => 1 + x), R = randn(N * C);
  const out = new Float64Array(N * C), rstd = new Float64Array(N);
  const f = () => (k.rmsnormForward(out, rstd, inp, w, N, C, eps), dot(out, R));
  f();
  const dinp = new Float64Array(N * C), dw = new Float64Array(C);
  k.rmsnormBackward(dinp, dw, R, inp, w, rstd, N, C);
  checkGrad('rmsnorm dinp', f, inp, dinp);
  checkGrad('rmsnorm dweight', f, w, dw);
});

test('RoPE forward/backward matches finite differences (HF rotate_half tables)', () => {
  const B = 2, T = 5, H = 3, D = 8, N = B * T;
  const tables = ropeTables(parseModelConfig({ hidden_size: H * D, intermediate_size: 4, num_hidden_layers: 1, num_attention_heads: H, vocab_size: 4, max_position_embeddings: T }), T);
  const cos = Float64Array.from(tables.cos), sin = Float64Array.from(tables.sin);
  const positions = new Int32Array(N).map((_, n) => n % T);
  const x = randn(N * H * D), R = randn(N * H * D), y = new Float64Array(N * H * D);
  const f = () => (y.set(x), k.ropeForward(y, cos, sin, positions, N, H, D), dot(y, R));
  const dx = Float64Array.from(R);
  k.ropeBackward(dx, cos, sin, positions, N, H, D);
  checkGrad('rope dx', f, x, dx);
  // position 0 is the identity; rotation preserves the norm of each pair
  y.set(x);
  k.ropeForward(y, cos, sin, positions, N, H, D);
  for (let d = 0; d < H * D; d++) assert.ok(Math.abs(y[d] - x[d]) < 1e-15);
  assert.ok(Math.abs(dot(y, y) - dot(x, x)) < 1e-6 * dot(x, x)); // float32 tables: cos²+sin² = 1 to float32 precision
});

test('causal GQA attention forward/backward matches finite differences', () => {
  const B = 2, T = 4, H = 4, KV = 2, D = 3, N = B * T;
  const q = randn(N * H * D), kk = randn(N * KV * D), v = randn(N * KV * D), R = randn(N * H * D);
  const out = new Float64Array(N * H * D), lse = new Float64Array(B * H * T);
  const f = () => (k.attentionForward(out, lse, q, kk, v, B, T, H, KV, D), dot(out, R));
  f();
  const dq = randn(N * H * D), dk = randn(N * KV * D), dv = randn(N * KV * D);
  k.attentionBackward(dq, dk, dv, R, q, kk, v, out, lse, B, T, H, KV, D);
  checkGrad('attention dq', f, q, dq);
  checkGrad('attention dk', f, kk, dk);
  checkGrad('attention dv', f, v, dv);
  // causality: the first position of each row attends only to itself → out = its v
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) {
    const kh = Math.floor(h / (H / KV));
    assert.ok(Math.abs(out[(b * T) * H * D + h * D + d] - v[(b * T) * KV * D + kh * D + d]) < 1e-12);
  }
});

test('SwiGLU forward/backward matches finite differences', () => {
  const n = 10;
  const gate = randn(n, 2), up = randn(n), R = randn(n), out = new Float64Array(n);
  const f = () => (k.swigluForward(out, gate, up, n), dot(out, R));
  const dg = new Float64Array(n), du = new Float64Array(n);
  k.swigluBackward(dg, du, R, gate, up, n);
  checkGrad('swiglu dgate', f, gate, dg);
  checkGrad('swiglu dup', f, up, du);
});

test('masked cross-entropy matches finite differences and ignores weight-0 rows', () => {
  const N = 5, V = 7;
  const logits = randn(N * V, 2);
  const targets = new Int32Array([3, 0, 6, 2, 99]); // row 4 is masked: its target is never read
  const weights = new Float64Array([0.25, 0, 0.25, 0.5, 0]);
  const losses = new Float64Array(N), dl = new Float64Array(N * V);
  const f = () => k.crossEntropy(losses, null, logits, targets, weights, N, V);
  k.crossEntropy(losses, dl, logits, targets, weights, N, V);
  checkGrad('crossEntropy dlogits', f, logits, dl);
  assert.equal(losses[1], 0);
  for (let i = 0; i < V; i++) assert.equal(dl[V + i], 0);
});

const FAMILIES: [string, Record<string, unknown>][] = [
  ['llama GQA untied', {}],
  ['llama GQA tied', { tie_word_embeddings: true }],
  ['llama attention_bias (q/k/v/o), llama3 RoPE scaling', { attention_bias: true, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 } }],
  ['qwen2 q/k/v biases, tied', { model_type: 'qwen2', tie_word_embeddings: true, rope_theta: 1e6 }],
  ['mistral head_dim 6 ≠ hidden/heads 4, linear RoPE scaling', { model_type: 'mistral', head_dim: 6, sliding_window: null, rope_scaling: { rope_type: 'linear', factor: 2 } }],
];

function tinyConfig(over: Record<string, unknown>) {
  return parseModelConfig({
    hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1,
    vocab_size: 11, max_position_embeddings: 16, rms_norm_eps: 1e-5, tie_word_embeddings: false,
    bos_token_id: null, eos_token_id: null, initializer_range: 0.5, ...over,
  }, 'gradcheck config');
}

for (const [family, over] of FAMILIES) {
  for (const recompute of [false, true]) {
    if (recompute && family !== 'qwen2 q/k/v biases, tied') continue;
    test(`whole model (${family}${recompute ? ', activation checkpointing' : ''}) matches finite differences on a masked batch`, () => {
      const B = 2, T = 5;
      const model = new LlamaModel(tinyConfig(over), { maxBatch: 3, maxSeq: 6, dtype: 'float64', kernels: k, recompute });
      model.initWeights(7);
      // norms away from 1 and biases away from 0 so their grads are exercised
      const r = new Rng(9);
      for (const t of model.tensors) {
        if (t.isNorm) for (let i = 0; i < t.size; i++) model.params[t.offset + i] = 1 + 0.3 * r.normal();
        if (t.isBias) for (let i = 0; i < t.size; i++) model.params[t.offset + i] = 0.3 * r.normal();
      }
      const tokens = new Int32Array([1, 2, 3, 4, 5, 6, 7, 8, 0, 0]);
      const targets = new Int32Array([2, 3, 4, 5, 9, 7, 8, 10, 0, 0]);
      const mask = [0, 1, 1, 1, 1, 0, 0, 1, 0, 0];
      const count = mask.reduce((a, b) => a + b, 0);
      const weights = new Float64Array(mask.map((m) => m / count));
      const f = () => model.forward(tokens, targets, weights, B, T);
      model.zeroGrad();
      const loss = f();
      assert.ok(Number.isFinite(loss) && loss > 0);
      model.backward();
      const grads = Float64Array.from(model.grads);
      assert.ok(model.tensors.some((t) => t.isBias) === (family.includes('bias')), 'bias tensors as the family says');
      checkGrad(`model grads (${family})`, f, model.params as Float64Array, grads);
      // padded rows beyond the mask never influence the loss
      tokens[9] = 3;
      assert.equal(f(), loss);
    });
  }
}
