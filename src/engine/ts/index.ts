// Pure-TypeScript kernels: the reference every other backend is tested against, and the fallback
// when the native addon cannot load. Written for clarity first; works on Float32Array and, for
// gradient checks, Float64Array. Dims as in ../kernels.ts.
import type { Buf, Kernels, MatmulLayout, Precision } from '../kernels.js';
import { roundedBf16 } from '../bf16.js';
import { attentionKvForward } from './attention_kv.js';

// ----------------------------------------------------------------------------------------------
// dense algebra

function matmul(layout: MatmulLayout, C: Buf, A: Buf, B: Buf, M: number, N: number, K: number, accumulate: boolean, precision: Precision = 'fp32'): void {
  if (precision === 'bf16') {
    // the products of the rounded operands (summed in this function's own order)
    matmul(layout, C, roundedBf16(A, M * K), roundedBf16(B, K * N), M, N, K, accumulate);
    return;
  }
  if (precision !== 'fp32') throw new TypeError(`matmul: precision must be 'fp32' or 'bf16', got ${String(precision)}`);
  if (!accumulate) C.fill(0, 0, M * N);
  if (layout === 'nn') {
    // i-k-j order: streams rows of B, vectorises well in V8.
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      for (let p = 0; p < K; p++) {
        const a = A[i * K + p];
        if (a === 0) continue;
        const bp = p * N;
        for (let j = 0; j < N; j++) C[ci + j] += a * B[bp + j];
      }
    }
  } else if (layout === 'nt') {
    for (let i = 0; i < M; i++) {
      const ai = i * K;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        for (let p = 0; p < K; p++) s += A[ai + p] * B[bj + p];
        C[i * N + j] += s;
      }
    }
  } else {
    for (let p = 0; p < K; p++) {
      const ap = p * M;
      const bp = p * N;
      for (let i = 0; i < M; i++) {
        const a = A[ap + i];
        if (a === 0) continue;
        const ci = i * N;
        for (let j = 0; j < N; j++) C[ci + j] += a * B[bp + j];
      }
    }
  }
}

// The TS backend's packed B: a header (magic, K, N, layout: 0 nn, 1 nt, precision: 0 fp32, 1 bf16),
// then B as given (bf16: rounded), so that matmulPacked is matmul on the same operand (same float
// operations).
const PACK_HDR = 16;
const PACK_MAGIC = 7331;

function packB(layout: 'nn' | 'nt', B: Buf, K: number, N: number, precision: Precision = 'fp32'): Float32Array {
  if (layout !== 'nn' && layout !== 'nt') throw new TypeError(`packB: layout must be 'nn' or 'nt', got ${String(layout)}`);
  if (precision !== 'fp32' && precision !== 'bf16') throw new TypeError(`packB: precision must be 'fp32' or 'bf16', got ${String(precision)}`);
  if (B.length < K * N) throw new RangeError(`packB: B has ${B.length} elements, K*N = ${K * N} needed`);
  const out = new Float32Array(PACK_HDR + K * N);
  out[0] = PACK_MAGIC;
  out[1] = K;
  out[2] = N;
  out[3] = layout === 'nn' ? 0 : 1;
  out[4] = precision === 'bf16' ? 1 : 0;
  out.set(precision === 'bf16' ? roundedBf16(B, K * N) : B.subarray(0, K * N), PACK_HDR);
  return out;
}

function matmulPacked(C: Buf, A: Buf, Bp: Float32Array, M: number, N: number, K: number, accumulate: boolean): void {
  if (Bp[0] !== PACK_MAGIC || Bp[1] !== K || Bp[2] !== N || Bp.length < PACK_HDR + K * N) {
    throw new TypeError(`matmulPacked: Bp does not fit: expected the ts backend's packB(…, K=${K}, N=${N})`);
  }
  const Ar = Bp[4] === 1 ? roundedBf16(A, M * K) : A;
  matmul(Bp[3] === 0 ? 'nn' : 'nt', C, Ar, Bp.subarray(PACK_HDR), M, N, K, accumulate);
}

// ----------------------------------------------------------------------------------------------
// embedding

function embeddingForward(out: Buf, wte: Buf, tokens: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const t = tokens[n];
    for (let c = 0; c < C; c++) out[n * C + c] = wte[t * C + c];
  }
}

function embeddingBackward(dwte: Buf, dout: Buf, tokens: Int32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const t = tokens[n];
    for (let c = 0; c < C; c++) dwte[t * C + c] += dout[n * C + c];
  }
}

// ----------------------------------------------------------------------------------------------
// RMSNorm

function rmsnormForward(out: Buf, rstd: Buf, inp: Buf, weight: Buf, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += inp[o + c] * inp[o + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[o + c] = inp[o + c] * r * weight[c];
  }
}

function rmsnormBackward(dinp: Buf, dweight: Buf, dout: Buf, inp: Buf, weight: Buf, rstd: Buf, N: number, C: number): void {
  // y = x·r·w with r = (mean x² + eps)^-1/2:  dx = r·(dy·w) − x·r³/C · Σ_c (dy·w·x)
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const r = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dout[o + c] * weight[c] * inp[o + c];
    const k = (dot * r * r * r) / C;
    for (let c = 0; c < C; c++) {
      dweight[c] += dout[o + c] * inp[o + c] * r;
      dinp[o + c] += dout[o + c] * weight[c] * r - inp[o + c] * k;
    }
  }
}

// ----------------------------------------------------------------------------------------------
// RoPE (rotate_half)

