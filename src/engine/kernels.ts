// The engine's kernel contract: every kernel the model and trainer call, declared once. Each backend
// (src/engine/ts: pure TypeScript, the oracle and fallback; src/engine/native: the C++ addon)
// implements this interface exactly. The engine knows nothing of models.
//
// Conventions (stated once, as in llm.c):
// - All matrices are dense and row-major. Dims: N rows (tokens = B*T), C channels, V vocab, F ffn
//   width, B batch, T time, H query heads, KV key/value heads, D head dim.
// - Buffers are Float32Array (Float64Array is accepted by the TS backend only, for gradient checks).
//   Views made with subarray() are fine; callers make them once, not per step.
// - Gradient contract: parameter grads +=, activation grads =, except where the input is the
//   residual stream (rmsnormBackward's dinp, embeddingBackward's dwte), which is +=.
// - Outputs may alias inputs only where a kernel says so.

export type Buf = Float32Array | Float64Array;

/** 'nn': C[M,N] = A[M,K]·B[K,N];  'nt': C = A[M,K]·B[N,K]ᵀ;  'tn': C = A[K,M]ᵀ·B[K,N]. */
export type MatmulLayout = 'nn' | 'nt' | 'tn';

/**
 * Arithmetic of a GEMM. 'fp32': fp32 operands and sums, the bit-reproducible reference. 'bf16': both
 * operands rounded to bfloat16 (src/engine/bf16.ts: nearest even, denormals to zero) as they are read,
 * products summed in fp32; C and everything outside the products stay fp32. The native backend uses
 * vdpbf16ps where the CPU has AVX512_BF16 (info().bf16 = 'avx512bf16') and two fp32 FMAs per pair
 * elsewhere ('emulated'); the emulated kernel sets all give the same bits, the native one agrees with
 * them to fp32 rounding (docs/performance.md).
 */
export type Precision = 'fp32' | 'bf16';

/** One decoder layer for Kernels.decodeLayers (projections from packB('nt', W [out, in], in, out)). */
export interface DecodeLayerBufs {
  ln1: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  ln2: Float32Array;
  wg: Float32Array;
  wu: Float32Array;
  wd: Float32Array;
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  bo?: Float32Array;
  /** [S, KV, cap, D] */
  kCache: Float32Array;
  vCache: Float32Array;
}

/** The sampling side of Kernels.decodeSteps. */
export interface DecodeStepsArgs {
  embed: Float32Array;
  tokens: Int32Array;
  budget: Int32Array;
  rng: Uint32Array;
  temperature: number;
  topP: number;
  topK: number;
  eos: Int32Array;
  stopAtEos: boolean;
  steps: number;
  outTokens: Int32Array;
  outModelLp: Float64Array;
  outSamplerLp: Float64Array;
  outCount: Int32Array;
}

export interface Kernels {
  /** 'native' (which ISA is in info()) or 'ts'. */
  readonly name: 'native' | 'ts';
  /**
   * Description for logs and benchmarks: ISA, threads, and how the bf16 GEMM multiplies a pair:
   * 'avx512bf16' (a native instruction) or 'emulated' (fp32 FMAs; the TS backend rounds and multiplies);
   * bf16Fast: whether it beats the fp32 GEMM on this CPU (what precision 'auto' follows).
   */
  info(): { backend: string; isa: string; threads: number; bf16: string; bf16Fast: boolean };
  /** Worker threads used by parallel kernels (the calling thread counts as one). */
  setThreads(n: number): void;

  // ---- dense algebra ---------------------------------------------------------------------------
  /**
   * C (= or += when accumulate) op(A)·op(B); shapes per MatmulLayout. C must not alias A or B.
   * For 'nn' and 'nt', row i of C must be bit-identical whatever M and the thread count (no split of
   * K across threads, no M-dependent summation order): seeded sampling relies on it. That holds for
   * both precisions (default 'fp32').
   */
  matmul(layout: MatmulLayout, C: Buf, A: Buf, B: Buf, M: number, N: number, K: number, accumulate: boolean, precision?: Precision): void;

