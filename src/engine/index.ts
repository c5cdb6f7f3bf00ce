// Backend selection. Native first; the TypeScript kernels always work. BSTAR_BACKEND=ts|native
// forces one (forcing native when it cannot load is an error, not a silent fallback).
import type { Kernels, Precision } from './kernels.js';
import { tsKernels } from './ts/index.js';
import { loadAddon, makeNativeKernels } from './native.js';

export type { Kernels, Buf, MatmulLayout, Precision, DecodeLayerBufs, DecodeStepsArgs } from './kernels.js';
export { tsKernels } from './ts/index.js';
export { roundBf16 } from './bf16.js';

let active: Kernels | undefined;
let nativeCache: Kernels | Error | undefined;

/** The native backend, or the Error explaining why it is unavailable. */
export function nativeKernels(): Kernels | Error {
  if (nativeCache === undefined) {
    const addon = loadAddon();
    nativeCache = addon instanceof Error ? addon : makeNativeKernels(addon, tsKernels);
  }
  return nativeCache;
}

/** A backend by name; throws with the reason when native is asked for and cannot load. */
export function getBackend(name: 'ts' | 'native'): Kernels {
  if (name === 'ts') return tsKernels;
  const n = nativeKernels();
  if (n instanceof Error) throw n;
  return n;
}

/** The process-wide backend: BSTAR_BACKEND if set, else native when it loads, else ts (with a notice). */
export function getKernels(): Kernels {
  if (active) return active;
  const want = process.env.BSTAR_BACKEND;
  if (want !== undefined && want !== '' && want !== 'ts' && want !== 'native') {
    throw new Error(`BSTAR_BACKEND=${want} is not a backend; expected "ts" or "native"`);
  }
  if (want === 'ts' || want === 'native') {
    active = getBackend(want);
  } else {
    const n = nativeKernels();
    if (n instanceof Error) {
      process.stderr.write(`bstar: using the TypeScript kernels (${n.message})\n`);
      active = tsKernels;
    } else active = n;
  }
  const threads = process.env.BSTAR_THREADS;
  if (threads !== undefined && threads !== '') {
    const t = Number(threads);
    if (!Number.isInteger(t) || t < 1) throw new Error(`BSTAR_THREADS=${threads} must be a positive integer`);
    active.setThreads(t);
  }
  return active;
}

/**
 * A zeroed Float32Array of n floats for large long-lived buffers (KV-cache arenas): from the native
 * addon when it loads (from 4 MiB up its own mapping, advised for transparent huge pages: far fewer
 * page faults and TLB misses), else a plain Float32Array.
 */
export function allocLarge(n: number): Float32Array {
  const addon = loadAddon();
  if (!(addon instanceof Error) && typeof addon.allocLarge === 'function') return (addon.allocLarge as (n: number) => Float32Array)(n);
  return new Float32Array(n);
}

/** A precision setting as configs give it: 'auto' = bf16 where the CPU's bf16 GEMM beats fp32 (info().bf16Fast). */
export type PrecisionSetting = Precision | 'auto';

/** The GEMM precision a setting means on these kernels. */
export function resolvePrecision(setting: PrecisionSetting, k: Kernels): Precision {
  if (setting === 'fp32' || setting === 'bf16') return setting;
  if (setting === 'auto') return k.info().bf16Fast ? 'bf16' : 'fp32';
  throw new TypeError(`precision must be 'fp32', 'bf16' or 'auto', got ${String(setting)}`);
}

/**
 * k itself for 'fp32'; for 'bf16', k with its GEMMs in bf16 (every other kernel unchanged): matmul with a
 * depth K > 1 and packB default to 'bf16'. A model built on it runs its projections and LM head, forward
 * and backward, with bf16 operands and fp32 sums, while weights, gradients and optimizer state stay fp32.
 * Products of depth 1 (bias adds written as ones·b) stay fp32: nothing is summed, and the exact add is what
 * the fused decode (Kernels.decodeLayers) does too.
 */
export function withMatmulPrecision(k: Kernels, precision: Precision): Kernels {
  if (precision === 'fp32') return k;
  if (precision !== 'bf16') throw new TypeError(`precision must be 'fp32' or 'bf16', got ${String(precision)}`);
  const base = k;
  return {
    ...k,
    matmul: (layout, C, A, B, M, N, K, accumulate, p) => base.matmul(layout, C, A, B, M, N, K, accumulate, p ?? (K > 1 ? 'bf16' : 'fp32')),
    packB: (layout, B, K, N, p) => base.packB(layout, B, K, N, p ?? 'bf16'),
  };
}