function rope(x: Buf, cos: Buf, sin: Buf, positions: Int32Array, N: number, nHeads: number, D: number, sign: number): void {
  const half = D >> 1;
  for (let n = 0; n < N; n++) {
    const t = positions[n] * half;
    for (let h = 0; h < nHeads; h++) {
      const o = n * nHeads * D + h * D;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i];
        const s = sign * sin[t + i];
        const x1 = x[o + i];
        const x2 = x[o + i + half];
        x[o + i] = x1 * c - x2 * s;
        x[o + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

// ----------------------------------------------------------------------------------------------
// causal attention (reference: materialises one score row at a time)

function attentionForward(out: Buf, lse: Buf, q: Buf, k: Buf, v: Buf, B: number, T: number, H: number, KV: number, D: number): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / KV;
  const p = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * H * D + h * D;
        let mx = -Infinity;
        for (let s = 0; s <= t; s++) {
          const ko = (b * T + s) * KV * D + kh * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          p[s] = dot * scale;
          if (p[s] > mx) mx = p[s];
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) {
          p[s] = Math.exp(p[s] - mx);
          sum += p[s];
        }
        lse[(b * H + h) * T + t] = mx + Math.log(sum);
        for (let d = 0; d < D; d++) out[qo + d] = 0;
        for (let s = 0; s <= t; s++) {
          const w = p[s] / sum;
          const vo = (b * T + s) * KV * D + kh * D;
          for (let d = 0; d < D; d++) out[qo + d] += w * v[vo + d];
        }
      }
    }
  }
}

function attentionBackward(
  dq: Buf, dk: Buf, dv: Buf, dout: Buf, q: Buf, k: Buf, v: Buf, out: Buf, lse: Buf,
  B: number, T: number, H: number, KV: number, D: number,
): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / KV;
  dq.fill(0, 0, B * T * H * D);
  dk.fill(0, 0, B * T * KV * D);
  dv.fill(0, 0, B * T * KV * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * H * D + h * D;
        const l = lse[(b * H + h) * T + t];
        // delta = Σ_d dout·out  (= Σ_s P_s · dP_s)
        let delta = 0;
        for (let d = 0; d < D; d++) delta += dout[qo + d] * out[qo + d];
        for (let s = 0; s <= t; s++) {
          const ko = (b * T + s) * KV * D + kh * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          const P = Math.exp(dot * scale - l);
          let dP = 0;
          for (let d = 0; d < D; d++) dP += dout[qo + d] * v[ko + d];
          const dS = P * (dP - delta) * scale;
          for (let d = 0; d < D; d++) {
            dv[ko + d] += P * dout[qo + d];
            dq[qo + d] += dS * k[ko + d];
            dk[ko + d] += dS * q[qo + d];
          }
        }
      }
    }
  }
}

// ----------------------------------------------------------------------------------------------
// SwiGLU

function swigluForward(out: Buf, gate: Buf, up: Buf, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    out[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
}

function swigluBackward(dgate: Buf, dup: Buf, dout: Buf, gate: Buf, up: Buf, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const sg = 1 / (1 + Math.exp(-g));
    const silu = g * sg;
    const d = dout[i];
    dup[i] = d * silu;
    dgate[i] = d * up[i] * sg * (1 + g * (1 - sg));
  }
}

// ----------------------------------------------------------------------------------------------
// elementwise

function add(out: Buf, a: Buf, b: Buf, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

function scale(x: Buf, s: number, n: number): void {
  for (let i = 0; i < n; i++) x[i] *= s;
}

function sumSquares(x: Buf, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}

// ----------------------------------------------------------------------------------------------
// loss

function crossEntropy(losses: Buf, dlogits: Buf | null, logits: Buf, targets: Int32Array, weights: Buf, N: number, V: number): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const w = weights[n];
    if (w === 0) {
      losses[n] = 0;
      if (dlogits) dlogits.fill(0, o, o + V);
      continue;
    }
    let mx = -Infinity;
    for (let i = 0; i < V; i++) if (logits[o + i] > mx) mx = logits[o + i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[o + i] - mx);
    const lse = mx + Math.log(sum);
    const t = targets[n];
    const loss = lse - logits[o + t];
    losses[n] = loss;
    total += w * loss;
    if (dlogits) {
      for (let i = 0; i < V; i++) dlogits[o + i] = w * Math.exp(logits[o + i] - lse);
      dlogits[o + t] -= w;
    }
  }
  return total;
}

// ----------------------------------------------------------------------------------------------
// optimizer

function adamw(
  params: Buf, grads: Buf, m: Buf, v: Buf, n: number,
  lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
): void {
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < n; i++) {
    const g = grads[i];
    params[i] *= decay;
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    params[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2 + eps);
  }
}

export const tsKernels: Kernels = {
  name: 'ts',
  info: () => ({ backend: 'ts', isa: 'js', threads: 1, bf16: 'emulated', bf16Fast: false }),
  setThreads: () => {},
  matmul,
  packB,
  matmulPacked,
  embeddingForward,
  embeddingBackward,
  rmsnormForward,
  rmsnormBackward,
  ropeForward: (x, cos, sin, positions, N, nHeads, D) => rope(x, cos, sin, positions, N, nHeads, D, 1),
  ropeBackward: (dx, cos, sin, positions, N, nHeads, D) => rope(dx, cos, sin, positions, N, nHeads, D, -1),
  attentionForward,
  attentionBackward,
  attentionKvForward,
  swigluForward,
  swigluBackward,
  add,
  scale,
  sumSquares,
  crossEntropy,
  adamw,
};