  /**
   * B ('nn': [K,N]; 'nt': [N,K]) packed once into this backend's own layout, for matmulPacked: weights
   * that many calls multiply (decoding) are then not re-packed on every call. Opaque; stale once B
   * changes (pack again). A packed B is refused by another backend, kernel set or GEMM blocking.
   * With precision 'bf16' (default 'fp32') B is stored rounded, and matmulPacked computes in bf16.
   */
  packB(layout: 'nn' | 'nt', B: Buf, K: number, N: number, precision?: Precision): Float32Array;
  /**
   * C[M,N] (= or += when accumulate) A[M,K]·B, B given as packB(layout, B, K, N, precision), in that
   * precision. Row i of C is bit-identical to matmul(layout, C, A, B, …, precision)'s (same contract:
   * independent of M and threads).
   */
  matmulPacked(C: Buf, A: Buf, Bp: Float32Array, M: number, N: number, K: number, accumulate: boolean): void;

  /**
   * Optional fused decode step (the native backend has it; callers fall back to the kernels above):
   * every Llama decoder layer for R rows in R distinct cache slots, row r being one token at position
   * positions[r] of slot slots[r] that attends to positions 0..positions[r] of its slot. Per layer:
   * rmsnorm, q/k/v projections (+ biases), RoPE, K/V written into the cache, attentionKvForward, o
   * projection, residual add, rmsnorm, gate/up, SwiGLU, down, residual add — on x [R, C] in place;
   * xb, q, k, v, att, gate, up, hid are [R, ·] scratch. Threads take blocks of at least rowsPerBlock
   * rows (sized guided: about the rows left / (2 · threads), whole slots)
   * through all layers (one parallel region per call); the rows of one slot must be contiguous (a
   * decode step has one row per slot; a prefill, each prompt's rows together). With norm, head
   * (packB('nt', lmHead, C, V)), logits [R, V] and V, each block also writes its rows' logits
   * (final rmsnorm, LM head). Bit-identical to that sequence of kernel calls.
   */
  decodeLayers?(
    x: Float32Array, xb: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array,
    gate: Float32Array, up: Float32Array, hid: Float32Array, layers: DecodeLayerBufs[], cos: Float32Array, sin: Float32Array,
    positions: Int32Array, slots: Int32Array, R: number, C: number, H: number, KV: number, D: number, F: number, cap: number,
    eps: number, rowsPerBlock: number, norm?: Float32Array, head?: Float32Array, logits?: Float32Array, V?: number,
  ): void;

  /**
   * Optional (native only): up to s.steps decode steps in one call for R rows in R distinct slots,
   * choosing each next token natively by the rule of src/model/sampling.ts chooseToken (float64;
   * temperature, top-k, top-p) from each row's xoshiro128** state s.rng[4r..4r+4) (src/util/rng.ts,
   * advanced in place). Row r starts from token s.tokens[r] at positions[r]; it produces at most
   * s.budget[r] tokens and stops after an id in s.eos when s.stopAtEos. Out: s.outTokens,
   * s.outModelLp, s.outSamplerLp [R, steps], s.outCount [R]. Other arguments as decodeLayers (with
   * norm, head, logits, V). Threads take blocks of rows through all the steps.
   */
  decodeSteps?(
    x: Float32Array, xb: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array,
    gate: Float32Array, up: Float32Array, hid: Float32Array, layers: DecodeLayerBufs[], cos: Float32Array, sin: Float32Array,
    positions: Int32Array, slots: Int32Array, R: number, C: number, H: number, KV: number, D: number, F: number, cap: number,
    eps: number, rowsPerBlock: number, norm: Float32Array, head: Float32Array, logits: Float32Array, V: number, s: DecodeStepsArgs,
  ): void;

  // ---- embedding -------------------------------------------------------------------------------
  /** out[N,C] = wte[tokens[n], :]. */
  embeddingForward(out: Buf, wte: Buf, tokens: Int32Array, N: number, C: number): void;
  /** dwte[tokens[n], :] += dout[n, :]. */
  embeddingBackward(dwte: Buf, dout: Buf, tokens: Int32Array, N: number, C: number): void;

  // ---- RMSNorm: out = inp * rstd * weight, rstd = 1/sqrt(mean(inp²) + eps) ------------------------
  /** Writes out[N,C] and rstd[N] (saved for backward). */
  rmsnormForward(out: Buf, rstd: Buf, inp: Buf, weight: Buf, N: number, C: number, eps: number): void;
  /** dinp[N,C] += …, dweight[C] += … (its input is the residual stream). */
  rmsnormBackward(dinp: Buf, dweight: Buf, dout: Buf, inp: Buf, weight: Buf, rstd: Buf, N: number, C: number): void;

