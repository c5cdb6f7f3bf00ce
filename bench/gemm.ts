// GEMM benchmark (`npm run bench -- gemm`, also part of `engine`): GFLOP/s of bstar's native matmul
// in the three layouts at the training shapes, on 1 and 2 threads, next to OpenBLAS sgemm on the
// same shapes and threads measured in the same run (bench/openblas_sgemm.c, compiled here with the
// system's C compiler against -lopenblas), and the ratio. OpenBLAS is measured twice when
// OPENBLAS_CORETYPE is set in the environment: with that setting and with the core OpenBLAS detects
// itself; the ratio is taken against the faster of the two. A reference that cannot be built or run
// is reported as "not available". Protocol: for each cell, --rounds rounds (default 5) in which bstar
// and each OpenBLAS variant in turn run one warm-up call and then repetitions for --min-time seconds
// (default 0.06, at least 3 reps); the figure is the best repetition over all rounds (the median of
// the round medians is kept too). Interleaving in short slices gives each side the same share of a
// machine shared with other work. Arguments: [--min-time=S] [--rounds=R] [--threads=1,2] [--quick]
// [--clock=wall|cpu] (cpu: time each repetition in process CPU time, which the OS's time slicing
// does not inflate; one thread only). Each round also times bstar's bf16 GEMM on the same shape (column
// bf16, with its ratio to bstar's fp32).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
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
  /** bstar's bf16 GEMM (bf16 operands, fp32 sums; info().bf16 says how) on the same shape, interleaved. */
  bf16: Timing;
  /** bf16 best / fp32 best */
  bf16Ratio: number;
}

export interface GemmResult {
  protocol: string;
  isa: string;
  cpu: string;
  openblas: { available: boolean; reason?: string; envCore?: string; autoCore?: string; envCoretype?: string };
  rows: GemmRow[];
  ts: { layout: MatmulLayout; M: number; K: number; N: number; threads: number; gflops: number };
  minRatio2Threads: number | null;
  /** How the bf16 GEMM multiplies ('avx512bf16' or 'emulated'), and its median bf16/fp32 ratio over the rows. */
  bf16: string;
  bf16OverFp32Median: number | null;
  /** Set when the native addon could not be loaded (nothing was measured). */
  nativeUnavailable?: string;
}

/** Milliseconds on the wall clock, or of this process's CPU time (meaningful for one thread). */
function clockMs(kind: 'wall' | 'cpu'): number {
  if (kind === 'wall') return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function timeIt(fn: () => void, flops: number, minSec: number, clock: 'wall' | 'cpu' = 'wall'): Timing {
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || performance.now() - start < minSec * 1000) {
    const t0 = clockMs(clock);
    fn();
    times.push(Math.max(clockMs(clock) - t0, 1e-3));
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

/** A running `openblas_sgemm --serve`: one request at a time. */
class OpenblasServer {
  private child: ChildProcess;
  private buf = '';
  private waiting: ((line: string) => void)[] = [];
  private failed: Error | null = null;
  constructor(exe: string, env: NodeJS.ProcessEnv) {
    this.child = spawn(exe, ['--serve'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.waiting.shift()?.(line);
      }
    });
    this.child.on('exit', (code) => {
      this.failed = new Error(`openblas_sgemm exited with code ${code}`);
      for (const w of this.waiting.splice(0)) w('');
    });
  }
  async time(layout: MatmulLayout, M: number, K: number, N: number, threads: number, minSec: number, clock: 'wall' | 'cpu'): Promise<Timing> {
    if (this.failed) throw this.failed;
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write(`${layout} ${M} ${K} ${N} ${threads} ${minSec} ${clock}\n`);
    });
    if (this.failed || line === '') throw this.failed ?? new Error('openblas_sgemm gave no answer');
    return JSON.parse(line) as Timing;
  }
  close(): void {
    this.child.stdin!.end();
  }
}

function coreName(exe: string, env: NodeJS.ProcessEnv): string {
  return execFileSync(exe, ['--core'], { env }).toString().trim();
}

/** Best over rounds; median of the round medians. */
function merge(ts: Timing[]): Timing {
  const meds = ts.map((t) => t.median).sort((a, b) => a - b);
  return {
    best: Math.max(...ts.map((t) => t.best)),
    median: meds[meds.length >> 1],
    reps: ts.reduce((a, t) => a + t.reps, 0),
  };
}

