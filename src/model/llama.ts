// The training model of every family (llama, qwen2, mistral): parameters, activations, forward and
// backward, llm.c's train_gpt2.c shape.
//
//   embedding → L × [RMSNorm → q/k/v proj (+ biases) → RoPE → causal GQA attention → o proj (+ bias)
//                    → residual → RMSNorm → gate/up proj → SwiGLU → down proj → residual]
//   → RMSNorm → LM head (the embedding when tied) → masked cross-entropy (fused with its gradient)
//
// Dims: B batch, T time, N = B·T rows, C hidden, F ffn, V vocab, L layers, H query heads, KV kv heads,
// D head dim (config.head_dim, which may differ from C/H). Every buffer is allocated once in the
// constructor for (maxB, maxT); forward/backward on any B ≤ maxB, T ≤ maxT use the first B·T rows, so
// a training step allocates nothing.
//
// Memory: the cross-entropy writes dlogits over the logits (one [N, V] buffer), and with
// `recompute` (activation checkpointing) only the residual stream entering each layer is kept
// ([L, N, C]); backward re-runs one layer's forward from it into a single layer's activations
// before that layer's backward. The recomputation is the same kernel calls on the same inputs, so
// gradients are bit-identical either way. memoryPlan() gives the byte counts.
// The buffers are Float32Array, or Float64Array (TS kernels only) for finite-difference checks.
import type { Buf, Kernels, Precision } from '../engine/kernels.js';
import { getKernels, withMatmulPrecision } from '../engine/index.js';
import { Rng } from '../util/rng.js';
import { contextLength, type ModelConfig } from './config.js';
import { allocFloat, paramTable, viewsOf, type DType, type FloatArray, type ParamKindName, type ParamTensor } from './params.js';
import { ropeTables } from './rope.js';

