// `bstar serve <checkpoint>`: an OpenAI-compatible server (see src/serve/server.ts, docs/interop.md).
//   bstar serve runs/x/checkpoints/3 --port 8000            # http://127.0.0.1:8000/v1, /metrics, /health
// SIGTERM or SIGINT drains: new requests are refused, the accepted ones finish, then the process exits 0.
import type { Command } from 'commander';
import { loadCheckpoint } from '../model/checkpoint.js';
import { BstarServer } from '../serve/server.js';
import { ApiError } from '../serve/openai.js';

function int(name: string, min: number): (v: string) => number {
  return (v: string) => {
    const x = Number(v);
    if (!Number.isSafeInteger(x) || x < min) throw new ApiError(400, `--${name} expects an integer ≥ ${min}, found "${v}"`);
    return x;
  };
}

export function register(program: Command): void {
  program
    .command('serve <checkpoint>')
    .description('OpenAI-compatible HTTP server (/v1/completions, /v1/chat/completions, /v1/models, /health)')
    .option('--host <addr>', 'address to bind (default loopback only)', '127.0.0.1')
    .option('--port <int>', 'port (0 = any free port)', int('port', 0), 8000)
    .option('--model-name <s>', 'the model id clients pass', 'bstar')
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" (default: $BSTAR_API_KEY, else none)')
    .option('--max-concurrent <int>', 'requests queued or running at once; more get 429', int('max-concurrent', 1), 256)
    .option('--max-batch <int>', 'sequences decoded together', int('max-batch', 1), 64)
    .option('--max-n <int>', 'most completions per request', int('max-n', 1), 64)
    .option('--max-tokens <int>', 'largest max_tokens accepted (default min(1024, context - 1))', int('max-tokens', 1))
    .option('--max-body-bytes <int>', 'largest request body', int('max-body-bytes', 1), 1 << 20)
    .option('--queue-timeout-ms <int>', 'a request not started within this gets 503', int('queue-timeout-ms', 1), 120_000)
    .option('--seed <int>', 'seed for requests that give none', int('seed', 0), 0)
    .option('--max-logprobs <int>', 'most top logprobs per token a request may ask (completions logprobs, chat top_logprobs)', int('max-logprobs', 0), 20)
    .option('--grace-ms <int>', 'on SIGTERM/SIGINT: stop accepting, and give the accepted requests this long to finish (a second signal: stop now)', int('grace-ms', 0), 600_000)
    .option('--inject-fault-every <int>', 'testing aid: answer every k-th generation request with --inject-fault-status', int('inject-fault-every', 1))
    .option('--inject-fault-status <int>', 'status of injected faults', int('inject-fault-status', 400), 503)
    .action(async (checkpoint: string, o: {
      host: string; port: number; modelName: string; apiKey?: string; maxConcurrent: number; maxBatch: number; maxN: number; maxTokens?: number; maxLogprobs: number;
      maxBodyBytes: number; queueTimeoutMs: number; seed: number; graceMs: number; injectFaultEvery?: number; injectFaultStatus: number;
    }) => {
      const ck = loadCheckpoint(checkpoint, { trainingState: false });
      if (!ck.tokenizer) throw new ApiError(400, `${checkpoint}: no tokenizer.json; serve needs the tokenizer files`);
      const server = new BstarServer(ck.config, ck.weights, ck.tokenizer, {
        host: o.host, port: o.port, modelName: o.modelName, apiKey: o.apiKey ?? process.env.BSTAR_API_KEY ?? null,
        maxConcurrent: o.maxConcurrent, maxBatch: o.maxBatch, maxN: o.maxN, maxTokens: o.maxTokens, maxLogprobs: o.maxLogprobs, maxBodyBytes: o.maxBodyBytes,
        queueTimeoutMs: o.queueTimeoutMs, seed: o.seed,
        faults: o.injectFaultEvery ? { every: o.injectFaultEvery, status: o.injectFaultStatus } : null,
        log: (l) => console.error(l),
      });
      const port = await server.listen();
      console.log(JSON.stringify({ listening: `http://${o.host}:${port}/v1`, model: o.modelName, pid: process.pid }));
      // SIGTERM/SIGINT: drain (no new requests; the accepted ones finish), then exit; a second signal stops now
      await new Promise<void>((resolve) => {
        let signals = 0;
        const stop = (sig: NodeJS.Signals) => {
          if (++signals === 1) {
            console.error(`bstar serve: ${sig}: draining ${server.pending} accepted request(s), then exiting (${sig} again to stop now)`);
            void server.close(o.graceMs).then(resolve);
          } else void server.close(0).then(resolve);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      console.log(JSON.stringify({ stopped: true, ...server.stats }));
    });
}