function parseArgs(args: string[]): { minSec: number; rounds: number; threads: number[]; quick: boolean; clock: 'wall' | 'cpu' } {
  let clock: 'wall' | 'cpu' = 'wall';
  let minSec = 0.06;
  let rounds = 5;
  let threads = [1, 2];
  let quick = false;
  for (const a of args) {
    if (a.startsWith('--min-time=')) minSec = Number(a.slice(11));
    else if (a.startsWith('--rounds=')) rounds = Number(a.slice(9));
    else if (a.startsWith('--threads=')) threads = a.slice(10).split(',').map(Number);
    else if (a === '--quick') quick = true;
    else if (a === '--clock=cpu' || a === '--clock=wall') clock = a.slice(8) as 'wall' | 'cpu';
    else throw new Error(`bench gemm: unknown argument ${a}; expected --min-time=S, --rounds=R, --threads=1,2, --clock=wall|cpu or --quick`);
  }
  if (!(minSec > 0)) throw new Error(`bench gemm: --min-time must be a positive number of seconds`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`bench gemm: --rounds must be a positive integer`);
  if (threads.some((t) => !Number.isInteger(t) || t < 1)) throw new Error(`bench gemm: --threads must list positive integers`);
  if (clock === 'cpu' && threads.some((t) => t !== 1)) {
    throw new Error('bench gemm: --clock=cpu measures process CPU time, which is only a speed for one thread; use --threads=1');
  }
  return { minSec, rounds, threads, quick, clock };
}

/** The TypeScript fallback on one small shape, for scale. */
function measureTs(minSec: number, log: (s: string) => void): GemmResult['ts'] {
  const [tm, tk, tn] = [128, 128, 128];
  const tA = new Float32Array(tm * tk).fill(0.5);
  const tB = new Float32Array(tk * tn).fill(0.25);
  const tC = new Float32Array(tm * tn);
  const tsT = timeIt(() => tsKernels.matmul('nn', tC, tA, tB, tm, tn, tk, false), 2 * tm * tn * tk, minSec);
  log(`TypeScript fallback: nn ${tm}×${tk}×${tn}, 1 thread: ${tsT.best.toFixed(2)} GFLOP/s`);
  return { layout: 'nn', M: tm, K: tk, N: tn, threads: 1, gflops: tsT.best };
}

