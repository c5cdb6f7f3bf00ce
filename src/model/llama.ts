// Llama-style decoder: parameters, activations, forward and backward (llm.c's train_gpt2.c shape).
//
//   embedding → L × [RMSNorm → q/k/v proj → RoPE → causal GQA attention → o proj → residual
//                    → RMSNorm → gate/up proj → SwiGLU → down proj → residual]
//   → RMSNorm → LM head → masked cross-entropy (fused with its gradient)
//
// Dims: B batch, T time, N = B·T rows, C hidden, F ffn, V vocab, L layers, H query heads, KV kv heads,
// D head dim. Every buffer is allocated once in the constructor for (maxB, maxT); forward/backward
// on any B ≤ maxB, T ≤ maxT use the first B·T rows, so a training step allocates nothing.
// The buffers are Float32Array, or Float64Array (TS kernels only) for finite-difference checks.
import type { Buf, Kernels, Precision } from '../engine/kernels.js';
import { getKernels, withMatmulPrecision } from '../engine/index.js';
import { Rng } from '../util/rng.js';
import { validateLlamaConfig, type LlamaConfig } from './config.js';
import { linearBackward, linearForward, residualForward, ropeTables } from './layers.js';
import { allocFloat, paramTable, viewsOf, type DType, type FloatArray, type ParamTensor } from './params.js';

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

const kinds = ['embed', 'ln1', 'q', 'k', 'v', 'o', 'ln2', 'gate', 'up', 'down', 'norm', 'head'] as const;
type Kind = (typeof kinds)[number];

/** One layer's slices of the [L, maxN, …] activations. */
interface LayerActs {
  resIn: FloatArray; // [N, C] residual stream entering the layer (encoded or the previous res3)
  ln1: FloatArray;
  ln1Rstd: FloatArray;
  q: FloatArray;
  k: FloatArray;
  v: FloatArray;
  att: FloatArray;
  lse: FloatArray;
  res2: FloatArray;
  ln2: FloatArray;
  ln2Rstd: FloatArray;
  gate: FloatArray;
  up: FloatArray;
  swiglu: FloatArray;
  res3: FloatArray;
}

/** What forward saves for backward, per layer [L, …] and for the head. Shapes in comments. */
interface Activations {
  encoded: FloatArray; // [N, C] embedding output (residual stream entering layer 0)
  ln1: FloatArray; // [L, N, C]
  ln1Rstd: FloatArray; // [L, N]
  q: FloatArray; // [L, N, H*D] after RoPE
  k: FloatArray; // [L, N, KV*D] after RoPE
  v: FloatArray; // [L, N, KV*D]
  att: FloatArray; // [L, N, H*D] attention output (before o_proj)
  lse: FloatArray; // [L, B, H, T] softmax log-sum-exp per query row
  res2: FloatArray; // [L, N, C] residual after attention
  ln2: FloatArray; // [L, N, C]
  ln2Rstd: FloatArray; // [L, N]
  gate: FloatArray; // [L, N, F]
  up: FloatArray; // [L, N, F]
  swiglu: FloatArray; // [L, N, F]
  res3: FloatArray; // [L, N, C] residual after the MLP (enters layer l+1)
  lnf: FloatArray; // [N, C]
  lnfRstd: FloatArray; // [N]
  logits: FloatArray; // [N, V]
  dlogits: FloatArray; // [N, V] written by a forward with targets
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
}

export class LlamaModel {
  readonly config: LlamaConfig;
  readonly dtype: DType;
  readonly kernels: Kernels;
  readonly maxBatch: number;
  readonly maxSeq: number;
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
  private readonly dims: { V: number; C: number; F: number; L: number; H: number; KV: number; D: number };
  // Last forward's shape and inputs, for backward.
  // (The caller keeps tokens unchanged until backward; they are not copied.)
  private last: { B: number; T: number; tokens: Int32Array; hasTargets: boolean; valid: boolean } = { B: 0, T: 0, tokens: new Int32Array(0), hasTargets: false, valid: false };
  private positionsFor = { B: -1, T: -1 };
  /** idx[kind][layer] = index into tensors; pv/gv = param/grad view per tensor index. */
  private readonly idx: Record<Kind, number[]>;
  private readonly pv: FloatArray[];
  private readonly gv: FloatArray[];
  /** Per-layer views of the [L, maxN, width] activations, each of full maxN length. */
  private readonly layerActs: LayerActs[];

