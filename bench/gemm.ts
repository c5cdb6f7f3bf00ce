// GEMM benchmark (`npm run bench -- gemm`, also part of `engine`): GFLOP/s of bstar's native matmul
// in the three layouts at the training shapes, on 1 and 2 threads, next to OpenBLAS sgemm on the
// same shapes and threads measured in the same run (bench/openblas_sgemm.c, compiled here with the
// system's C compiler against -lopenblas), and the ratio. OpenBLAS is measured twice when
// OPENBLAS_CORETYPE is set in the environment: with that setting and with the core OpenBLAS detects
// itself; the ratio is taken against the faster of the two. A reference that cannot be built or run
// is reported as "not available". Each cell: one warm-up call, then repetitions for at least
// --min-time seconds (default 0.3, at least 3 reps); the figure is the best repetition (the median
// is kept too). Arguments: [--min-time=S] [--threads=1,2] [--quick] (one shape).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend, tsKernels, type Kernels, type MatmulLayout } from '../src/engine/index.js';
import type { BenchOptions } from './main.js';

export const SHAPES: [number, number, number][] = [
  [512, 256, 1024],
  [4096, 256, 768],
  [4096, 768, 256],
  [1024, 1024, 1024],
];
const LAYOUTS: MatmulLayout[] = ['nn', 'nt', 'tn'];

export interface Timing {
  best: number;
  median: number;
  reps: number;
}

export interface GemmRow {
  layout: MatmulLayout;
  M: number;
  K: number;
  N: number;
  threads: number;
  bstar: Timing;
  /** OpenBLAS with the environment's settings (OPENBLAS_CORETYPE as set), or null when not available. */
  openblasEnv: Timing | null;
  /** OpenBLAS with its own core detection (only measured when OPENBLAS_CORETYPE is set). */
  openblasAuto: Timing | null;
  /** bstar best / the faster OpenBLAS best. */
  ratio: number | null;
}

export interface GemmResult {
  protocol: string;
  isa: string;
  cpu: string;
  openblas: { available: boolean; reason?: string; envCore?: string; autoCore?: string; envCoretype?: string };
  rows: GemmRow[];
  ts: { layout: MatmulLayout; M: number; K: number; N: number; threads: number; gflops: number };
  minRatio2Threads: number | null;
}

function timeIt(fn: () => void, flops: number, minSec: number): Timing {
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || performance.now() - start < minSec * 1000) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const g = (ms: number) => Math.round((flops / (ms * 1e-3)) * 1e-9 * 10) / 10;
  return { best: g(times[0]), median: g(times[times.length >> 1]), reps: times.length };
}

interface Harness {
  exe: string;
  dir: string;
}

