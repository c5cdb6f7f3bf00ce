// `bstar demo` (what `npm start` runs until the self-improvement loop exists): train the default
// tiny llama on generated additions and show the loss falling, tokens/s and greedy answers.
import type { Command } from 'commander';
import { getKernels } from '../engine/index.js';
import { tinyLlamaConfig } from '../model/config.js';
import { DEMO_VOCAB, runDemo } from '../train/demo.js';

function intArg(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} expected an integer ≥ ${min}, found ${JSON.stringify(v)}`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('train the default tiny llama on two-digit additions for a few hundred steps (example: bstar demo --steps 500)')
    .option('--steps <n>', 'optimizer steps (integer ≥ 1; default 500, 200 on the TS fallback)', intArg('steps', 1))
    .option('--batch <n>', 'problems per step (integer ≥ 1)', intArg('batch', 1), 64)
    .option('--lr <x>', 'peak learning rate, cosine schedule with warmup (number > 0)', (v) => {
      const x = Number(v);
      if (!(x > 0 && Number.isFinite(x))) throw new Error(`--lr expected a number > 0, found ${JSON.stringify(v)}`);
      return x;
    }, 1e-3)
    .option('--seed <n>', 'seed for init and data (integer ≥ 0)', intArg('seed', 0), 1)
    .action((o: { steps?: number; batch: number; lr: number; seed: number }) => {
      const kernels = getKernels();
      // The TS fallback is ~100× slower than the native kernels: shrink the model so the demo still ends.
      const small = kernels.name === 'ts';
      if (small) console.log('bstar demo: native kernels unavailable, training a smaller model on the TypeScript kernels');
      runDemo({
        steps: o.steps ?? (small ? 200 : 500), batch: o.batch, lr: o.lr, seed: o.seed, evalProblems: 100, kernels,
        config: small
          ? tinyLlamaConfig(DEMO_VOCAB, { hidden_size: 64, intermediate_size: 192, num_hidden_layers: 2, pad_token_id: 0, max_position_embeddings: 16 })
          : undefined,
      });
    });
}
