// `npm run bench -- sample [--json] [--batches 1,32,256] [--new-tokens 128] [--threads 2] [--no-torch]`
// (`sample --model <dir>`: real checkpoints against llama.cpp, see runModels below)
// Sampling throughput of the KV-cache sampler on the default tiny model (hidden 256, 4 layers,
// 4 heads, ffn 768, vocab 64; seeded random weights) at several numbers of concurrent sequences,
// next to PyTorch eager with a KV cache on the same model and batch (bench/torch_sample.py, run
// with /usr/bin/python3 in this same run), and the ratio. Also time to first token and peak KV
// memory. Prompts: 16 seeded random tokens each, temperature 1, eos ignored so every sequence
// decodes exactly --new-tokens tokens. When node-llama-cpp is installed (docs/interop.md), llama.cpp
// on the same weights (exported to GGUF) is measured for one sequence (`--no-llama-cpp` skips it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ggufFromCheckpoint, writeGguf } from '../src/model/gguf.js';
import { getKernels } from '../src/engine/index.js';
import { parseModelConfig, type ModelConfig } from '../src/model/config.js';
import { paramTable } from '../src/model/params.js';
import { Sampler } from '../src/model/sampler.js';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { benchPrompts, fullVocabTokenizer, PROMPT_LEN } from './sample_vocab.js';
import { CharTokenizer } from '../src/tokenizer/index.js';
import { Rng } from '../src/util/rng.js';
import { arg } from './args.js';
import type { BenchOptions } from './main.js';

export const TINY: ModelConfig = parseModelConfig({
  vocab_size: 64, hidden_size: 256, intermediate_size: 768, num_hidden_layers: 4, num_attention_heads: 4,
  num_key_value_heads: 4, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: 10000,
  tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
}, 'bench/sample.ts TINY');

interface Row {
  batch: number;
  tokens: number;
  bstarTokensPerS: number;
  bstarTtftMs: number;
  bstarPeakKvMiB: number;
  torchTokensPerS: number | 'not available';
  torchTtftMs: number | 'not available';
  /** Threads of PyTorch's fastest run (it is measured at 1..threads). */
  torchThreads: number | 'not available';
  ratio: number | 'not available';
}

function weightsFor(cfg: ModelConfig, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const m = new Map<string, Float32Array>();
  for (const { name, shape, size: n } of paramTable(cfg).tensors) {
    const w = new Float32Array(n);
    const std = shape.length === 1 ? 0 : 1 / Math.sqrt(shape[1]);
    for (let i = 0; i < n; i++) w[i] = shape.length === 1 ? 1 : std * rng.normal();
    m.set(name, w);
  }
  return m;
}