  constructor(configIn: LlamaConfig, opts: ModelOptions) {
    // Re-validated so a hand-built object gets the same field-named errors as a config.json.
    const config = validateLlamaConfig(configIn, 'LlamaModel config');
    this.config = config;
    this.dtype = opts.dtype ?? 'float32';
    this.kernels = withMatmulPrecision(opts.kernels ?? getKernels(), opts.precision ?? 'fp32');
    if (this.dtype === 'float64' && this.kernels.name !== 'ts') {
      throw new ShapeError('ModelOptions.dtype', 'float32 with the native kernels (float64 runs on the TS kernels only)', 'float64');
    }
    const posInt = (field: string, v: number) => {
      if (!Number.isInteger(v) || v < 1) throw new ShapeError(`ModelOptions.${field}`, 'a positive integer', String(v));
    };
    posInt('maxBatch', opts.maxBatch);
    posInt('maxSeq', opts.maxSeq);
    if (opts.maxSeq > config.max_position_embeddings) {
      throw new ShapeError('ModelOptions.maxSeq', `≤ max_position_embeddings=${config.max_position_embeddings}`, String(opts.maxSeq));
    }
    this.maxBatch = opts.maxBatch;
    this.maxSeq = opts.maxSeq;
    const C = config.hidden_size;
    const H = config.num_attention_heads;
    const D = C / H;
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
    const idx = {} as Record<Kind, number[]>;
    for (const kind of kinds) idx[kind] = [];
    tensors.forEach((t, i) => idx[t.kind as Kind].push(i));
    if (config.tie_word_embeddings) idx.head = idx.embed;
    this.idx = idx;

    const N = opts.maxBatch * opts.maxSeq;
    const { V, F, L, KV } = dims;
    const a = (n: number) => allocFloat(this.dtype, n);
    this.acts = {
      encoded: a(N * C),
      ln1: a(L * N * C),
      ln1Rstd: a(L * N),
      q: a(L * N * H * D),
      k: a(L * N * KV * D),
      v: a(L * N * KV * D),
      att: a(L * N * H * D),
      lse: a(L * N * H),
      res2: a(L * N * C),
      ln2: a(L * N * C),
      ln2Rstd: a(L * N),
      gate: a(L * N * F),
      up: a(L * N * F),
      swiglu: a(L * N * F),
      res3: a(L * N * C),
      lnf: a(N * C),
      lnfRstd: a(N),
      logits: a(N * V),
      dlogits: a(N * V),
      losses: a(N),
    };
    this.scratch = {
      dres: a(N * C),
      dln: a(N * C),
      dq: a(N * H * D),
      dk: a(N * KV * D),
      dv: a(N * KV * D),
      datt: a(N * H * D),
      dgate: a(N * F),
      dup: a(N * F),
      dswiglu: a(N * F),
    };
    this.ropeCos = a(opts.maxSeq * (D / 2));
    this.ropeSin = a(opts.maxSeq * (D / 2));
    ropeTables(this.ropeCos, this.ropeSin, opts.maxSeq, D, config.rope_theta);
    this.positions = new Int32Array(N);
    // rmsnormBackward always writes dweight; a frozen norm's lands here.
    this.discard = a(C);
    const A = this.acts;
    const slab = (buf: FloatArray, l: number, width: number) => buf.subarray(l * N * width, (l + 1) * N * width);
    this.layerActs = [];
    for (let l = 0; l < L; l++) {
      this.layerActs.push({
        resIn: l > 0 ? slab(A.res3, l - 1, C) : A.encoded,
        ln1: slab(A.ln1, l, C),
        ln1Rstd: slab(A.ln1Rstd, l, 1),
        q: slab(A.q, l, H * D),
        k: slab(A.k, l, KV * D),
        v: slab(A.v, l, KV * D),
        att: slab(A.att, l, H * D),
        lse: slab(A.lse, l, H),
        res2: slab(A.res2, l, C),
        ln2: slab(A.ln2, l, C),
        ln2Rstd: slab(A.ln2Rstd, l, 1),
        gate: slab(A.gate, l, F),
        up: slab(A.up, l, F),
        swiglu: slab(A.swiglu, l, F),
        res3: slab(A.res3, l, C),
      });
    }
    this.resOut = L > 0 ? this.layerActs[L - 1].res3 : A.encoded;
  }
  /** The residual stream leaving the last layer. */
  private readonly resOut: FloatArray;
  private readonly discard: FloatArray;

