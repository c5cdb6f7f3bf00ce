// Loads the C++ addon (built by node-gyp at install into build/Release) and wraps it as a Kernels
// backend. Kernels the addon does not (yet) export fall back to the TypeScript ones, so a partial
// addon is still correct; `nativeCoverage()` says which are native.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Kernels } from './kernels.js';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
// dist/src/engine/native.js → <root>/build/Release; src/engine/native.ts (ts-node style) → same root.
const candidates = [path.resolve(here, '../../../build/Release/bstar_engine.node'), path.resolve(here, '../../build/Release/bstar_engine.node')];

export interface NativeAddon {
  info(): { isa: string; threads?: number; bf16?: string; bf16Fast?: boolean };
  [kernel: string]: unknown;
}

/** The raw addon, or an Error naming every path tried and the fix. */
export function loadAddon(): NativeAddon | Error {
  const tried: string[] = [];
  for (const p of candidates) {
    try {
      return require(p) as NativeAddon;
    } catch (e) {
      tried.push(`${p}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return new Error(`native addon not loadable (tried ${tried.join('; ')}); fix: run \`npm rebuild\` with g++ and make installed`);
}

/** A Kernels backend: the addon's kernels over the fallback's for any the addon lacks. */
export function makeNativeKernels(addon: NativeAddon, fallback: Kernels): Kernels {
  const k: Record<string, unknown> = {};
  for (const key of Object.keys(fallback) as (keyof Kernels)[]) {
    const fn = addon[key as string];
    k[key] = typeof fn === 'function' ? fn : (fallback as unknown as Record<string, unknown>)[key];
  }
  // optional kernels (no TS counterpart; callers check for them)
  if (typeof addon.decodeLayers === 'function') k.decodeLayers = addon.decodeLayers;
  if (typeof addon.decodeSteps === 'function') k.decodeSteps = addon.decodeSteps;
  k.name = 'native';
  k.info = () => {
    const i = addon.info();
    return { backend: 'native', isa: i.isa, threads: i.threads ?? 1, bf16: i.bf16 ?? 'emulated', bf16Fast: i.bf16Fast ?? false };
  };
  if (typeof addon.setThreads !== 'function') k.setThreads = () => {};
  return k as unknown as Kernels;
}

/** Which kernels of the contract the addon implements natively. */
export function nativeCoverage(addon: NativeAddon, fallback: Kernels): { native: string[]; fallback: string[] } {
  const native: string[] = [];
  const fb: string[] = [];
  for (const key of Object.keys(fallback)) {
    if (key === 'name' || key === 'info' || key === 'setThreads') continue;
    (typeof addon[key] === 'function' ? native : fb).push(key);
  }
  return { native, fallback: fb };
}