function buildHarness(): Harness | string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/bench/gemm.js → <root>/bench/openblas_sgemm.c
  const src = [path.resolve(here, '../../bench/openblas_sgemm.c'), path.resolve(here, 'openblas_sgemm.c')].find((p) => existsSync(p));
  if (!src) return 'bench/openblas_sgemm.c not found';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bstar-gemm-'));
  const exe = path.join(dir, 'openblas_sgemm');
  const cc = process.env.CC ?? 'cc';
  try {
    execFileSync(cc, ['-O2', src, '-o', exe, '-lopenblas'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = (e as { stderr?: Buffer }).stderr?.toString().split('\n')[0] ?? (e as Error).message;
    return `could not build the OpenBLAS harness with ${cc} -lopenblas (${err.trim()}); install libopenblas-dev`;
  }
  return { exe, dir };
}

interface HarnessOut {
  core: string;
  rows: { layout: MatmulLayout; M: number; K: number; N: number; threads: number; best: number; median: number; reps: number }[];
}

function runHarness(h: Harness, threads: number, minSec: number, shape: [number, number, number], env: NodeJS.ProcessEnv): HarnessOut {
  const out = execFileSync(h.exe, [String(threads), String(minSec), shape.join(',')], { env }).toString();
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  return { core: lines[0].core, rows: lines.slice(1) };
}

function parseArgs(args: string[]): { minSec: number; threads: number[]; quick: boolean } {
  let minSec = 0.3;
  let threads = [1, 2];
  let quick = false;
  for (const a of args) {
    if (a.startsWith('--min-time=')) minSec = Number(a.slice(11));
    else if (a.startsWith('--threads=')) threads = a.slice(10).split(',').map(Number);
    else if (a === '--quick') quick = true;
  }
  if (!(minSec > 0)) throw new Error(`bench gemm: --min-time must be a positive number of seconds`);
  if (threads.some((t) => !Number.isInteger(t) || t < 1)) throw new Error(`bench gemm: --threads must list positive integers`);
  return { minSec, threads, quick };
}

export async function run(opts: BenchOptions): Promise<GemmResult> {
  const { minSec, threads: threadList, quick } = parseArgs(opts.args);
  const log = (s: string) => {
    if (!opts.json) console.log(s);
  };
  const nk: Kernels = getBackend('native');
  const startThreads = nk.info().threads;
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const envCoretype = process.env.OPENBLAS_CORETYPE;
  const harness = buildHarness();
  const openblas: GemmResult['openblas'] =
    typeof harness === 'string' ? { available: false, reason: harness } : { available: true, envCoretype };
  const autoEnv = { ...process.env };
  delete autoEnv.OPENBLAS_CORETYPE;

  const shapes = quick ? SHAPES.slice(0, 1) : SHAPES;
  const rows: GemmRow[] = [];
  log(`GEMM GFLOP/s (best of reps, ≥${minSec}s per cell after a warm-up) — ${cpu}, bstar isa ${nk.info().isa}`);
  if (typeof harness === 'string') log(`OpenBLAS: not available (${harness})`);
  const header =
    'layout   M     K     N   thr |  bstar | OpenBLAS' +
    (envCoretype ? ` env(${envCoretype}) | OpenBLAS auto` : '') +
    ' | ratio';
  log(header);
  try {
    for (const threads of threadList) {
      nk.setThreads(threads);
      for (const [M, K, N] of shapes) {
        const A = new Float32Array(M * K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
        const B = new Float32Array(K * N).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
        const C = new Float32Array(M * N);
        const flops = 2 * M * N * K;
        const mine = LAYOUTS.map((layout) => timeIt(() => nk.matmul(layout, C, A, B, M, N, K, false), flops, minSec));
        let envOut: HarnessOut | null = null;
        let autoOut: HarnessOut | null = null;
        if (typeof harness !== 'string') {
          try {
            envOut = runHarness(harness, threads, minSec, [M, K, N], process.env);
            openblas.envCore = envOut.core;
            if (envCoretype) {
              autoOut = runHarness(harness, threads, minSec, [M, K, N], autoEnv);
              openblas.autoCore = autoOut.core;
            }
          } catch (e) {
            openblas.available = false;
            openblas.reason = `the OpenBLAS harness failed: ${(e as Error).message.split('\n')[0]}`;
          }
        }
        LAYOUTS.forEach((layout, li) => {
          const oe = envOut?.rows.find((r) => r.layout === layout) ?? null;
          const oa = autoOut?.rows.find((r) => r.layout === layout) ?? null;
          const refBest = Math.max(oe?.best ?? 0, oa?.best ?? 0);
          const t = (r: typeof oe): Timing | null => (r ? { best: r.best, median: r.median, reps: r.reps } : null);
          const row: GemmRow = {
            layout, M, K, N, threads,
            bstar: mine[li],
            openblasEnv: t(oe),
            openblasAuto: t(oa),
            ratio: refBest > 0 ? Math.round((mine[li].best / refBest) * 100) / 100 : null,
          };
          rows.push(row);
          const f = (x: Timing | null) => (x ? x.best.toFixed(1).padStart(7) : '    n/a');
          log(
            `${layout}   ${String(M).padStart(5)} ${String(K).padStart(5)} ${String(N).padStart(5)} ${String(threads).padStart(3)} |` +
              `${f(row.bstar)} | ${f(row.openblasEnv)}${envCoretype ? '            | ' + f(row.openblasAuto) + '     ' : ''} | ` +
              (row.ratio === null ? 'not available' : row.ratio.toFixed(2)),
          );
        });
      }
    }
  } finally {
    nk.setThreads(startThreads);
    if (typeof harness !== 'string') rmSync(harness.dir, { recursive: true, force: true });
  }
  if (openblas.available) log(`OpenBLAS cores: env ${openblas.envCore ?? '?'}${envCoretype ? `, auto-detected ${openblas.autoCore ?? '?'}` : ''}`);

  // The TypeScript fallback on one small shape, for scale.
  const [tm, tk, tn] = [128, 128, 128];
  const tA = new Float32Array(tm * tk).fill(0.5);
  const tB = new Float32Array(tk * tn).fill(0.25);
  const tC = new Float32Array(tm * tn);
  const tsT = timeIt(() => tsKernels.matmul('nn', tC, tA, tB, tm, tn, tk, false), 2 * tm * tn * tk, minSec);
  const ts = { layout: 'nn' as MatmulLayout, M: tm, K: tk, N: tn, threads: 1, gflops: tsT.best };
  log(`TypeScript fallback: nn ${tm}×${tk}×${tn}, 1 thread: ${tsT.best.toFixed(2)} GFLOP/s`);

  const r2 = rows.filter((r) => r.threads === 2 && r.ratio !== null).map((r) => r.ratio as number);
  const minRatio2Threads = r2.length ? Math.min(...r2) : null;
  if (minRatio2Threads !== null) log(`lowest ratio on 2 threads: ${minRatio2Threads.toFixed(2)} (target ≥ 0.80)`);
  return {
    protocol: `best of repetitions after one warm-up, at least ${minSec}s and 3 reps per cell; GFLOP/s = 2·M·N·K / time`,
    isa: nk.info().isa,
    cpu,
    openblas,
    rows,
    ts,
    minRatio2Threads,
  };
}
