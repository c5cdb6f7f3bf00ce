// bfloat16 rounding, as the engine's bf16 GEMM rounds its operands (src/engine/native/gemm_bf16.h):
// round to nearest even; zero and fp32 denormals become a signed zero (as vcvtne2ps2bf16 does);
// infinities stay; a NaN stays NaN (quiet). Values are rounded to fp32 first (the engine's operands are
// fp32); the result is returned as a number (every bf16 value is exactly a float32).
import type { Buf } from './kernels.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bf16 bit pattern's fp32 word (bf16 in the high half, low half 0) of fp32(x). */
export function bf16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  const e = u & 0x7f800000;
  if (e === 0) return (u & 0x80000000) >>> 0;
  if (e === 0x7f800000) return (u & 0x7fffff) !== 0 ? ((u | 0x400000) & 0xffff0000) >>> 0 : u;
  return ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0;
}

/** x rounded to bfloat16 (see the file comment). */
export function roundBf16(x: number): number {
  u32[0] = bf16Bits(x);
  return f32[0];
}

/** A Float32Array (or Float64Array, for a Float64Array input) of the first n values rounded to bf16. */
export function roundedBf16(a: Buf, n: number): Buf {
  const out = a instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = roundBf16(a[i]);
  return out;
}