  /** HF-named parameter views (made once; writing into them writes the model). Shapes in `tensors`. */
  namedParams(): Map<string, FloatArray> {
    return this.paramViews;
  }

  /** HF-named gradient views, same names and shapes as namedParams(). */
  namedGrads(): Map<string, FloatArray> {
    return this.gradViews;
  }

  /** Seeded init like HF's _init_weights: every matrix ~ N(0, initializer_range²), norm weights 1. */
  initWeights(seed: number): void {
    const rng = new Rng(seed);
    const std = this.config.initializer_range;
    for (const t of this.tensors) {
      const w = this.params.subarray(t.offset, t.offset + t.size);
      if (t.isNorm) w.fill(1);
      else for (let i = 0; i < t.size; i++) w[i] = rng.normal() * std;
    }
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  // ---------------------------------------------------------------------------------------------
  // views of one layer's parameters / activations (all made once in the constructor)

  private p(kind: Kind, layer: number): FloatArray {
    return this.pv[this.idx[kind][layer < 0 ? 0 : layer]];
  }
  private g(kind: Kind, layer: number): FloatArray | null {
    const i = this.idx[kind][layer < 0 ? 0 : layer];
    return this.gradEnabled[i] ? this.gv[i] : null;
  }

  // ---------------------------------------------------------------------------------------------
  // forward

  /**
   * Runs the model on tokens[B·T] (row-major [B, T]). With targets and weights [B·T], also computes
   * the per-row losses and dlogits = weights·(softmax − onehot), and returns Σ weights·losses (the
   * caller chooses the normalisation through the weights; rows with weight 0 cost nothing). Without
   * targets only the logits are computed and 0 is returned.
   */
  forward(tokens: Int32Array, targets: Int32Array | null, weights: Buf | null, B: number, T: number): number {
    const k = this.kernels;
    const { V, C, F, L, H, KV, D } = this.dims;
    this.checkInputs(tokens, targets, weights, B, T);
    const N = B * T;
    const A = this.acts;
    if (this.positionsFor.B !== B || this.positionsFor.T !== T) {
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) this.positions[b * T + t] = t;
      this.positionsFor = { B, T };
    }
    k.embeddingForward(A.encoded, this.p('embed', -1), tokens, N, C);
    for (let l = 0; l < L; l++) {
      const { resIn, ln1, ln1Rstd, q, k: kk, v, att, lse, res2, ln2, ln2Rstd, gate, up, swiglu: sw, res3 } = this.layerActs[l];
      k.rmsnormForward(ln1, ln1Rstd, resIn, this.p('ln1', l), N, C, this.config.rms_norm_eps);
      linearForward(k, q, ln1, this.p('q', l), N, C, H * D);
      linearForward(k, kk, ln1, this.p('k', l), N, C, KV * D);
      linearForward(k, v, ln1, this.p('v', l), N, C, KV * D);
      k.ropeForward(q, this.ropeCos, this.ropeSin, this.positions, N, H, D);
      k.ropeForward(kk, this.ropeCos, this.ropeSin, this.positions, N, KV, D);
      k.attentionForward(att, lse, q, kk, v, B, T, H, KV, D);
      linearForward(k, res2, att, this.p('o', l), N, H * D, C);
      residualForward(k, res2, res2, resIn, N * C);

      k.rmsnormForward(ln2, ln2Rstd, res2, this.p('ln2', l), N, C, this.config.rms_norm_eps);
      linearForward(k, gate, ln2, this.p('gate', l), N, C, F);
      linearForward(k, up, ln2, this.p('up', l), N, C, F);
      k.swigluForward(sw, gate, up, N * F);
      linearForward(k, res3, sw, this.p('down', l), N, F, C);
      residualForward(k, res3, res3, res2, N * C);
    }
    const lnf = A.lnf;
    k.rmsnormForward(lnf, A.lnfRstd, this.resOut, this.p('norm', -1), N, C, this.config.rms_norm_eps);
    const logits = A.logits;
    linearForward(k, logits, lnf, this.p('head', -1), N, C, V);
    const last = this.last;
    last.B = B;
    last.T = T;
    last.tokens = tokens;
    last.hasTargets = targets !== null;
    last.valid = true;
    if (!targets || !weights) return 0;
    return k.crossEntropy(A.losses, A.dlogits, logits, targets, weights, N, V);
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

    // head and final norm
    linearBackward(k, dln, this.g('head', -1), A.dlogits, A.lnf, this.p('head', -1), N, C, V, false);
    dres.fill(0, 0, N * C);
    k.rmsnormBackward(dres, this.g('norm', -1) ?? this.discard, dln, this.resOut, this.p('norm', -1), A.lnfRstd, N, C);

    for (let l = L - 1; l >= 0; l--) {
      const { resIn, ln1, ln1Rstd, q, k: kk, v, att, lse, res2, ln2, ln2Rstd, gate, up, swiglu: sw } = this.layerActs[l];

      // MLP: res3 = res2 + down(swiglu(gate(ln2), up(ln2))); dres is d res3 and becomes d res2.
      linearBackward(k, dsw, this.g('down', l), dres, sw, this.p('down', l), N, F, C, false);
      k.swigluBackward(dgate, dup, dsw, gate, up, N * F);
      linearBackward(k, dln, this.g('gate', l), dgate, ln2, this.p('gate', l), N, C, F, false);
      linearBackward(k, dln, this.g('up', l), dup, ln2, this.p('up', l), N, C, F, true);
      k.rmsnormBackward(dres, this.g('ln2', l) ?? this.discard, dln, res2, this.p('ln2', l), ln2Rstd, N, C);

      // attention: res2 = resIn + o(attn(rope(q(ln1)), rope(k(ln1)), v(ln1))); dres becomes d resIn.
      linearBackward(k, datt, this.g('o', l), dres, att, this.p('o', l), N, H * D, C, false);
      k.attentionBackward(dq, dk, dv, datt, q, kk, v, att, lse, B, T, H, KV, D);
      k.ropeBackward(dq, this.ropeCos, this.ropeSin, this.positions, N, H, D);
      k.ropeBackward(dk, this.ropeCos, this.ropeSin, this.positions, N, KV, D);
      linearBackward(k, dln, this.g('q', l), dq, ln1, this.p('q', l), N, C, H * D, false);
      linearBackward(k, dln, this.g('k', l), dk, ln1, this.p('k', l), N, C, KV * D, true);
      linearBackward(k, dln, this.g('v', l), dv, ln1, this.p('v', l), N, C, KV * D, true);
      k.rmsnormBackward(dres, this.g('ln1', l) ?? this.discard, dln, resIn, this.p('ln1', l), ln1Rstd, N, C);
    }
    const dwte = this.g('embed', -1);
    if (dwte) k.embeddingBackward(dwte, dres, tokens, N, C);
  }

  /**
   * Where the last forward first produced a non-finite value, in forward order (for diagnosing a
   * NaN/Inf loss), or null when every activation is finite.
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
      for (const [key, module, w] of widths) if (bad(this.layerActs[l][key], w)) return { tensor: `output of model.layers.${l}.${module}`, layer: l };
    }
    if (bad(this.acts.lnf, C)) return { tensor: 'output of model.norm', layer: -1 };
    if (bad(this.acts.logits, V)) return { tensor: 'logits', layer: -1 };
    return null;
  }

  /** Logits of the last forward, [B·T, V]. */
  logits(): FloatArray {
    if (!this.last.valid) throw new ShapeError('logits()', 'a preceding forward()', 'no forward');
    return this.acts.logits.subarray(0, this.last.B * this.last.T * this.dims.V);
  }
}
