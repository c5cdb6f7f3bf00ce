// What a method reads of the run's settings, in methods' own types. The run configuration (src/run/config)
// is a schema for files and flags; `methodOptions` there maps a validated config onto this shape once,
// with grids resolved to values and the selection/optimizer settings of each phase spelled out, so
// methods never import the schema (arrows run one way: methods ← run).
//
// Names follow the paper: M = queriesPerIteration, K = samplesPerQuery, N = targetSamples, T = sampling
// temperature, τ = selection threshold.
import type { OptimizerSpec } from '../policy/types.js';
import type { StepAggregate, RewardCombine } from '../reward/combine.js';
import type { DivergenceSettings } from '../policy/divergence.js';
import type { ThresholdOptions } from './search.js';
import type { SearchStrategy } from './searchStrategy.js';
import type { UniqueBy } from './select.js';

/**
 * Selection and threshold-search options on one pool (training pool or dev subset), without what the
 * task supplies at run time (`equations` for uniqueBy 'equations', the `gold` map for injectGold).
 */
export type SelectionSettings = Omit<ThresholdOptions, 'equations' | 'gold'>;

/** The optimizer of one training phase, less the schedule length (known only when the phase starts). */
export type PhaseOptimizer = Omit<OptimizerSpec, 'totalSteps'>;

export interface MethodOptions {
  /** Every random choice derives from it. */
  seed: number;
  iterations: number;
  /** M */
  queriesPerIteration: number;
  /** K */
  samplesPerQuery: number;
  /** N: selected samples wanted per iteration. */
  targetSamples: number;
  sampling: {
    /** T of methods without search (0 = greedy). */
    temperature: number;
    topP: number;
    maxTokens: number;
  };
  reward: {
    combine: RewardCombine;
    /** PRM step scores → one score: min (paper) or mean (graded). */
    aggregate: StepAggregate;
  };
  selection: {
    /** τ of methods without search: keep reward > τ. */
    threshold: number;
    /** Extra queries drawn per iteration to replace zero-signal ones (0 = off). */
    zeroSignalRefill: number;
    /** The gold solution joins every pool (official option). */
    injectGold: boolean;
    uniqueBy: UniqueBy;
    /** Options on the iteration's training pool and on the dev subset of the search. */
    onPool: SelectionSettings;
    onDev: SelectionSettings;
  };
  search: {
    /** The T grid, values in order. */
    temperatures: readonly number[];
    /** K on the dev subset. */
    samplesPerQuery: number;
    /** 'pool' (official): keep T from the dev search, re-choose τ on the training pool. */
    thresholdSearchOn: 'dev' | 'pool';
    /** grid (paper): every T on every dev query; halving: successive halving within `budget`. */
    strategy: SearchStrategy;
    /** halving: the fraction of the full grid's dev samplings it may spend. */
    budget: number;
  };
  sft: {
    /** SFT examples per gold problem (tasks with several solution orders). */
    goldVariants: number;
    /** Epochs the SFT's one cosine schedule is planned for (self-training may start mid-schedule). */
    epochs: number;
    batchSize: number;
    optimizer: PhaseOptimizer;
  };
  train: {
    batchSize: number;
    /** Optimizer steps per iteration, or null when epochsPerIteration decides. */
    stepsPerIteration: number | null;
    epochsPerIteration: number | null;
    optimizer: PhaseOptimizer;
  };
  /** The training loop's divergence guard (stop or warn), for SFT and self-training. */
  divergence: DivergenceSettings;
  eval: {
    /** K and S of Pass@K, Pass@K-S, Best-of-K, Reward@K-S. */
    k: number;
    s: number;
    /** Samples drawn per test query (≥ k). */
    samples: number;
    temperature: number;
    ciLevel: number;
    bootstrapResamples: number;
  };
}
