// Upper bounds on every count and size of the run config. The schema (config.ts) says what a value may
// be (an integer ≥ 1); these say how large it may sensibly be, so that a typo like samplesPerQuery=1e9 or
// eval.bootstrapResamples=1e12 is one clear line naming the key, instead of a heap OOM after a minute or
// `Invalid array length` deep inside a phase. The bounds are far above any real use (the paper's values
// are in the notes); what depends on the data or the machine (the pool size, the context, the RAM) is
// checked later, by the run plan (plan.ts), with the data loaded.

import type { Config } from './config.js';

export interface Bound {
  max: number;
  /** Why this bound, shown in the error. */
  note: string;
}

const K = 1_000;
const M = 1_000_000;

/** Dotted key → bound. Every integer count or size of the config is here (a test walks the schema). */
export const BOUNDS: Readonly<Record<string, Bound>> = {
  threads: { max: 4096, note: 'threads of this machine' },
  'task.trainSize': { max: 10 * M, note: 'a cap on the training split' },
  'model.vocab_size': { max: 4 * M, note: 'the largest public vocabularies are about 256k' },
  'model.hidden_size': { max: 65_536, note: 'the largest public models use 16384' },
  'model.intermediate_size': { max: 262_144, note: 'the largest public models use about 53k' },
  'model.num_hidden_layers': { max: 1024, note: 'the largest public models have about 130' },
  'model.num_attention_heads': { max: 1024, note: 'the largest public models have 128' },
  'model.num_key_value_heads': { max: 1024, note: 'at most num_attention_heads' },
  'model.max_position_embeddings': { max: 1 << 20, note: 'a 1M-token context' },
  iterations: { max: 100 * K, note: 'the paper runs 9' },
  queriesPerIteration: { max: 10 * M, note: 'M; at most the training pool, checked with the data' },
  samplesPerQuery: { max: 100 * K, note: 'K; the paper uses 32 to 64' },
  targetSamples: { max: 1_000 * M, note: 'N; the paper uses 64000' },
  'sampling.maxTokens': { max: 1 << 20, note: 'at most the context, checked with the model' },
  'reward.prm.solutionsPerQuery': { max: 100 * K, note: 'the paper uses 15' },
  'reward.prm.completionsPerStep': { max: 100 * K, note: 'the paper uses 8' },
  'reward.prm.epochs': { max: 10 * K, note: 'the paper uses 2' },
  'selection.perQueryCap': { max: 1 * M, note: 'at most K selected per query anyway' },
  'selection.fixedSizeTarget': { max: 1_000 * M, note: 'the official code uses 67500' },
  'selection.fixedSizeDevTarget': { max: 1_000 * M, note: 'the official code uses 3550' },
  'selection.maxCap': { max: 1 * M, note: 'at most K selected per query anyway' },
  'selection.zeroSignalRefill': { max: 10 * M, note: 'at most the training pool' },
  'search.devSize': { max: 10 * M, note: 'at most the training pool, checked with the data; the paper uses 600' },
  'search.samplesPerQuery': { max: 100 * K, note: 'K_dev; the paper uses 32 to 64' },
  'sft.epochs': { max: 10 * K, note: 'the paper uses 3' },
  'sft.goldQueries': { max: 10 * M, note: 'at most the training pool' },
  'sft.goldVariants': { max: 1 * K, note: 'solution orders per problem' },
  'sft.startEpoch': { max: 10 * K, note: 'at most sft.epochs' },
  'sft.warmupSteps': { max: 1_000 * M, note: 'optimiser steps' },
  'sft.batchSize': { max: 1 * M, note: 'the paper uses 128' },
  'sft.gradAccum': { max: 1 * M, note: 'at most the batch size' },
  'train.warmupSteps': { max: 1_000 * M, note: 'optimiser steps' },
  'train.stepsPerIteration': { max: 10 * M, note: 'the paper uses 500' },
  'train.epochsPerIteration': { max: 10 * K, note: 'passes over the selection' },
  'train.batchSize': { max: 1 * M, note: 'the paper uses 128' },
  'train.gradAccum': { max: 1 * M, note: 'at most the batch size' },
  'eval.k': { max: 100 * K, note: 'the paper uses 32' },
  'eval.s': { max: 100 * K, note: 'S ≤ K' },
  'eval.samples': { max: 100 * K, note: 'n ≥ K samples per test query' },
  'eval.testSize': { max: 10 * M, note: 'at most the split' },
  'eval.every': { max: 100 * K, note: 'iterations' },
  'eval.bootstrapResamples': { max: 1 * M, note: 'the default is 2000' },
  'policy.sampling.concurrency': { max: 10 * K, note: 'requests in flight per endpoint' },
  'policy.sampling.timeoutMs': { max: 2 ** 31 - 1, note: 'the longest timer Node can set, about 24.8 days' },
  'policy.sampling.retries': { max: 1 * K, note: 'retries per request' },
  'policy.training.timeoutMs': { max: 2 ** 31 - 1, note: 'the longest timer Node can set, about 24.8 days' },
  'divergence.uniformSteps': { max: 1_000 * M, note: 'optimiser steps' },
  'divergence.zeroGradSteps': { max: 1_000 * M, note: 'optimiser steps' },
  'stepRecords.allUpTo': { max: 1_000 * M, note: 'a global optimiser step' },
  'stepRecords.every': { max: 1_000 * M, note: 'global optimiser steps' },
};

export interface BoundProblem {
  path: string;
  expected: string;
  found: string;
}

function valueAt(c: Config, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o === null || typeof o !== 'object' ? undefined : (o as Record<string, unknown>)[k]), c);
}

const fmt = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US').replace(/,/g, ' ') : String(n));

/** Keys of a resolved config over their bound (none: []). */
export function boundProblems(c: Config): BoundProblem[] {
  const out: BoundProblem[] = [];
  for (const [path, b] of Object.entries(BOUNDS)) {
    const v = valueAt(c, path);
    if (typeof v === 'number' && v > b.max) out.push({ path, expected: `at most ${fmt(b.max)} (${b.note})`, found: String(v) });
  }
  return out;
}
