// BSTAR_PROFILE=1 support for the benchmarks: wraps a Kernels backend so every kernel call is timed
// (matmul split by layout), and prints where a training step spends its time.
import type { Kernels } from '../src/engine/kernels.js';

export interface KernelProfile {
  kernels: Kernels;
  /** name → [calls, milliseconds] */
  table: Map<string, [number, number]>;
  reset(): void;
  report(totalMs: number): string;
}

export function profileKernels(inner: Kernels): KernelProfile {
  const table = new Map<string, [number, number]>();
  const add = (name: string, ms: number) => {
    const e = table.get(name);
    if (e) {
      e[0]++;
      e[1] += ms;
    } else table.set(name, [1, ms]);
  };
  const wrapped: Record<string, unknown> = { ...inner };
  for (const key of Object.keys(inner) as (keyof Kernels)[]) {
    const fn = inner[key];
    if (typeof fn !== 'function' || key === 'info' || key === 'setThreads') continue;
    wrapped[key] = (...args: unknown[]) => {
      const t0 = performance.now();
      const r = (fn as (...a: unknown[]) => unknown).apply(inner, args);
      add(key === 'matmul' ? `matmul ${args[0] as string}` : key, performance.now() - t0);
      return r;
    };
  }
  return {
    kernels: wrapped as unknown as Kernels,
    table,
    reset: () => table.clear(),
    report(totalMs: number): string {
      const rows = [...table.entries()].sort((a, b) => b[1][1] - a[1][1]);
      let kernelMs = 0;
      for (const [, [, ms]] of rows) kernelMs += ms;
      const lines = rows.map(([name, [calls, ms]]) => `  ${name.padEnd(20)} ${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${String(calls).padStart(6)} calls`);
      lines.push(`  ${'(outside kernels)'.padEnd(20)} ${(totalMs - kernelMs).toFixed(1).padStart(9)} ms ${((100 * (totalMs - kernelMs)) / totalMs).toFixed(1).padStart(5)}%`);
      return lines.join('\n');
    },
  };
}
