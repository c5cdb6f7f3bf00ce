// `npm run bench -- serve [--json] [--clients 1,8,32] [--seconds S] [--checkpoint dir] [--max-tokens N] [--stream]`:
// a bounded loopback load test of bstar serve (in-process server on 127.0.0.1, N concurrent clients
// for S seconds each): requests/s, completion tokens/s, latency p50/p90/p99, and every request
// accounted for. With --stream (SSE token streaming): time to first token (TTFT) and inter-token
// latency (ITL: the gaps between a choice's successive chunks) p50/p99, and time per output token (TPOT:
// per request, from its first to its last chunk over its tokens − 1). Every request asks for
// max_tokens tokens (ignore_eos), so each gives the same number of tokens. The engine decodes up to 8
// tokens per native call, and the server sends what a call decoded before the next: chunks come in
// bursts, so ITL's median can be ~0 while its p99 holds the gaps between bursts.
//
// Reference, measured in the same run: the Sampler called directly (no HTTP, no JSON, no event-loop
// turns) on one request of the same shape, its wall time per token; the table prints TPOT p50 / that
// (the server's cost per token over the bare engine).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { Sampler } from '../src/model/sampler.js';
import { BstarServer } from '../src/serve/server.js';
import { runLoadTest } from '../src/serve/loadtest.js';
import { arg } from './args.js';
import type { BenchOptions } from './main.js';

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

export async function run(opts: BenchOptions): Promise<unknown> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = arg(opts.args, '--checkpoint') ?? path.resolve(here, '../../test/fixtures/bstar_tiny');
  const seconds = Number(arg(opts.args, '--seconds') ?? '10');
  const stream = opts.args.includes('--stream');
  const ck = loadCheckpoint(dir, { trainingState: false });
  const ctx = ck.config.max_position_embeddings;
  const maxTokens = Number(arg(opts.args, '--max-tokens') ?? String(Math.min(32, ctx - 8)));
  const prompt = (c: number, i: number) => `${(c * 7 + i) % 50}+${(c + 3 * i) % 50}=`;
  const body = (c: number, i: number) => ({ model: 'bstar', prompt: prompt(c, i), max_tokens: maxTokens, temperature: 0.8, seed: c * 100000 + i, ignore_eos: true, ...(stream ? { stream: true } : {}) });

  // the reference: one request straight through the Sampler, wall time per token (p50 of 20)
  const sampler = new Sampler(ck.config, ck.weights, ck.tokenizer!);
  const perToken: number[] = [];
  for (let rep = 0; rep < 20; rep++) {
    const t0 = performance.now();
    const out = sampler.generate([{ prompt: prompt(rep, rep) }], { seed: rep, temperature: 0.8, maxNewTokens: maxTokens, ignoreEos: true });
    perToken.push((performance.now() - t0) / out.stats.generatedTokens);
  }
  const directMsPerToken = q(perToken, 0.5);

  const results: unknown[] = [];
  if (!opts.json) console.log(`serve bench: ${dir}, ${maxTokens} tokens per request${stream ? ', streamed' : ''}, ${seconds} s per row; direct Sampler (reference): ${directMsPerToken.toFixed(3)} ms/token (p50 of 20 requests)`);
  for (const clients of (arg(opts.args, '--clients') ?? '1,8,32').split(',').map(Number)) {
    const server = new BstarServer(ck.config, ck.weights, ck.tokenizer!, { port: 0 });
    const port = await server.listen();
    const r = await runLoadTest({ baseUrl: `http://127.0.0.1:${port}/v1`, clients, durationMs: seconds * 1000, body });
    await server.close(5000);
    const row = { ...r, batches: server.stats.batches, meanSequencesPerBatch: server.stats.sequences / Math.max(1, server.stats.batches), tpotOverDirect: r.tpotMs ? r.tpotMs.p50 / directMsPerToken : null };
    results.push(row);
    if (!opts.json) {
      const lat = `p50 ${r.latencyMs.p50.toFixed(1)} ms  p99 ${r.latencyMs.p99.toFixed(1)} ms`;
      const st = r.ttftMs && r.itlMs && r.tpotMs ? `  TTFT p50 ${r.ttftMs.p50.toFixed(1)} ms p99 ${r.ttftMs.p99.toFixed(1)} ms  ITL p50 ${r.itlMs.p50.toFixed(2)} ms p99 ${r.itlMs.p99.toFixed(2)} ms  TPOT p50 ${r.tpotMs.p50.toFixed(2)} ms p99 ${r.tpotMs.p99.toFixed(2)} ms (${row.tpotOverDirect!.toFixed(1)}× direct)` : '';
      console.log(`serve  clients ${String(clients).padStart(3)}  ${r.requestsPerSecond.toFixed(1)} req/s  ${r.tokensPerSecond.toFixed(0)} tok/s  ${lat}${st}  ok ${r.ok}/${r.requests}  errors ${JSON.stringify(r.httpErrors)} transport ${r.transportErrors}  batch ${row.meanSequencesPerBatch.toFixed(1)} seqs`);
    }
  }
  return { checkpoint: dir, seconds, stream, maxTokens, directMsPerToken, results };
}
