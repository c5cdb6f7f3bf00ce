// Training throughput of the default tiny llama (hidden 256, 4 layers, 4 heads, ffn 768, vocab 64,
// seq 128, batch 32): tokens/s and achieved GFLOP/s of a full optimizer step (forward, masked
// cross-entropy, backward, clipping, AdamW) on the native backend with 2 threads, next to PyTorch
// doing the same model and step (bench/torch_train.py on /usr/bin/python3, torch.set_num_threads(2))
// measured in the same run, and the TS backend for scale.
//
// FLOPs per step = 6·P·tokens + attention, with P the parameters that take part in matmuls (every
// projection and the LM head; the embedding lookup is free) and attention = 6·B·H·D·T·(T+1)·L
// (q·kᵀ and p·v over the causal half, forward once and backward twice).
//
// Each side reports its best timed step (the least disturbed by other load on a shared machine) and
// the median step. BSTAR_PROFILE=1 adds a per-kernel time breakdown of the native step.
//
// `npm run bench -- train --model <dir> [--model <dir> …] [--batch 4] [--seq 128] [--steps 2] [--threads 2]
//  [--precision fp32,bf16] [--recompute]` measures real checkpoints instead (e.g. scripts/random-checkpoint.mjs's
// SmolLM2-135M and Qwen2.5-0.5B): for each model and precision, full fine-tuning steps of bstar
// (bench/train_model.ts, train.precision fp32 or bf16) and of PyTorch (bench/torch_train.py --model, the
// same family math and weights; fp32, or its forward under torch.autocast("cpu", bfloat16)), each in its
// own process so that its peak RSS is its own; tokens/s, peak RSS, the ratio per precision, bstar's bf16/fp32
// ratio on this CPU, and bstar's memory plan. BSTAR_PROFILE=1 adds bstar's per-kernel breakdown of each run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kernels, Precision } from '../src/engine/kernels.js';
import { nativeKernels, tsKernels } from '../src/engine/index.js';
import { loadAddon, nativeCoverage } from '../src/engine/native.js';
import { tinyModelConfig, type ModelConfig } from '../src/model/config.js';
import { LlamaModel } from '../src/model/llama.js';
import { Trainer } from '../src/train/trainer.js';
import type { Batch } from '../src/train/batch.js';
import { Rng } from '../src/util/rng.js';
import type { BenchOptions } from './main.js';
import { profileKernels } from './profile.js';

const SHAPE = { hidden: 256, layers: 4, heads: 4, kvHeads: 4, ffn: 768, vocab: 64, seq: 128, batch: 32 };
const THREADS = 2;

function stepFlops(cfg: ModelConfig, B: number, T: number): number {
  const C = cfg.hidden_size;
  const D = cfg.head_dim;
  const H = cfg.num_attention_heads;
  const KV = cfg.num_key_value_heads;
  const perLayer = C * H * D + 2 * C * KV * D + H * D * C + 3 * C * cfg.intermediate_size;
  const P = cfg.num_hidden_layers * perLayer + cfg.vocab_size * C;
  return 6 * P * B * T + 6 * B * H * D * T * (T + 1) * cfg.num_hidden_layers;
}

function randomBatch(B: number, T: number, V: number, seed: number): Batch {
  const r = new Rng(seed);
  const inputs = new Int32Array(B * T).map(() => r.int(V));
  const targets = new Int32Array(B * T).map(() => r.int(V));
  return { B, T, inputs, targets, mask: new Float32Array(B * T).fill(1), tokens: B * T, real: B * T };
}

/** Throughput of the best step (least disturbed by other load on a shared machine) and the median. */
interface Measure {
  tokensPerSecond: number;
  medianTokensPerSecond: number;
  gflops: number;
  steps: number;
  seconds: number;
  batch: number;
}

function measure(k: Kernels, cfg: ModelConfig, B: number, T: number, warmup: number, steps: number, onStep?: () => void, precision: Precision = 'fp32'): Measure {
  const model = new LlamaModel(cfg, { maxBatch: B, maxSeq: T, kernels: k, precision });
  model.initWeights(1);
  const trainer = new Trainer(model, { lr: 1e-4, maxGradNorm: 1 });
  const batch = [randomBatch(B, T, cfg.vocab_size, 2)];
  for (let i = 0; i < warmup; i++) trainer.step(batch);
  onStep?.();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainer.step(batch);
    times.push((performance.now() - t0) / 1000);
  }
  const best = Math.min(...times);
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  return {
    tokensPerSecond: (B * T) / best, medianTokensPerSecond: (B * T) / median, gflops: stepFlops(cfg, B, T) / best / 1e9,
    steps, seconds: times.reduce((a, b) => a + b, 0), batch: B,
  };
}

