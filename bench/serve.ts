// `npm run bench -- serve [--json] [--clients N] [--seconds S] [--checkpoint dir] [--stream]`: a bounded
// loopback load test of bstar serve (in-process server on 127.0.0.1, N concurrent clients for S
// seconds): requests/s, completion tokens/s, latency p50/p90/p99 (with --stream: SSE token streaming,
// also time to the first chunk), and every request accounted for.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { BstarServer } from '../src/serve/server.js';
import { runLoadTest } from '../src/serve/loadtest.js';
import type { BenchOptions } from './main.js';

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}

export async function run(opts: BenchOptions): Promise<unknown> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = arg(opts.args, 'checkpoint', path.resolve(here, '../../test/fixtures/bstar_tiny'));
  const seconds = Number(arg(opts.args, 'seconds', '10'));
  const stream = opts.args.includes('--stream');
  const ck = loadCheckpoint(dir, { trainingState: false });
  const results: unknown[] = [];
  for (const clients of arg(opts.args, 'clients', '1,8,32').split(',').map(Number)) {
    const server = new BstarServer(ck.config, ck.weights, ck.tokenizer!, { port: 0 });
    const port = await server.listen();
    const r = await runLoadTest({
      baseUrl: `http://127.0.0.1:${port}/v1`, clients, durationMs: seconds * 1000,
      body: (c, i) => ({ model: 'bstar', prompt: `${(c * 7 + i) % 50}+${(c + 3 * i) % 50}=`, max_tokens: 32, temperature: 0.8, seed: c * 100000 + i, ...(stream ? { stream: true } : {}) }),
    });
    await server.close(5000);
    const row = { ...r, batches: server.stats.batches, meanSequencesPerBatch: server.stats.sequences / Math.max(1, server.stats.batches) };
    results.push(row);
    if (!opts.json) {
      console.log(`serve  clients ${String(clients).padStart(3)}  ${r.requestsPerSecond.toFixed(1)} req/s  ${r.tokensPerSecond.toFixed(0)} tok/s  ` +
        `p50 ${r.latencyMs.p50.toFixed(1)} ms  p99 ${r.latencyMs.p99.toFixed(1)} ms  ${r.firstChunkMs ? `first chunk p50 ${r.firstChunkMs.p50.toFixed(1)} ms p99 ${r.firstChunkMs.p99.toFixed(1)} ms  ` : ''}ok ${r.ok}/${r.requests}  errors ${JSON.stringify(r.httpErrors)} transport ${r.transportErrors}  ` +
        `batch ${row.meanSequencesPerBatch.toFixed(1)} seqs`);
    }
  }
  return { checkpoint: dir, seconds, stream, results };
}
