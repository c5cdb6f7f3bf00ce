// `bstar generate`: sample from a checkpoint directory (HF layout with tokenizer files).
//   bstar generate --checkpoint runs/x/checkpoints/3 --prompt "12+30=" --n 4 --temperature 0.8 --max-new-tokens 64
import type { Command } from 'commander';
import { loadCheckpoint } from '../model/checkpoint.js';
import { Sampler, SamplingError } from '../model/sampler.js';

function num(name: string): (v: string) => number {
  return (v: string) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new SamplingError(`--${name} expects a number, found "${v}"`);
    return x;
  };
}

const DEFAULT_MAX_NEW_TOKENS = 64;

export function register(program: Command): void {
  program
    .command('generate')
    .description('sample completions from a checkpoint (prints one JSON line per sample)')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory (config.json, model.safetensors, tokenizer.json)')
    .requiredOption('--prompt <text...>', 'one or more prompts')
    .option('--n <int>', 'samples per prompt (positive integer)', num('n'), 1)
    .option('--temperature <T>', 'sampling temperature >= 0; 0 = greedy', num('temperature'), 0)
    .option('--top-p <p>', 'nucleus sampling mass in (0, 1]', num('top-p'), 1)
    .option('--top-k <k>', 'keep the k most likely tokens; 0 = off', num('top-k'), 0)
    .option('--max-new-tokens <int>', 'tokens to generate at most (positive integer; the prompt plus these must fit the context); default 64, or what fits the context when less', num('max-new-tokens'))
    .option('--stop <s...>', 'stop strings')
    .option('--seed <int>', 'run seed (non-negative integer)', num('seed'), 0)
    .action((o: { checkpoint: string; prompt: string[]; n: number; temperature: number; topP: number; topK: number; maxNewTokens?: number; stop?: string[]; seed: number }) => {
      const ck = loadCheckpoint(o.checkpoint, { trainingState: false });
      if (!ck.tokenizer) throw new SamplingError(`${o.checkpoint}: no tokenizer.json; generate needs the tokenizer files`);
      // The same policy as the run plan and serve: a completion budget that does not fit the context after
      // the prompt is refused, not silently cut short.
      const ctx = ck.config.max_position_embeddings;
      const lengths = o.prompt.map((p) => ck.tokenizer!.encode(p, { addBos: true }).length);
      const room = Math.min(...lengths.map((n) => ctx - n));
      const maxNewTokens = o.maxNewTokens ?? Math.max(1, Math.min(DEFAULT_MAX_NEW_TOKENS, room));
      lengths.forEach((n, i) => {
        if (o.maxNewTokens !== undefined && n + o.maxNewTokens > ctx) {
          throw new SamplingError(
            `--max-new-tokens ${o.maxNewTokens}: prompt ${i + 1} has ${n} tokens (with BOS), so at most ${Math.max(0, ctx - n)} new tokens fit the context (max_position_embeddings ${ctx})`,
          );
        }
      });
      const sampler = new Sampler(ck.config, ck.weights, ck.tokenizer);
      const { samples } = sampler.generate(o.prompt.map((prompt) => ({ prompt })), {
        seed: o.seed, temperature: o.temperature, topP: o.topP, topK: o.topK, maxNewTokens, stop: o.stop, n: o.n,
      });
      for (const group of samples) {
        for (const s of group) {
          console.log(JSON.stringify({ prompt: o.prompt[s.requestIndex], sample: s.sampleIndex, text: s.text, finishReason: s.finishReason, logprob: s.logprob, tokens: s.tokens }));
        }
      }
    });
}