/** A tensor or argument of the wrong shape or value: names it, what was expected and what was found. */
export class ShapeError extends Error {
  constructor(
    readonly tensor: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${tensor}: expected ${expected}, found ${found}`);
    this.name = 'ShapeError';
  }
}

/** One layer's activations (views; with recompute all layers share one set except resIn/res3). */
interface LayerActs {
  resIn: FloatArray; // [N, C] residual stream entering the layer (encoded or the previous res3)
  ln1: FloatArray; // [N, C]
  ln1Rstd: FloatArray; // [N]
  q: FloatArray; // [N, H*D] after RoPE
  k: FloatArray; // [N, KV*D] after RoPE
  v: FloatArray; // [N, KV*D]
  att: FloatArray; // [N, H*D] attention output (before o_proj)
  lse: FloatArray; // [B, H, T] softmax log-sum-exp per query row
  res2: FloatArray; // [N, C] residual after attention
  ln2: FloatArray; // [N, C]
  ln2Rstd: FloatArray; // [N]
  gate: FloatArray; // [N, F]
  up: FloatArray; // [N, F]
  swiglu: FloatArray; // [N, F]
  res3: FloatArray; // [N, C] residual after the MLP (enters layer l+1)
}

/** What forward saves for backward beyond the layers, and the head's outputs. */
interface Activations {
  encoded: FloatArray; // [N, C] embedding output (residual stream entering layer 0)
  res3: FloatArray; // [L, N, C] residual leaving each layer (always kept: the checkpoints of recompute)
  lnf: FloatArray; // [N, C]
  lnfRstd: FloatArray; // [N]
  /** [N, V] logits; a forward with targets overwrites them with dlogits (the gradient of the loss). */
  logits: FloatArray;
  losses: FloatArray; // [N] per-row cross-entropy (0 where weight is 0)
}

/** Backward scratch: one layer's worth, reused by every layer. */
interface GradScratch {
  dres: FloatArray; // [N, C] grad of the residual stream
  dln: FloatArray; // [N, C]
  dq: FloatArray; // [N, H*D]
  dk: FloatArray; // [N, KV*D]
  dv: FloatArray; // [N, KV*D]
  datt: FloatArray; // [N, H*D]
  dgate: FloatArray; // [N, F]
  dup: FloatArray; // [N, F]
  dswiglu: FloatArray; // [N, F]
}

export interface ModelOptions {
  /** Largest batch and sequence length forward will be called with (activations are sized for them). */
  maxBatch: number;
  maxSeq: number;
  dtype?: DType;
  /** Kernels to run on (default: getKernels()). Float64 needs the TS kernels. */
  kernels?: Kernels;
  /** GEMM precision of forward and backward (default fp32); weights and gradients stay fp32 either way. */
  precision?: Precision;
  /** Activation checkpointing: keep only each layer's input, recompute the rest in backward (default false). */
  recompute?: boolean;
}

/** Bytes a model (and an AdamW trainer over it) needs, by part; peak ≈ their sum. */
export interface MemoryPlan {
  params: number;
  grads: number;
  /** AdamW m and v. */
  moments: number;
  /** Saved activations, logits/dlogits and backward scratch for maxBatch × maxSeq rows. */
  activations: number;
  peak: number;
  recompute: boolean;
}

/** Float counts of a model's activations and scratch for N rows (without recompute / with). */
function activationFloats(cfg: ModelConfig, N: number, recompute: boolean): number {
  const C = cfg.hidden_size;
  const F = cfg.intermediate_size;
  const L = cfg.num_hidden_layers;
  const HD = cfg.num_attention_heads * cfg.head_dim;
  const KVD = cfg.num_key_value_heads * cfg.head_dim;
  const H = cfg.num_attention_heads;
  const perLayer = N * (2 * C + 2 + 2 * HD + 2 * KVD + H + C + 3 * F); // ln1, res2, rstds, q, att, k, v, lse, ln2, gate/up/swiglu
  const layers = recompute ? perLayer : L * perLayer;
  const kept = N * C /* encoded */ + L * N * C /* res3 */ + N * C + N /* lnf */ + N * cfg.vocab_size /* logits */ + N /* losses */;
  const scratch = N * (2 * C + 2 * HD + 2 * KVD + 3 * F) + N /* ones */;
  return layers + kept + scratch;
}

/** The memory plan of a model of `cfg` for maxBatch × maxSeq rows, trained with AdamW. */
export function memoryPlan(cfg: ModelConfig, o: { maxBatch: number; maxSeq: number; recompute?: boolean; dtype?: DType }): MemoryPlan {
  const bytes = o.dtype === 'float64' ? 8 : 4;
  const P = paramTable(cfg).total;
  const recompute = o.recompute ?? false;
  const params = P * bytes;
  const activations = activationFloats(cfg, o.maxBatch * o.maxSeq, recompute) * bytes;
  return { params, grads: params, moments: 2 * params, activations, peak: 4 * params + activations, recompute };
}

/** One line for logs: "params 1.98 GB, grads …, peak ≈ … (maxBatch × maxSeq rows, recompute on)". */
export function formatMemoryPlan(p: MemoryPlan, rows: string): string {
  const gb = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  return `memory plan: params ${gb(p.params)}, grads ${gb(p.grads)}, AdamW moments ${gb(p.moments)}, activations ${gb(p.activations)} (${rows}, activation checkpointing ${p.recompute ? 'on' : 'off'}); peak ≈ ${gb(p.peak)}`;
}

export class LlamaModel {
  readonly config: ModelConfig;
  readonly dtype: DType;
  readonly kernels: Kernels;
  readonly maxBatch: number;
  readonly maxSeq: number;
  readonly recompute: boolean;
  /** HF-named tensors in buffer order. */
  readonly tensors: ParamTensor[];
  readonly numParams: number;
  /** Flat parameter and gradient buffers laid out by `tensors`. */
  readonly params: FloatArray;
  readonly grads: FloatArray;
  /** Per-tensor grad switch (index as `tensors`): a frozen tensor's weight grad is not computed. */
  readonly gradEnabled: boolean[];
  readonly acts: Activations;
  private readonly scratch: GradScratch;
  private readonly paramViews: Map<string, FloatArray>;
  private readonly gradViews: Map<string, FloatArray>;
  private readonly ropeCos: FloatArray;
  private readonly ropeSin: FloatArray;
  private readonly positions: Int32Array;
  /** All 1: a bias is added as the rank-1 GEMM ones[N,1]·b[1,OUT], its grad is onesᵀ·dout. */
  private readonly ones: FloatArray;
  private readonly dims: { V: number; C: number; F: number; L: number; H: number; KV: number; D: number };
  // Last forward's shape and inputs, for backward.
  // (The caller keeps tokens unchanged until backward; they are not copied.)
  private last: { B: number; T: number; tokens: Int32Array; hasTargets: boolean; valid: boolean } = { B: 0, T: 0, tokens: new Int32Array(0), hasTargets: false, valid: false };
  private positionsFor = { B: -1, T: -1 };
  /** idx[kind][layer] = index into tensors; pv/gv = param/grad view per tensor index. */
  private readonly idx: Record<ParamKindName, number[]>;
  private readonly pv: FloatArray[];
  private readonly gv: FloatArray[];
  private readonly layerActs: LayerActs[];
  /** The residual stream leaving the last layer. */
  private readonly resOut: FloatArray;
  private readonly discard: FloatArray;

  constructor(config: ModelConfig, opts: ModelOptions) {
    this.config = config;
    this.dtype = opts.dtype ?? 'float32';
    this.kernels = withMatmulPrecision(opts.kernels ?? getKernels(), opts.precision ?? 'fp32');
    this.recompute = opts.recompute ?? false;
    if (this.dtype === 'float64' && this.kernels.name !== 'ts') {
      throw new ShapeError('ModelOptions.dtype', 'float32 with the native kernels (float64 runs on the TS kernels only)', 'float64');
    }
    const posInt = (field: string, v: number) => {
      if (!Number.isInteger(v) || v < 1) throw new ShapeError(`ModelOptions.${field}`, 'a positive integer', String(v));
    };
    posInt('maxBatch', opts.maxBatch);
    posInt('maxSeq', opts.maxSeq);
    const ctx = contextLength(config);
    if (opts.maxSeq > ctx) {
      const what = ctx < config.max_position_embeddings ? `sliding_window=${ctx} (the context is capped at the attention window)` : `max_position_embeddings=${ctx}`;
      throw new ShapeError('ModelOptions.maxSeq', `≤ ${what}`, String(opts.maxSeq));
    }
    this.maxBatch = opts.maxBatch;
    this.maxSeq = opts.maxSeq;
    const C = config.hidden_size;
    const H = config.num_attention_heads;
    const D = config.head_dim;
    const dims = { V: config.vocab_size, C, F: config.intermediate_size, L: config.num_hidden_layers, H, KV: config.num_key_value_heads, D };
    this.dims = dims;
    const { tensors, total } = paramTable(config);
    this.tensors = tensors;
    this.numParams = total;
    this.params = allocFloat(this.dtype, total);
    this.grads = allocFloat(this.dtype, total);
    this.gradEnabled = tensors.map(() => true);
    this.paramViews = viewsOf(this.params, tensors);
    this.gradViews = viewsOf(this.grads, tensors);
    this.pv = tensors.map((t) => this.paramViews.get(t.name)!);
    this.gv = tensors.map((t) => this.gradViews.get(t.name)!);
    const idx = {} as Record<ParamKindName, number[]>;
    for (const kind of ['embed', 'ln1', 'q', 'k', 'v', 'o', 'bq', 'bk', 'bv', 'bo', 'ln2', 'gate', 'up', 'down', 'norm', 'head'] as const) idx[kind] = [];
    tensors.forEach((t, i) => idx[t.kind].push(i));
    if (config.tie_word_embeddings) idx.head = idx.embed;
    this.idx = idx;

    const N = opts.maxBatch * opts.maxSeq;
    const { V, F, L, KV } = dims;
    const a = (n: number) => allocFloat(this.dtype, n);
    // per-layer activations: L copies, or one shared copy with recompute
    const LA = this.recompute ? 1 : L;
    const layerBufs = {
      ln1: a(LA * N * C), ln1Rstd: a(LA * N), q: a(LA * N * H * D), k: a(LA * N * KV * D), v: a(LA * N * KV * D),
      att: a(LA * N * H * D), lse: a(LA * N * H), res2: a(LA * N * C), ln2: a(LA * N * C), ln2Rstd: a(LA * N),
      gate: a(LA * N * F), up: a(LA * N * F), swiglu: a(LA * N * F),
    };
    this.acts = { encoded: a(N * C), res3: a(L * N * C), lnf: a(N * C), lnfRstd: a(N), logits: a(N * V), losses: a(N) };
    this.scratch = {
      dres: a(N * C), dln: a(N * C), dq: a(N * H * D), dk: a(N * KV * D), dv: a(N * KV * D), datt: a(N * H * D),
      dgate: a(N * F), dup: a(N * F), dswiglu: a(N * F),
    };
    this.ones = a(N).fill(1);
    const rope = ropeTables(config, opts.maxSeq);
    this.ropeCos = a(rope.cos.length);
    this.ropeSin = a(rope.sin.length);
    this.ropeCos.set(rope.cos);
    this.ropeSin.set(rope.sin);
    this.positions = new Int32Array(N);
    // rmsnormBackward always writes dweight; a frozen norm's lands here.
    this.discard = a(C);
    const slab = (buf: FloatArray, l: number, width: number) => buf.subarray(l * N * width, (l + 1) * N * width);
    this.layerActs = [];
    for (let l = 0; l < L; l++) {
      const s = this.recompute ? 0 : l;
      this.layerActs.push({
        resIn: l > 0 ? slab(this.acts.res3, l - 1, C) : this.acts.encoded,
        ln1: slab(layerBufs.ln1, s, C),
        ln1Rstd: slab(layerBufs.ln1Rstd, s, 1),
        q: slab(layerBufs.q, s, H * D),
        k: slab(layerBufs.k, s, KV * D),
        v: slab(layerBufs.v, s, KV * D),
        att: slab(layerBufs.att, s, H * D),
        lse: slab(layerBufs.lse, s, H),
        res2: slab(layerBufs.res2, s, C),
        ln2: slab(layerBufs.ln2, s, C),
        ln2Rstd: slab(layerBufs.ln2Rstd, s, 1),
        gate: slab(layerBufs.gate, s, F),
        up: slab(layerBufs.up, s, F),
        swiglu: slab(layerBufs.swiglu, s, F),
        res3: slab(this.acts.res3, l, C),
      });
    }
    this.resOut = L > 0 ? this.layerActs[L - 1].res3 : this.acts.encoded;
  }

  /** Bytes of this model's buffers (and of an AdamW trainer's moments over it). */
  memoryPlan(): MemoryPlan {
    return memoryPlan(this.config, { maxBatch: this.maxBatch, maxSeq: this.maxSeq, recompute: this.recompute, dtype: this.dtype });
  }

  /** HF-named parameter views (made once; writing into them writes the model). Shapes in `tensors`. */
  namedParams(): Map<string, FloatArray> {
    return this.paramViews;
  }

  /** HF-named gradient views, same names and shapes as namedParams(). */
  namedGrads(): Map<string, FloatArray> {
    return this.gradViews;
  }

  /** Seeded init like HF's _init_weights: every matrix ~ N(0, initializer_range²), biases 0, norm weights 1. */
  initWeights(seed: number): void {
    const rng = new Rng(seed);
    const std = this.config.initializer_range;
    for (const t of this.tensors) {
      const w = this.params.subarray(t.offset, t.offset + t.size);
      if (t.isNorm) w.fill(1);
      else if (t.isBias) w.fill(0);
      else for (let i = 0; i < t.size; i++) w[i] = rng.normal() * std;
    }
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  // ---------------------------------------------------------------------------------------------
  // views of one layer's parameters (all made once in the constructor)

  private p(kind: ParamKindName, layer: number): FloatArray {
    return this.pv[this.idx[kind][layer < 0 ? 0 : layer]];
  }
  private has(kind: ParamKindName): boolean {
    return this.idx[kind].length > 0;
  }
  private g(kind: ParamKindName, layer: number): FloatArray | null {
    const i = this.idx[kind][layer < 0 ? 0 : layer];
    return this.gradEnabled[i] ? this.gv[i] : null;
  }

  // ---------------------------------------------------------------------------------------------
  // forward

  /**
   * Runs the model on tokens[B·T] (row-major [B, T]). With targets and weights [B·T], also computes
   * the per-row losses and dlogits = weights·(softmax − onehot) (over the logits), and returns
   * Σ weights·losses (the caller chooses the normalisation through the weights; rows with weight 0
   * cost nothing). Without targets only the logits are computed and 0 is returned.
   */
  forward(tokens: Int32Array, targets: Int32Array | null, weights: Buf | null, B: number, T: number): number {
    const k = this.kernels;
    const { V, C, L } = this.dims;
    this.checkInputs(tokens, targets, weights, B, T);
    const N = B * T;
    const A = this.acts;
    if (this.positionsFor.B !== B || this.positionsFor.T !== T) {
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) this.positions[b * T + t] = t;
      this.positionsFor = { B, T };
    }
    k.embeddingForward(A.encoded, this.p('embed', -1), tokens, N, C);
    for (let l = 0; l < L; l++) this.layerForward(l, B, T);
    k.rmsnormForward(A.lnf, A.lnfRstd, this.resOut, this.p('norm', -1), N, C, this.config.rms_norm_eps);
    k.matmul('nt', A.logits, A.lnf, this.p('head', -1), N, V, C, false);
    const last = this.last;
    last.B = B;
    last.T = T;
    last.tokens = tokens;
    last.hasTargets = targets !== null;
    last.valid = true;
    if (!targets || !weights) return 0;
    return k.crossEntropy(A.losses, A.logits, A.logits, targets, weights, N, V);
  }

  /** out[N, OUT] = inp·Wᵀ (+ b). */
  private project(out: FloatArray, inp: FloatArray, kind: ParamKindName, bias: ParamKindName | null, l: number, N: number, IN: number, OUT: number): void {
    const k = this.kernels;
    k.matmul('nt', out, inp, this.p(kind, l), N, OUT, IN, false);
    if (bias && this.has(bias)) k.matmul('nn', out, this.ones, this.p(bias, l), N, OUT, 1, true);
  }

  /** Layer l on the residual stream entering it (resIn), writing its activations and res3. */
  private layerForward(l: number, B: number, T: number): void {
    const k = this.kernels;
    const { C, F, H, KV, D } = this.dims;
    const N = B * T;
    const eps = this.config.rms_norm_eps;
    const { resIn, ln1, ln1Rstd, q, k: kk, v, att, lse, res2, ln2, ln2Rstd, gate, up, swiglu: sw, res3 } = this.layerActs[l];
    k.rmsnormForward(ln1, ln1Rstd, resIn, this.p('ln1', l), N, C, eps);
    this.project(q, ln1, 'q', 'bq', l, N, C, H * D);
    this.project(kk, ln1, 'k', 'bk', l, N, C, KV * D);
    this.project(v, ln1, 'v', 'bv', l, N, C, KV * D);
    k.ropeForward(q, this.ropeCos, this.ropeSin, this.positions, N, H, D);
    k.ropeForward(kk, this.ropeCos, this.ropeSin, this.positions, N, KV, D);
    k.attentionForward(att, lse, q, kk, v, B, T, H, KV, D);
    this.project(res2, att, 'o', 'bo', l, N, H * D, C);
    k.add(res2, res2, resIn, N * C);

    k.rmsnormForward(ln2, ln2Rstd, res2, this.p('ln2', l), N, C, eps);
    this.project(gate, ln2, 'gate', null, l, N, C, F);
    this.project(up, ln2, 'up', null, l, N, C, F);
    k.swigluForward(sw, gate, up, N * F);
    this.project(res3, sw, 'down', null, l, N, F, C);
    k.add(res3, res3, res2, N * C);
  }

  private checkInputs(tokens: Int32Array, targets: Int32Array | null, weights: Buf | null, B: number, T: number): void {
    if (!Number.isInteger(B) || B < 1 || B > this.maxBatch) throw new ShapeError('batch size B', `an integer in [1, maxBatch=${this.maxBatch}]`, String(B));
    if (!Number.isInteger(T) || T < 1 || T > this.maxSeq) throw new ShapeError('sequence length T', `an integer in [1, maxSeq=${this.maxSeq}]`, String(T));
    const N = B * T;
    if (tokens.length < N) throw new ShapeError('tokens', `length ≥ B·T = ${N} ([${B}, ${T}])`, `length ${tokens.length}`);
    const V = this.dims.V;
    for (let n = 0; n < N; n++) {
      const t = tokens[n];
      if (t < 0 || t >= V) throw new ShapeError(`tokens[${n}] (row ${Math.floor(n / T)}, position ${n % T})`, `a token id in [0, vocab_size=${V})`, String(t));
    }
    if ((targets === null) !== (weights === null)) throw new ShapeError('targets/weights', 'both given or both null', targets === null ? 'weights without targets' : 'targets without weights');
    if (targets && weights) {
      if (targets.length < N) throw new ShapeError('targets', `length ≥ B·T = ${N}`, `length ${targets.length}`);
      if (weights.length < N) throw new ShapeError('weights', `length ≥ B·T = ${N}`, `length ${weights.length}`);
      for (let n = 0; n < N; n++) {
        const w = weights[n];
        if (!Number.isFinite(w) || w < 0) throw new ShapeError(`weights[${n}]`, 'a finite number ≥ 0', String(w));
        if (w !== 0 && (targets[n] < 0 || targets[n] >= V)) {
          throw new ShapeError(`targets[${n}] (row ${Math.floor(n / T)}, position ${n % T})`, `a token id in [0, vocab_size=${V})`, String(targets[n]));
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // backward

  /** dinp (= or +=) dout·W; dW += doutᵀ·inp unless frozen; db += Σ_rows dout when there is a bias. */
  private projectBackward(
    dinp: FloatArray, dout: FloatArray, inp: FloatArray, kind: ParamKindName, bias: ParamKindName | null, l: number,
    N: number, IN: number, OUT: number, accumulate: boolean,
  ): void {
    const k = this.kernels;
    k.matmul('nn', dinp, dout, this.p(kind, l), N, IN, OUT, accumulate);
    const dw = this.g(kind, l);
    if (dw) k.matmul('tn', dw, dout, inp, OUT, IN, N, true);
    const db = bias && this.has(bias) ? this.g(bias, l) : null;
    if (db) k.matmul('tn', db, this.ones, dout, 1, OUT, N, true);
  }

  /**
   * Accumulates (+=) into grads the gradient of the loss of the last forward (which must have had
   * targets): the weights given there are the loss's d(loss)/d(row loss). Frozen tensors
   * (gradEnabled false) get no weight grad; activation grads still flow through them.
   */
  backward(): void {
    if (!this.last.valid || !this.last.hasTargets) throw new ShapeError('backward()', 'a preceding forward() with targets', this.last.valid ? 'a forward without targets' : 'no forward');
    const k = this.kernels;
    const { V, C, F, L, H, KV, D } = this.dims;
    const { B, T, tokens } = this.last;
    const N = B * T;
    const A = this.acts;
    const { dres, dln, dq, dk, dv, datt, dgate, dup, dswiglu: dsw } = this.scratch;

    // head and final norm (A.logits holds dlogits now)
    k.matmul('nn', dln, A.logits, this.p('head', -1), N, C, V, false);
    const dhead = this.g('head', -1);
    if (dhead) k.matmul('tn', dhead, A.logits, A.lnf, V, C, N, true);
    dres.fill(0, 0, N * C);
    k.rmsnormBackward(dres, this.g('norm', -1) ?? this.discard, dln, this.resOut, this.p('norm', -1), A.lnfRstd, N, C);

    for (let l = L - 1; l >= 0; l--) {
      if (this.recompute) this.layerForward(l, B, T);
      const { resIn, ln1, ln1Rstd, q, k: kk, v, att, lse, res2, ln2, ln2Rstd, gate, up, swiglu: sw } = this.layerActs[l];

      // MLP: res3 = res2 + down(swiglu(gate(ln2), up(ln2))); dres is d res3 and becomes d res2.
      this.projectBackward(dsw, dres, sw, 'down', null, l, N, F, C, false);
      k.swigluBackward(dgate, dup, dsw, gate, up, N * F);
      this.projectBackward(dln, dgate, ln2, 'gate', null, l, N, C, F, false);
      this.projectBackward(dln, dup, ln2, 'up', null, l, N, C, F, true);
      k.rmsnormBackward(dres, this.g('ln2', l) ?? this.discard, dln, res2, this.p('ln2', l), ln2Rstd, N, C);

      // attention: res2 = resIn + o(attn(rope(q(ln1)), rope(k(ln1)), v(ln1))); dres becomes d resIn.
      this.projectBackward(datt, dres, att, 'o', 'bo', l, N, H * D, C, false);
      k.attentionBackward(dq, dk, dv, datt, q, kk, v, att, lse, B, T, H, KV, D);
      k.ropeBackward(dq, this.ropeCos, this.ropeSin, this.positions, N, H, D);
      k.ropeBackward(dk, this.ropeCos, this.ropeSin, this.positions, N, KV, D);
      this.projectBackward(dln, dq, ln1, 'q', 'bq', l, N, C, H * D, false);
      this.projectBackward(dln, dk, ln1, 'k', 'bk', l, N, C, KV * D, true);
      this.projectBackward(dln, dv, ln1, 'v', 'bv', l, N, C, KV * D, true);
      k.rmsnormBackward(dres, this.g('ln1', l) ?? this.discard, dln, resIn, this.p('ln1', l), ln1Rstd, N, C);
    }
    const dwte = this.g('embed', -1);
    if (dwte) k.embeddingBackward(dwte, dres, tokens, N, C);
  }

  /**
   * Where the last forward first produced a non-finite value, in forward order (for diagnosing a
   * NaN/Inf loss), or null when every activation is finite. With recompute only each layer's output
   * is kept, so the layer is named but not the module inside it.
   */
  firstNonFiniteActivation(): { tensor: string; layer: number } | null {
    if (!this.last.valid) return null;
    const { C, V } = this.dims;
    const N = this.last.B * this.last.T;
    const bad = (buf: FloatArray, width: number) => {
      for (let i = 0; i < N * width; i++) if (!Number.isFinite(buf[i])) return true;
      return false;
    };
    if (bad(this.acts.encoded, C)) return { tensor: 'output of model.embed_tokens', layer: -1 };
    const { H, KV, D, F } = this.dims;
    // activation → the HF module that produced it
    const widths: [keyof LayerActs, string, number][] = [
      ['ln1', 'input_layernorm', C], ['q', 'self_attn.q_proj (after RoPE)', H * D], ['k', 'self_attn.k_proj (after RoPE)', KV * D],
      ['v', 'self_attn.v_proj', KV * D], ['att', 'self_attn attention', H * D], ['res2', 'self_attn residual', C],
      ['ln2', 'post_attention_layernorm', C], ['gate', 'mlp.gate_proj', F], ['up', 'mlp.up_proj', F],
      ['swiglu', 'mlp SwiGLU', F], ['res3', 'mlp residual', C],
    ];
    for (let l = 0; l < this.layerActs.length; l++) {
      if (this.recompute) {
        if (bad(this.layerActs[l].res3, C)) return { tensor: `output of model.layers.${l}`, layer: l };
        continue;
      }
      for (const [key, module, w] of widths) if (bad(this.layerActs[l][key], w)) return { tensor: `output of model.layers.${l}.${module}`, layer: l };
    }
    if (bad(this.acts.lnf, C)) return { tensor: 'output of model.norm', layer: -1 };
    if (bad(this.acts.logits, V)) return { tensor: 'logits', layer: -1 };
    return null;
  }

  /** Logits of the last forward, [B·T, V]; only after a forward without targets (one with targets overwrites them with their gradient). */
  logits(): FloatArray {
    if (!this.last.valid) throw new ShapeError('logits()', 'a preceding forward()', 'no forward');
    if (this.last.hasTargets) throw new ShapeError('logits()', 'a preceding forward() without targets (a forward with targets overwrites the logits with dlogits)', 'a forward with targets');
    return this.acts.logits.subarray(0, this.last.B * this.last.T * this.dims.V);
  }
}