function torchReference(steps: number): { tokensPerSecond: number; medianTokensPerSecond: number; gflops: number; torch: string } | string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = [path.resolve(here, '../../bench/torch_train.py'), path.resolve(here, 'torch_train.py')].find(existsSync);
  if (!script) return 'not available (bench/torch_train.py not found)';
  if (!existsSync('/usr/bin/python3')) return 'not available (/usr/bin/python3 missing)';
  const s = SHAPE;
  const args = [script, '--hidden', s.hidden, '--layers', s.layers, '--heads', s.heads, '--kv-heads', s.kvHeads, '--ffn', s.ffn,
    '--vocab', s.vocab, '--seq', s.seq, '--batch', s.batch, '--threads', THREADS, '--warmup', 1, '--steps', steps].map(String);
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').pop() ?? '';
    return `not available (${/No module named 'torch'/.test(r.stderr ?? '') ? 'torch is not installed' : why})`;
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { tokens_per_s: number; tokens_per_s_median: number; torch: string };
  const cfg = tinyModelConfig(s.vocab);
  return { tokensPerSecond: j.tokens_per_s, medianTokensPerSecond: j.tokens_per_s_median, gflops: (j.tokens_per_s / (s.batch * s.seq)) * stepFlops(cfg, s.batch, s.seq) / 1e9, torch: j.torch };
}

type Side = { tokensPerSecond: number; medianTokensPerSecond: number; peakRssBytes: number } | string;

interface PrecisionRun {
  /** bstar's train.precision; PyTorch runs fp32, or its forward under torch.autocast("cpu", bfloat16) for bf16. */
  precision: 'fp32' | 'bf16';
  threads: number;
  bstar: (Exclude<Side, string> & { plan: unknown; isa: string; bf16: string }) | string;
  pytorch: (Exclude<Side, string> & { torch: string; autocast: string }) | string;
  /** bstar / PyTorch tokens/s (best steps) */
  ratio: number | null;
}

interface ModelRow {
  model: string;
  params: number;
  batch: number;
  seq: number;
  runs: PrecisionRun[];
  /** bstar bf16 / bstar fp32 tokens/s on this CPU (null unless both ran) */
  bf16OverFp32: number | null;
}

