// `npm run bench -- sample [--json] [--batches 1,32,256] [--new-tokens 128] [--threads 2] [--no-torch]`
// Sampling throughput of the KV-cache sampler on the default tiny model (hidden 256, 4 layers,
// 4 heads, ffn 768, vocab 64; seeded random weights) at several numbers of concurrent sequences,
// next to PyTorch eager with a KV cache on the same model and batch (bench/torch_sample.py, run
// with /usr/bin/python3 in this same run), and the ratio. Also time to first token and peak KV
// memory. Prompts: 16 seeded random tokens each, temperature 1, eos ignored so every sequence
// decodes exactly --new-tokens tokens. When node-llama-cpp is installed (docs/interop.md), llama.cpp
// on the same weights (exported to GGUF) is measured for one sequence (`--no-llama-cpp` skips it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ggufFromCheckpoint, writeGguf } from '../src/model/gguf.js';
import { getKernels } from '../src/engine/index.js';
import { parseModelConfig, type ModelConfig } from '../src/model/config.js';
import { paramTable } from '../src/model/params.js';
import { Sampler } from '../src/model/sampler.js';
import { CharTokenizer } from '../src/tokenizer/index.js';
import { Rng } from '../src/util/rng.js';
import type { BenchOptions } from './main.js';

export const TINY: ModelConfig = parseModelConfig({
  vocab_size: 64, hidden_size: 256, intermediate_size: 768, num_hidden_layers: 4, num_attention_heads: 4,
  num_key_value_heads: 4, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: 10000,
  tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
}, 'bench/sample.ts TINY');
const PROMPT_LEN = 16;

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

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
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

export async function run(opts: BenchOptions): Promise<unknown> {
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