export async function run(opts: BenchOptions): Promise<GemmResult> {
  const { minSec, rounds, threads: threadList, quick, clock } = parseArgs(opts.args);
  const log = (s: string) => {
    if (!opts.json) console.log(s);
  };
  let nk: Kernels;
  try {
    nk = getBackend('native');
  } catch (e) {
    // Without the addon there is nothing of ours to compare; say so rather than fail.
    const reason = (e as Error).message;
    log(`bstar native GEMM: not available (${reason})`);
    return {
      protocol: 'not run: the native addon is not available',
      isa: 'none',
      cpu: os.cpus()[0]?.model ?? 'unknown',
      openblas: { available: false, reason: 'not measured without the native addon' },
      rows: [],
      ts: measureTs(minSec, log),
      minRatio2Threads: null,
      bf16: 'none',
      bf16OverFp32Median: null,
      nativeUnavailable: reason,
    };
  }
  const startThreads = nk.info().threads;
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const envCoretype = process.env.OPENBLAS_CORETYPE;
  const harness = buildHarness();
  const openblas: GemmResult['openblas'] =
    typeof harness === 'string' ? { available: false, reason: harness } : { available: true, envCoretype };
  const autoEnv = { ...process.env };
  delete autoEnv.OPENBLAS_CORETYPE;

  let envServer: OpenblasServer | null = null;
  let autoServer: OpenblasServer | null = null;
  if (typeof harness !== 'string') {
    try {
      openblas.envCore = coreName(harness.exe, process.env);
      envServer = new OpenblasServer(harness.exe, process.env);
      if (envCoretype) {
        openblas.autoCore = coreName(harness.exe, autoEnv);
        autoServer = new OpenblasServer(harness.exe, autoEnv);
      }
    } catch (e) {
      openblas.available = false;
      openblas.reason = `the OpenBLAS harness did not run: ${(e as Error).message.split('\n')[0]}`;
    }
  }

  const shapes = quick ? SHAPES.slice(0, 1) : SHAPES;
  const rows: GemmRow[] = [];
  log(`GEMM GFLOP/s — ${cpu}, bstar isa ${nk.info().isa}, bf16 GEMM ${nk.info().bf16}; best over ${rounds} interleaved rounds of ≥${minSec}s each; ${clock === 'cpu' ? 'process CPU time' : 'wall clock'}`);
  if (!openblas.available) log(`OpenBLAS: not available (${openblas.reason})`);
  else log(`OpenBLAS cores: env ${openblas.envCore}${envCoretype ? ` (OPENBLAS_CORETYPE=${envCoretype}), auto-detected ${openblas.autoCore}` : ''}`);
  log(
    'layout     M     K     N thr |   bstar | OpenBLAS' +
      (envCoretype ? ` ${openblas.envCore ?? 'env'} | OpenBLAS ${openblas.autoCore ?? 'auto'}` : '') +
      ' | ratio |    bf16 | bf16/fp32',
  );
  const f = (x: Timing | null) => (x ? x.best.toFixed(1).padStart(7) : '    n/a');
  try {
    for (const threads of threadList) {
      for (const [M, K, N] of shapes) {
        const A = new Float32Array(M * K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
        const B = new Float32Array(K * N).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
        const C = new Float32Array(M * N);
        const flops = 2 * M * N * K;
        for (const layout of LAYOUTS) {
          const mine: Timing[] = [];
          const mine16: Timing[] = [];
          const oe: Timing[] = [];
          const oa: Timing[] = [];
          for (let r = 0; r < rounds; r++) {
            nk.setThreads(threads);
            mine.push(timeIt(() => nk.matmul(layout, C, A, B, M, N, K, false), flops, minSec, clock));
            mine16.push(timeIt(() => nk.matmul(layout, C, A, B, M, N, K, false, 'bf16'), flops, minSec, clock));
            nk.setThreads(1); // our idle workers must not compete with OpenBLAS's
            try {
              if (envServer) oe.push(await envServer.time(layout, M, K, N, threads, minSec, clock));
              if (autoServer) oa.push(await autoServer.time(layout, M, K, N, threads, minSec, clock));
              // OpenBLAS's idle workers keep polling (sched_yield) for about 0.1 s after a call;
              // let them go to sleep before bstar's next slice.
              if (threads > 1 && (envServer || autoServer)) await new Promise((r) => setTimeout(r, 150));
            } catch (e) {
              openblas.available = false;
              openblas.reason = `the OpenBLAS harness failed: ${(e as Error).message}`;
              envServer = autoServer = null;
            }
          }
          const envT = oe.length ? merge(oe) : null;
          const autoT = oa.length ? merge(oa) : null;
          const refBest = Math.max(envT?.best ?? 0, autoT?.best ?? 0);
          const row: GemmRow = {
            layout, M, K, N, threads,
            bstar: merge(mine),
            openblasEnv: envT,
            openblasAuto: autoT,
            ratio: refBest > 0 ? Math.round((merge(mine).best / refBest) * 100) / 100 : null,
            bf16: merge(mine16),
            bf16Ratio: Math.round((merge(mine16).best / merge(mine).best) * 100) / 100,
          };
          rows.push(row);
          log(
            `${layout}     ${String(M).padStart(5)} ${String(K).padStart(5)} ${String(N).padStart(5)} ${String(threads).padStart(3)} | ` +
              `${f(row.bstar)} | ${f(row.openblasEnv).padStart(envCoretype ? 9 + (openblas.envCore ?? 'env').length : 8)}` +
              (envCoretype ? ` | ${f(row.openblasAuto).padStart(9 + (openblas.autoCore ?? 'auto').length)}` : '') +
              ` | ${row.ratio === null ? 'not available' : row.ratio.toFixed(2)} | ${f(row.bf16)} | ${row.bf16Ratio.toFixed(2)}`,
          );
        }
      }
    }
  } finally {
    nk.setThreads(startThreads);
    envServer?.close();
    autoServer?.close();
    if (typeof harness !== 'string') rmSync(harness.dir, { recursive: true, force: true });
  }

  const ts = measureTs(minSec, log);

  const r2 = rows.filter((r) => r.threads === 2 && r.ratio !== null).map((r) => r.ratio as number);
  const minRatio2Threads = r2.length ? Math.min(...r2) : null;
  if (minRatio2Threads !== null) log(`lowest ratio on 2 threads: ${minRatio2Threads.toFixed(2)} (target ≥ 0.80)`);
  const b = rows.map((r) => r.bf16Ratio).sort((x, y) => x - y);
  const bf16OverFp32Median = b.length ? b[b.length >> 1] : null;
  if (bf16OverFp32Median !== null) log(`bf16 GEMM (${nk.info().bf16}) / fp32 GEMM on this CPU: median ${bf16OverFp32Median.toFixed(2)}× (${b[0].toFixed(2)}–${b[b.length - 1].toFixed(2)})`);
  return {
    protocol: `${clock === 'cpu' ? 'process CPU time' : 'wall clock'}; best repetition over ${rounds} interleaved rounds (bstar, then OpenBLAS) of one warm-up call and at least ${minSec}s / 3 reps each; GFLOP/s = 2·M·N·K / time`,
    isa: nk.info().isa,
    cpu,
    openblas,
    rows,
    ts,
    minRatio2Threads,
    bf16: nk.info().bf16,
    bf16OverFp32Median,
  };
}