function lastJson(out: string): Record<string, unknown> {
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

const lastLine = (s: string | undefined) => (s ?? '').trim().split('\n').pop() ?? '';

async function runModels(opts: BenchOptions): Promise<unknown> {
  const a = opts.args;
  const models = a.flatMap((x, i) => (x === '--model' ? [a[i + 1]] : []));
  const num = (name: string, dflt: number) => {
    const i = a.indexOf(`--${name}`);
    const v = i >= 0 ? Number(a[i + 1]) : dflt;
    if (!Number.isInteger(v) || v < 1) throw new Error(`bench train: --${name} expects a positive integer, found "${a[i + 1]}"`);
    return v;
  };
  const B = num('batch', 4);
  const T = num('seq', 128);
  const steps = num('steps', 2);
  const threads = num('threads', THREADS);
  const recompute = a.includes('--recompute');
  const pi = a.indexOf('--precision');
  const precisions = (pi >= 0 ? a[pi + 1] : 'fp32,bf16').split(',');
  for (const p of precisions) if (p !== 'fp32' && p !== 'bf16') throw new Error(`bench train: --precision expects fp32, bf16 or fp32,bf16, found "${p}"`);
  const say = (l: string) => {
    if (!opts.json) console.log(l);
  };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = [path.resolve(here, '../../bench/torch_train.py'), path.resolve(here, 'torch_train.py')].find(existsSync);
  say(`train --model: full fine-tuning (forward, masked CE, backward, clip, AdamW), batch ${B} × seq ${T}, best of ${steps} timed steps after 1 warm-up (median in brackets), ${threads} threads, each side in its own process`);
  say('  precision fp32: bstar fp32 vs PyTorch fp32; bf16: bstar train.precision bf16 (bf16 GEMM operands, fp32 sums and master weights) vs PyTorch with its forward under torch.autocast("cpu", dtype=torch.bfloat16)');
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const rows: ModelRow[] = [];
  for (const dir of models) {
    let params = 0;
    const runs: PrecisionRun[] = [];
    for (const precision of precisions as ('fp32' | 'bf16')[]) {
      const r = spawnSync(process.execPath, [path.join(here, 'train_model.js'), dir, String(B), String(T), String(steps), String(threads), recompute ? '1' : '0', precision], { encoding: 'utf8', timeout: 3_600_000, maxBuffer: 1 << 24 });
      let bstar: PrecisionRun['bstar'];
      if (r.status !== 0) bstar = `failed (${lastLine(r.stderr || r.error?.message)})`;
      else {
        const j = lastJson(r.stdout) as { params: number; tokensPerSecond: number; medianTokensPerSecond: number; peakRssBytes: number; plan: unknown; kernels: { isa: string; bf16: string } };
        params = j.params;
        bstar = { tokensPerSecond: j.tokensPerSecond, medianTokensPerSecond: j.medianTokensPerSecond, peakRssBytes: j.peakRssBytes, plan: j.plan, isa: j.kernels.isa, bf16: j.kernels.bf16 };
        if (runs.length === 0) say(`  ${dir}: ${r.stderr.trim().split('\n').find((l) => l.startsWith('memory plan')) ?? ''}`);
        const at = r.stderr.indexOf('kernel profile');
        if (at >= 0) say(`  ${dir}: ${r.stderr.slice(at).trimEnd()}`);
      }
      let pytorch: PrecisionRun['pytorch'];
      if (!script) pytorch = 'not available (bench/torch_train.py not found)';
      else if (!existsSync('/usr/bin/python3')) pytorch = 'not available (/usr/bin/python3 missing)';
      else {
        const p = spawnSync('/usr/bin/python3', [script, '--model', dir, '--batch', String(B), '--seq', String(T), '--threads', String(threads), '--warmup', '1', '--steps', String(steps), '--autocast', precision === 'bf16' ? 'bf16' : 'none'], { encoding: 'utf8', timeout: 3_600_000 });
        if (p.status !== 0) pytorch = `not available (${/No module named 'torch'/.test(p.stderr ?? '') ? 'torch is not installed' : lastLine(p.stderr || p.error?.message)})`;
        else {
          const j = lastJson(p.stdout) as { tokens_per_s: number; tokens_per_s_median: number; peak_rss_bytes: number; torch: string; params: number; autocast: string };
          pytorch = { tokensPerSecond: j.tokens_per_s, medianTokensPerSecond: j.tokens_per_s_median, peakRssBytes: j.peak_rss_bytes, torch: j.torch, autocast: j.autocast };
          params ||= j.params;
        }
      }
      const ratio = typeof bstar !== 'string' && typeof pytorch !== 'string' ? bstar.tokensPerSecond / pytorch.tokensPerSecond : null;
      runs.push({ precision, threads, bstar, pytorch, ratio });
    }
    const f32 = runs.find((x) => x.precision === 'fp32')?.bstar;
    const b16 = runs.find((x) => x.precision === 'bf16')?.bstar;
    const bf16OverFp32 = f32 && b16 && typeof f32 !== 'string' && typeof b16 !== 'string' ? b16.tokensPerSecond / f32.tokensPerSecond : null;
    rows.push({ model: dir, params, batch: B, seq: T, runs, bf16OverFp32 });
    const f = (m: Side) => (typeof m === 'string' ? m : `${m.tokensPerSecond.toFixed(1).padStart(7)} tokens/s (${m.medianTokensPerSecond.toFixed(1)}), peak RSS ${gib(m.peakRssBytes)}`);
    say(`  ${dir} (${(params / 1e6).toFixed(1)} M params)`);
    for (const x of runs) {
      const tag = `${x.precision}, ${x.threads} thr`;
      say(`    bstar ${tag.padEnd(12)} ${f(x.bstar)}${typeof x.bstar === 'string' ? '' : `  [${x.bstar.isa}${x.precision === 'bf16' ? `, bf16 ${x.bstar.bf16}` : ''}${recompute ? ', activation checkpointing' : ''}]`}`);
      say(`    pytorch ${tag.padEnd(10)} ${f(x.pytorch)}${typeof x.pytorch === 'string' ? '' : `  [torch ${x.pytorch.torch}${x.precision === 'bf16' ? ', autocast bf16' : ''}]`}`);
      say(`    ratio bstar/pytorch (${tag}): ${x.ratio === null ? 'not available' : `${x.ratio.toFixed(2)}×`}`);
    }
    if (bf16OverFp32 !== null) say(`    ratio bstar bf16/fp32 (${threads} thr): ${bf16OverFp32.toFixed(2)}×`);
  }
  return { batch: B, seq: T, steps, threads, recompute, models: rows };
}

export async function run(opts: BenchOptions): Promise<unknown> {
  if (opts.args.includes('--model')) return runModels(opts);
  const s = SHAPE;
  const cfg = tinyModelConfig(s.vocab, { hidden_size: s.hidden, num_hidden_layers: s.layers, num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, intermediate_size: s.ffn });
  const steps = Number(process.env.BSTAR_BENCH_STEPS ?? 6);
  const say = (l: string) => {
    if (!opts.json) console.log(l);
  };
  say(`train: best of ${steps} timed steps each (median in brackets)`);
  say(`train: llama hidden ${s.hidden}, ${s.layers} layers, ${s.heads} heads, ffn ${s.ffn}, vocab ${s.vocab}; batch ${s.batch} × seq ${s.seq}; ${THREADS} threads; ${(stepFlops(cfg, s.batch, s.seq) / 1e9).toFixed(1)} GFLOP per step`);

  const nk = nativeKernels();
  let native: Measure | string;
  let native16: Measure | string = 'not available';
  let profile: string | undefined;
  const addon = loadAddon();
  const coverage = addon instanceof Error ? null : nativeCoverage(addon, tsKernels);
  if (nk instanceof Error) native = `not available (${nk.message})`;
  else if (coverage && coverage.native.length === 0) native = 'not available (the addon implements no kernels yet)';
  else {
    if (coverage && coverage.fallback.length > 0) say(`  note: native backend runs ${coverage.fallback.join(', ')} on the TS fallback`);
    nk.setThreads(THREADS);
    native = measure(nk, cfg, s.batch, s.seq, 1, steps);
    native16 = measure(nk, cfg, s.batch, s.seq, 1, steps, undefined, 'bf16');
    if (process.env.BSTAR_PROFILE === '1') {
      const p = profileKernels(nk);
      const m = measure(p.kernels, cfg, s.batch, s.seq, 1, steps, () => p.reset());
      profile = p.report(m.seconds * 1000);
    }
  }
  const torch = torchReference(steps);
  // The TS kernels are ~100× slower: a smaller batch and 2 steps give the figure for scale.
  const ts = measure(tsKernels, cfg, 2, s.seq, 0, 2);

  const fmt = (m: { tokensPerSecond: number; medianTokensPerSecond: number; gflops: number } | string) =>
    typeof m === 'string'
      ? m
      : `${Math.round(m.tokensPerSecond).toString().padStart(7)} tokens/s  ${m.gflops.toFixed(1).padStart(6)} GFLOP/s  (median step ${Math.round(m.medianTokensPerSecond)} tokens/s)`;
  say(`  native (${nk instanceof Error ? '-' : nk.info().isa})  ${fmt(native)}`);
  say(`  native bf16 (${nk instanceof Error ? '-' : nk.info().bf16})  ${fmt(native16)}`);
  const bf16Ratio = typeof native !== 'string' && typeof native16 !== 'string' ? native16.tokensPerSecond / native.tokensPerSecond : null;
  say(`  ratio native bf16/fp32 (${THREADS} thr): ${bf16Ratio === null ? 'not available' : `${bf16Ratio.toFixed(2)}×`}`);
  say(`  pytorch          ${fmt(torch)}`);
  const ratio = typeof native !== 'string' && typeof torch !== 'string' ? native.tokensPerSecond / torch.tokensPerSecond : null;
  say(`  ratio native/pytorch: ${ratio === null ? 'not available' : `${ratio.toFixed(2)}× (target ≥ 1.5×)`}`);
  say(`  ts (batch 2)     ${fmt(ts)}`);
  if (profile) say(`  native step profile (BSTAR_PROFILE=1, ${steps} steps):\n${profile}`);
  return {
    shape: s,
    threads: THREADS,
    gflopPerStep: stepFlops(cfg, s.batch, s.seq) / 1e9,
    native: typeof native === 'string' ? native : { tokensPerSecond: native.tokensPerSecond, medianTokensPerSecond: native.medianTokensPerSecond, gflops: native.gflops },
    nativeBf16: typeof native16 === 'string' ? native16 : { tokensPerSecond: native16.tokensPerSecond, medianTokensPerSecond: native16.medianTokensPerSecond, gflops: native16.gflops, bf16: nk instanceof Error ? 'none' : nk.info().bf16 },
    bf16OverFp32: bf16Ratio,
    pytorch: torch,
    ratio,
    ts: { tokensPerSecond: ts.tokensPerSecond, medianTokensPerSecond: ts.medianTokensPerSecond, gflops: ts.gflops, batch: ts.batch },
  };
}
