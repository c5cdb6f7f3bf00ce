// Backend selection. Native first; the TypeScript kernels always work. BSTAR_BACKEND=ts|native
// forces one (forcing native when it cannot load is an error, not a silent fallback).
import type { Kernels } from './kernels.js';
import { tsKernels } from './ts/index.js';
import { loadAddon, makeNativeKernels } from './native.js';

export type { Kernels, Buf, MatmulLayout, DecodeLayerBufs, DecodeStepsArgs } from './kernels.js';
export { tsKernels } from './ts/index.js';

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