function torchRun(batch: number, newTokens: number, threads: number): { tokensPerS: number; ttftMs: number } | string {
  const py = '/usr/bin/python3';
  const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/torch_sample.py');
  if (!existsSync(py)) return `${py} not found`;
  const r = spawnSync(py, [script, '--batch', String(batch), '--new-tokens', String(newTokens), '--threads', String(threads), '--prompt-len', String(PROMPT_LEN), '--config', JSON.stringify(TINY)], { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').at(-1)!;
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

/**
 * PyTorch's multi-threaded CPU run collapses (OpenMP spin-waits) when anything else uses a core, so the
 * fair reference is its best over 1..threads threads, like the GEMM bench's best OpenBLAS core.
 */
function torchBest(batch: number, newTokens: number, threads: number): { tokensPerS: number; ttftMs: number; threads: number } | string {
  let best: { tokensPerS: number; ttftMs: number; threads: number } | string = 'no run';
  for (let th = 1; th <= threads; th++) {
    const r = torchRun(batch, newTokens, th);
    if (typeof r === 'string') {
      if (typeof best === 'string') best = r;
      continue;
    }
    if (typeof best === 'string' || r.tokensPerS > best.tokensPerS) best = { ...r, threads: th };
  }
  return best;
}

/** node-llama-cpp (optional, see docs/interop.md): $BSTAR_NODE_LLAMA_CPP or an installed package. */
function nodeLlamaCpp(): string | null {
  const env = process.env.BSTAR_NODE_LLAMA_CPP;
  if (env) return existsSync(env) ? pathToFileURL(path.join(path.resolve(env), 'dist', 'index.js')).href : null;
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve('node-llama-cpp')).href;
  } catch {
    return null;
  }
}

/** llama.cpp on the same weights (exported to GGUF f32), one sequence, same threads. */
function llamaCppRun(weights: Map<string, Float32Array>, tok: CharTokenizer, prompt: number[], newTokens: number, threads: number): { tokens: number; tokensPerS: number; ttftMs: number } | string {
  const mod = nodeLlamaCpp();
  if (!mod) return 'node-llama-cpp not installed (npm i --no-save -E node-llama-cpp@3.21.1, or BSTAR_NODE_LLAMA_CPP=<dir>)';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bstar-bench-gguf-'));
  try {
    const file = path.join(dir, 'tiny.gguf');
    const { metadata, tensors } = ggufFromCheckpoint(TINY, weights, tok, { type: 'f32' });
    writeGguf(file, metadata, tensors);
    const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/llama_cpp_sample.mjs');
    const r = spawnSync(process.execPath, [script, mod, JSON.stringify({ model: file, prompt, newTokens, threads })], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) return (r.stderr || `exit ${r.status}`).trim().split('\n').at(-1)!;
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ModelSide {
  tokensPerSecond: number;
  decodeTokensPerSecond: number;
  ttftMs: number;
  tokens: number;
  /** llama.cpp: the thread count of its fastest run */
  threads?: number;
}

interface ModelSampleRow {
  model: string;
  batch: number;
  threads: number;
  /** bstar's sampling.precision, and the GGUF weight type llama.cpp runs next to it (f32 ↔ fp32, f16 ↔ bf16) */
  precision: 'fp32' | 'bf16';
  gguf: 'f32' | 'f16';
  bstar: (ModelSide & { bf16: string; isa: string; peakRssBytes: number }) | string;
  llamaCpp: ModelSide | string;
  /** bstar / llama.cpp decode tokens/s */
  ratio: number | null;
}

const tail = (s: string | undefined) => (s ?? '').trim().split('\n').at(-1) ?? '';

/**
 * `sample --model <dir> [--model <dir> …] [--batches 1,32] [--new-tokens 64] [--threads 2] [--precision fp32,bf16]
 * [--no-llama-cpp]`: real checkpoints (e.g. scripts/random-checkpoint.mjs's SmolLM2-135M and Qwen2.5-0.5B).
 * For each batch and precision, bstar's sampler (bench/sample_model.ts, its own process) and llama.cpp
 * (node-llama-cpp; the same weights exported to GGUF as `bstar export gguf --type f32|f16` does, all
 * sequences in one context) decode the same 16-token prompts for --new-tokens tokens each at temperature 1;
 * the ratio is of the decode rates (tokens after each sequence's first, over the time after the first).
 * BSTAR_PROFILE=1 adds bstar's per-kernel breakdown of each measured call.
 */
async function runModels(opts: BenchOptions): Promise<unknown> {
  const a = opts.args;
  const models = a.flatMap((x, i) => (x === '--model' ? [a[i + 1]] : []));
  const batches = (arg(a, '--batches') ?? '1,32').split(',').map(Number);
  const newTokens = Number(arg(a, '--new-tokens') ?? 64);
  const threads = Number(arg(a, '--threads') ?? 2);
  const precisions = (arg(a, '--precision') ?? 'fp32,bf16').split(',') as ('fp32' | 'bf16')[];
  for (const p of precisions) if (p !== 'fp32' && p !== 'bf16') throw new Error(`bench sample: --precision expects fp32, bf16 or fp32,bf16, found "${p}"`);
  const say = (l: string) => {
    if (!opts.json) console.log(l);
  };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const mod = opts.args.includes('--no-llama-cpp') ? null : nodeLlamaCpp();
  const lcWhy = opts.args.includes('--no-llama-cpp') ? 'skipped (--no-llama-cpp)' : 'node-llama-cpp not installed (npm i --no-save -E node-llama-cpp@3.21.1, or BSTAR_NODE_LLAMA_CPP=<dir>)';
  say(`sample --model: ${newTokens} new tokens per sequence after a ${PROMPT_LEN}-token prompt, temperature 1, eos ignored; bstar at ${threads} threads, llama.cpp at its fastest of 1..${threads}; bstar fp32 next to llama.cpp on GGUF f32, bstar bf16 next to llama.cpp on GGUF f16; ratio = bstar / llama.cpp decode tokens/s`);
  const rows: ModelSampleRow[] = [];
  for (const dir of models) {
    const cfgFile = path.join(dir, 'config.json');
    const cfg = parseModelConfig(JSON.parse(readFileSync(cfgFile, 'utf8')), cfgFile);
    const V = cfg.vocab_size;
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-bench-gguf-'));
    try {
      const ggufs = new Map<string, string>();
      if (mod) {
        // the same weights and full vocabulary as the bstar side, written as `bstar export gguf` writes them
        const ck = loadCheckpoint(dir, { tokenizer: false, trainingState: false });
        const tok = fullVocabTokenizer(V);
        for (const type of ['f32', 'f16'] as const) {
          const file = path.join(tmp, `model-${type}.gguf`);
          const { metadata, tensors } = ggufFromCheckpoint(ck.config, ck.weights, tok, { type });
          writeGguf(file, metadata, tensors);
          ggufs.set(type, file);
        }
      }
      say(`  ${dir} (${cfg.model_type}, hidden ${cfg.hidden_size}, ${cfg.num_hidden_layers} layers, vocab ${V})`);
      for (const batch of batches) {
        for (const precision of precisions) {
          const gguf = precision === 'fp32' ? 'f32' : 'f16';
          const r = spawnSync(process.execPath, [path.join(here, 'sample_model.js'), dir, String(batch), String(newTokens), String(threads), precision], { encoding: 'utf8', timeout: 3_600_000, maxBuffer: 1 << 24 });
          let bstar: ModelSampleRow['bstar'];
          if (r.status !== 0) bstar = `failed (${tail(r.stderr || r.error?.message)})`;
          else {
            const j = JSON.parse(tail(r.stdout)) as { tokensPerSecond: number; decodeTokensPerSecond: number; ttftMs: number; generated: number; peakRssBytes: number; kernels: { isa: string; bf16: string } };
            bstar = { tokensPerSecond: j.tokensPerSecond, decodeTokensPerSecond: j.decodeTokensPerSecond, ttftMs: j.ttftMs, tokens: j.generated, peakRssBytes: j.peakRssBytes, isa: j.kernels.isa, bf16: j.kernels.bf16 };
            const at = r.stderr.indexOf('kernel profile');
            if (at >= 0) say(`    ${r.stderr.slice(at).trimEnd()}`);
          }
          // llama.cpp at 1..threads threads, the fastest taken: its spinning thread barrier collapses when
          // another process takes a core (as PyTorch's OpenMP does above), so this is its best on a shared machine
          let llamaCpp: ModelSampleRow['llamaCpp'] = lcWhy;
          for (let th = threads; mod && th >= 1; th--) {
            const script = path.resolve(here, '../../bench/llama_cpp_sample.mjs');
            const l = spawnSync(process.execPath, [script, mod, JSON.stringify({ model: ggufs.get(gguf), prompts: benchPrompts(batch, V), newTokens, threads: th })], { encoding: 'utf8', timeout: 3_600_000 });
            if (l.status !== 0) {
              if (typeof llamaCpp === 'string') llamaCpp = `failed (${tail(l.stderr || `exit ${l.status}`)})`;
              continue;
            }
            const j = JSON.parse(tail(l.stdout)) as { tokens: number; tokensPerS: number; decodeTokensPerS: number; ttftMs: number };
            if (typeof llamaCpp === 'string' || j.decodeTokensPerS > llamaCpp.decodeTokensPerSecond) {
              llamaCpp = { tokensPerSecond: j.tokensPerS, decodeTokensPerSecond: j.decodeTokensPerS, ttftMs: j.ttftMs, tokens: j.tokens, threads: th };
            }
          }
          const ratio = typeof bstar !== 'string' && typeof llamaCpp !== 'string' ? bstar.decodeTokensPerSecond / llamaCpp.decodeTokensPerSecond : null;
          rows.push({ model: dir, batch, threads, precision, gguf, bstar, llamaCpp, ratio });
          const f = (m: ModelSide | string) => (typeof m === 'string' ? m : `${m.decodeTokensPerSecond.toFixed(1).padStart(7)} tok/s decode (${m.tokensPerSecond.toFixed(1)} overall, TTFT ${m.ttftMs.toFixed(0)} ms, ${m.tokens} tokens)`);
          say(`    batch ${String(batch).padStart(3)}, ${threads} thr: bstar ${precision}${typeof bstar === 'string' || precision === 'fp32' ? '' : ` (${bstar.bf16})`}: ${f(bstar)}`);
          say(`    batch ${String(batch).padStart(3)}, ${typeof llamaCpp === 'string' ? threads : llamaCpp.threads} thr: llama.cpp ${gguf}: ${f(llamaCpp)}`);
          say(`    ratio bstar ${precision} / llama.cpp ${gguf} (batch ${batch}, ${threads} thr): ${ratio === null ? 'not available' : `${ratio.toFixed(2)}×`}`);
        }
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return { newTokens, threads, promptTokens: PROMPT_LEN, rows };
}

export async function run(opts: BenchOptions): Promise<unknown> {
  if (opts.args.includes('--model')) return runModels(opts);
  const batches = (arg(opts.args, '--batches') ?? '1,32,256').split(',').map(Number);
  const newTokens = Number(arg(opts.args, '--new-tokens') ?? 128);
  const threads = Number(arg(opts.args, '--threads') ?? 2);
  const withTorch = !opts.args.includes('--no-torch');
  const k = getKernels();
  k.setThreads(threads);
  const alphabet = Array.from({ length: TINY.vocab_size - 4 }, (_, i) => String.fromCodePoint(0x41 + i));
  const tok = new CharTokenizer(alphabet);
  const weights = weightsFor(TINY, 1);
  const rows: Row[] = [];
  for (const batch of batches) {
    const rng = new Rng(batch);
    const reqs = Array.from({ length: batch }, () => ({ prompt: [TINY.bos_token_id as number, ...Array.from({ length: PROMPT_LEN - 1 }, () => 4 + rng.int(TINY.vocab_size - 4))] }));
    // The KV arena is allocated (and its pages touched) before the clock starts, as the PyTorch script
    // allocates and zeroes its caches before its timer.
    const sampler = new Sampler(TINY, weights, tok, { kernels: k, maxBatch: batch, kvBudgetTokens: batch * (PROMPT_LEN + newTokens), preallocate: true });
    const { stats } = sampler.generate(reqs, { seed: 0, temperature: 1, maxNewTokens: newTokens, ignoreEos: true });
    const tps = stats.generatedTokens / (stats.totalMs / 1000);
    const t = withTorch ? torchBest(batch, newTokens, threads) : 'skipped (--no-torch)';
    const ok = typeof t !== 'string';
    rows.push({
      batch,
      tokens: stats.generatedTokens,
      bstarTokensPerS: Math.round(tps),
      bstarTtftMs: Math.round(stats.timeToFirstTokenMs * 10) / 10,
      bstarPeakKvMiB: Math.round((stats.peakKvBytes / 2 ** 20) * 100) / 100,
      torchTokensPerS: ok ? Math.round(t.tokensPerS) : 'not available',
      torchTtftMs: ok ? Math.round(t.ttftMs * 10) / 10 : 'not available',
      torchThreads: ok ? t.threads : 'not available',
      ratio: ok ? Math.round((tps / t.tokensPerS) * 100) / 100 : 'not available',
    });
    if (!ok && !opts.json) console.log(`pytorch reference not available for batch ${batch}: ${t}`);
  }
  // llama.cpp reference: one sequence on the same weights (node-llama-cpp decodes one sequence per
  // context here; compare with bstar batch 1), at the requested threads and at 1 thread: on a busy
  // shared machine llama.cpp's spinning thread barrier can collapse with 2 threads, so both are shown.
  const rng = new Rng(1);
  const prompt = [TINY.bos_token_id as number, ...Array.from({ length: PROMPT_LEN - 1 }, () => 4 + rng.int(TINY.vocab_size - 4))];
  const llamaCpp: Record<string, unknown>[] = [];
  for (const th of [...new Set([threads, 1])]) {
    k.setThreads(th);
    const one = new Sampler(TINY, weights, tok, { kernels: k, maxBatch: 1, kvBudgetTokens: PROMPT_LEN + newTokens })
      .generate([{ prompt }], { seed: 0, temperature: 1, maxNewTokens: newTokens, ignoreEos: true }).stats;
    const lc = opts.args.includes('--no-llama-cpp') ? 'skipped (--no-llama-cpp)' : llamaCppRun(weights, tok, prompt, newTokens, th);
    const bstarOne = one.generatedTokens / (one.totalMs / 1000);
    llamaCpp.push(typeof lc === 'string'
      ? { threads: th, available: false, reason: lc }
      : { threads: th, available: true, tokens: lc.tokens, llamaCppTokensPerS: Math.round(lc.tokensPerS), bstarTokensPerS: Math.round(bstarOne), ratio: Math.round((bstarOne / lc.tokensPerS) * 100) / 100 });
    if (typeof lc === 'string') break;
  }
  k.setThreads(threads);
  const info = k.info();
  if (!opts.json) {
    for (const r of llamaCpp) {
      if (r.available) console.log(`llama.cpp (node-llama-cpp 3.21.1, same weights as GGUF f32, batch 1): ${JSON.stringify(r)}`);
      else console.log(`llama.cpp reference not available: ${r.reason}`);
    }
    console.log(`sample: tiny Llama (C=256, L=4, H=4, F=768, V=64), prompt ${PROMPT_LEN}, ${newTokens} new tokens, ${threads} threads, backend ${info.backend}/${info.isa}`);
    console.log('batch  tokens   bstar tok/s  ttft ms  peak KV MiB   torch tok/s  torch ttft ms  torch thr   ratio');
    for (const r of rows) {
      console.log(
        `${String(r.batch).padStart(5)}  ${String(r.tokens).padStart(6)}  ${String(r.bstarTokensPerS).padStart(12)}  ${String(r.bstarTtftMs).padStart(7)}  ${String(r.bstarPeakKvMiB).padStart(11)}  ${String(r.torchTokensPerS).padStart(12)}  ${String(r.torchTtftMs).padStart(13)}  ${String(r.torchThreads).padStart(9)}  ${String(r.ratio).padStart(6)}`,
      );
    }
  }
  return { backend: info, newTokens, threads, rows, llamaCpp };
}
