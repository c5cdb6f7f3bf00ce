// The decoder's layers as forward/backward pairs with mirrored arguments (llm.c style). Layers that
// are single kernels (embedding, RMSNorm, RoPE, attention, SwiGLU, cross-entropy) are called on the
// Kernels directly; this file holds the ones composed of kernels, and the RoPE tables.
//
// Grad contract (as in ../engine/kernels.ts): parameter grads +=; activation grads = unless the
// caller asks to accumulate (several consumers of one activation, e.g. q/k/v reading one norm output).
import type { Buf, Kernels } from '../engine/kernels.js';
import type { FloatArray } from './params.js';

// ----------------------------------------------------------------------------------------------
// linear (no bias): out[N, OUT] = inp[N, IN] · weight[OUT, IN]ᵀ

export function linearForward(k: Kernels, out: Buf, inp: Buf, weight: Buf, N: number, IN: number, OUT: number): void {
  k.matmul('nt', out, inp, weight, N, OUT, IN, false);
}

/**
 * dinp[N, IN] (= or += when accumulateDinp) dout·weight; dweight[OUT, IN] += doutᵀ·inp, skipped
 * when dweight is null (frozen parameter).
 */
export function linearBackward(
  k: Kernels, dinp: Buf, dweight: Buf | null, dout: Buf, inp: Buf, weight: Buf,
  N: number, IN: number, OUT: number, accumulateDinp: boolean,
): void {
  k.matmul('nn', dinp, dout, weight, N, IN, OUT, accumulateDinp);
  if (dweight) k.matmul('tn', dweight, dout, inp, OUT, IN, N, true);
}

// ----------------------------------------------------------------------------------------------
// residual: out = a + b. Its backward is the identity on the residual stream (da += dout, db = dout),
// so the model passes the same dresidual buffer to both branches instead of copying.

export function residualForward(k: Kernels, out: Buf, a: Buf, b: Buf, n: number): void {
  k.add(out, a, b, n);
}

// ----------------------------------------------------------------------------------------------
// RoPE tables, as Hugging Face's LlamaRotaryEmbedding builds them:
// inv_freq[i] = 1 / theta^(2i/D), angle = pos·inv_freq[i]; cos/sin are [maxPos, D/2].

export function ropeTables(cos: FloatArray, sin: FloatArray, maxPos: number, D: number, theta: number): void {
  const half = D / 2;
  for (let i = 0; i < half; i++) {
    // HF computes inv_freq and the angles in float32; rounding them the same way keeps the tables
    // bit-close to torch's for long positions.
    const invFreq = Math.fround(1 / Math.pow(theta, (2 * i) / D));
    for (let p = 0; p < maxPos; p++) {
      const angle = Math.fround(p * invFreq);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
}