  // ---- RoPE, Hugging Face "rotate_half" convention: pairs (i, i + D/2) within each head ----------
  /**
   * x[N, nHeads*D] rotated in place by position: for head h, i < D/2, with c = cos[pos*D/2 + i],
   * s = sin[pos*D/2 + i]: x1' = x1*c − x2*s, x2' = x2*c + x1*s. cos/sin are [maxPos, D/2] tables.
   */
  ropeForward(x: Buf, cos: Buf, sin: Buf, positions: Int32Array, N: number, nHeads: number, D: number): void;
  /** dx rotated in place by the inverse (transpose) rotation. */
  ropeBackward(dx: Buf, cos: Buf, sin: Buf, positions: Int32Array, N: number, nHeads: number, D: number): void;

  // ---- causal self-attention with grouped-query heads ----------------------------------------------
  /**
   * q[B*T, H*D], k,v[B*T, KV*D] (H % KV == 0; query head h reads kv head floor(h / (H/KV))).
   * out[B*T, H*D] = softmax(q·kᵀ/sqrt(D) + causal mask)·v per (b, h); lse[B, H, T] = the row
   * log-sum-exp of the scaled scores (saved for backward). Each sequence attends only within its
   * own row b; right padding is therefore invisible to real tokens.
   */
  attentionForward(out: Buf, lse: Buf, q: Buf, k: Buf, v: Buf, B: number, T: number, H: number, KV: number, D: number): void;
  /** dq =, dk =, dv = (summed over the query heads sharing a kv head). */
  attentionBackward(
    dq: Buf, dk: Buf, dv: Buf, dout: Buf, q: Buf, k: Buf, v: Buf, out: Buf, lse: Buf,
    B: number, T: number, H: number, KV: number, D: number,
  ): void;

  /**
   * Attention of R new query rows against a KV cache (decoding, and prefill in chunks); inference
   * only, no lse, no backward. q[R, H*D]; kCache, vCache [S, KV, cap, D] (S slots of cap positions,
   * head-major so one head's keys are contiguous); row r attends to positions 0 .. lengths[r]−1 of
   * slot slots[r] (its own key/value already written there, so causality is the caller's choice of
   * lengths). out[R, H*D] =. GQA as in
   * attentionForward. Each row's result depends only on that row (not on R or on other rows), so
   * sampling is reproducible whatever the batch.
   */
  attentionKvForward(
    out: Buf, q: Buf, kCache: Buf, vCache: Buf, slots: Int32Array, lengths: Int32Array,
    R: number, H: number, KV: number, D: number, cap: number,
  ): void;

  // ---- SwiGLU: out = silu(gate) * up -----------------------------------------------------------
  swigluForward(out: Buf, gate: Buf, up: Buf, n: number): void;
  /** dgate =, dup =. */
  swigluBackward(dgate: Buf, dup: Buf, dout: Buf, gate: Buf, up: Buf, n: number): void;

  // ---- elementwise -----------------------------------------------------------------------------
  /** out[i] = a[i] + b[i]; out may alias a or b. */
  add(out: Buf, a: Buf, b: Buf, n: number): void;
  /** x[i] *= s. */
  scale(x: Buf, s: number, n: number): void;
  /** Σ x[i]², accumulated in float64. */
  sumSquares(x: Buf, n: number): number;

  // ---- loss ------------------------------------------------------------------------------------
  /**
   * Softmax cross-entropy fused with its gradient. For row n with weight w = weights[n]:
   * losses[n] = −log softmax(logits[n])[targets[n]] (0 when w == 0), and, when dlogits is given,
   * dlogits[n] = w·(softmax(logits[n]) − onehot(targets[n])) (zero row when w == 0).
   * dlogits may alias logits. Returns Σ w·losses[n] (float64).
   */
  crossEntropy(
    losses: Buf, dlogits: Buf | null, logits: Buf, targets: Int32Array, weights: Buf, N: number, V: number,
  ): number;

  // ---- optimizer -------------------------------------------------------------------------------
  /**
   * One AdamW step with PyTorch semantics over n contiguous parameters, step ≥ 1:
   * p *= 1 − lr·wd;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
   * p −= lr/(1−β1^step) · m / (sqrt(v)/sqrt(1−β2^step) + eps).
   */
  adamw(
    params: Buf, grads: Buf, m: Buf, v: Buf, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void;
}
