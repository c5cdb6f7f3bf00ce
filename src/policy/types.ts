// The Policy contract: everything a self-improvement method needs from a language model, and nothing
// about how it is computed. Methods (src/methods) talk only to a Policy; the local engine (local.ts)
// implements it now, and other backends (an OpenAI-compatible sampling fleet, an external trainer) plug
// in behind the same interface.
//
// A Policy is composed of two sides that can live in different places:
//   SamplingBackend   sample K completions per prompt, score completions (log-probabilities)
//   TrainingBackend   optimizer steps on (prompt, completion) examples, optimizer/schedule control,
//                     checkpoints (save/load) and in-memory snapshots (snapshot/restore)
// composePolicy (compose.ts) glues a sampling side to a training side: after training changes the
// weights, the sampling side is told (syncWeights) before it samples again. The local backend shares
// one set of weights between both sides, so its sync is free.
//
// Determinism contract (what exact resume relies on): with the same weights, seed and request ids,
// sample() returns the same completions whatever the batching or thread count; train() on the same
// examples in the same order from the same state gives bit-identical weights and optimizer state on
// the same thread count.

import type { TorchDtype } from '../model/config.js';
import type { OptimizerSpec } from '../train/optimizer.js';
import type { StepResult } from '../train/trainer.js';

// ----------------------------------------------------------------------------------------------
// sampling side

export interface SampleParams {
  /** Completions per prompt (K). */
  n: number;
  /** ≥ 0; 0 = greedy (then n should be 1: greedy samples are identical). */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 = off. */
  topP: number;
  /** Most completion tokens per sample. */
  maxTokens: number;
  /** A completion ends when its text contains one of these (the text is cut before it). */
  stop: readonly string[];
  /** Run seed; each (request id, sample index) derives its own random stream from it. */
  seed: number;
}

export interface SampleRequest {
  /** Names the request's random streams: the same id + seed gives the same samples. Unique per call. */
  id: string;
  /** The full prompt text (task template already applied). */
  prompt: string;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface Completion {
  /** Decoded completion (no prompt, no eos, cut before a matched stop string). */
  text: string;
  /** Completion tokens generated (eos included when it ended the sample) = completionIds.length when known. */
  tokens: number;
  /** Σ log p(token) under the model (T = 1, untruncated). */
  logprob: number;
  finishReason: FinishReason;
  /**
   * The prompt as the sampler fed it (BOS included) and the generated ids exactly as sampled (eos
   * included when it ended the sample; a matched stop string's tokens included although `text` is cut
   * before it). Training on this completion uses exactly these ids. Absent only when a fleet server
   * returned no ids and no tokenizer was given to encode them (see openai.ts).
   */
  promptIds?: readonly number[];
  completionIds?: readonly number[];
  /** log p(token) under the model (T = 1) per completion id; Σ = logprob. Absent when the server gave none. */
  tokenLogprobs?: readonly number[];
}

export interface SampleStats {
  /** Prompt tokens processed (prefill) and completion tokens generated. */
  promptTokens: number;
  generatedTokens: number;
  ms: number;
}

export interface SampleOutput {
  /** completions[r][j]: sample j of request r, in request order. */
  completions: Completion[][];
  stats: SampleStats;
}

/** Progress callback: `done` of `total` completions finished so far. */
export type ProgressFn = (done: number, total: number) => void;

export interface ScoreRequest {
  prompt: string;
  completion: string;
}

/** A token sequence and the positions after which the next token's distribution is wanted. */
export interface NextTokenRequest {
  ids: readonly number[];
  /** Indices into ids: the distribution of the token that would follow ids[0..p]. */
  positions: readonly number[];
}

export interface SamplingBackend {
  /** Short name for logs ('local', 'openai:<url>', …). */
  readonly name: string;
  sample(requests: readonly SampleRequest[], params: SampleParams, onProgress?: ProgressFn): Promise<SampleOutput>;
  /** log p(completion | prompt) per completion token, in order. */
  logprobs(items: readonly ScoreRequest[]): Promise<number[][]>;
  /**
   * log p(candidate | ids[0..p]) for each requested position p of each item and each candidate token:
   * out[i][j][c]; null for a position past the backend's context (not scored). A PRM reads its label
   * tokens' probabilities at its step tags this way.
   */
  nextTokenLogprobs(items: readonly NextTokenRequest[], candidates: readonly number[]): Promise<(number[] | null)[][]>;
  /** Serve the weights the training side holds now (called by composePolicy after training). */
  syncWeights(from: TrainingBackend): Promise<void>;
}

// ----------------------------------------------------------------------------------------------
// training side

/**
 * One training example. A sampled completion carries its ids and is trained on exactly those (the
 * loss on `completionIds`, after `promptIds`); text is never re-encoded for it. Without ids (gold
 * solutions, an injected gold sample) the backend encodes the text once: BOS + prompt, completion + eos.
 * The text is always there for trainers that read text (the external trainer's JSONL) and for logs.
 */
export interface TrainExample {
  prompt: string;
  /** The target text (the loss is on the completion's tokens only). */
  completion: string;
  promptIds?: readonly number[];
  completionIds?: readonly number[];
  /**
   * Token-level supervision (needs the ids): the loss only at these completion indices, each to its own
   * target token with its own weight, instead of next-token prediction over the completion. A PRM trains
   * its label tokens at its step tags this way (a soft label: two targets at one index).
   */
  targets?: readonly { at: number; token: number; weight: number }[];
}

/** The one optimizer-settings type (train/optimizer.ts): what configureOptimizer takes, unrenamed down to the trainer. */
export type { OptimizerSpec } from '../train/optimizer.js';

/**
 * One optimizer step's outcome (the trainer's StepResult: step, loss, gradNorm, lr, tokens, positions,
 * padded, weightMaxAbs, vocabSize). A backend that trains elsewhere reports NaN for what it cannot know.
 */
export type TrainStepResult = StepResult;

/** What a training backend keeps beside the weights, for exact resume. */
export interface OptimizerStatus {
  /** Steps taken since the optimizer was last reset. */
  step: number;
  spec: OptimizerSpec;
}

/** An in-memory copy of the weights (and, optionally, optimizer state), restorable later. Opaque. */
export interface PolicySnapshot {
  readonly kind: string;
  readonly withOptimizer: boolean;
}

export interface TrainingBackend {
  readonly name: string;
  /**
   * Starts a new optimizer with `spec`: fresh moments and step 0 when `reset` (or when none exists yet),
   * otherwise keeps moments and step and only replaces the spec (the schedule continues from its step).
   */
  configureOptimizer(spec: OptimizerSpec, opts: { reset: boolean }): Promise<void>;
  optimizerStatus(): OptimizerStatus | null;
  /** One optimizer step over `batch` (split into micro-batches of spec.microBatch rows). */
  train(batch: readonly TrainExample[]): Promise<TrainStepResult>;
  /** Mean completion-token cross-entropy without changing anything. */
  evalLoss(batch: readonly TrainExample[]): Promise<number>;
  /**
   * Writes a checkpoint directory (HF layout + optimizer state unless `optimizer: false`) atomically;
   * `state` is the caller's JSON-able resume state (iteration, phase, RNG, data cursor, …) stored beside it.
   * Weights are stored in float32 unless `dtype` says otherwise.
   */
  save(dir: string, state: unknown, opts?: SaveOptions): Promise<void>;
  /** Loads weights (and optimizer state when present) from a checkpoint dir; returns the caller's state (null when none). */
  load(dir: string): Promise<unknown>;
  snapshot(opts: { optimizer: boolean }): Promise<PolicySnapshot>;
  restore(s: PolicySnapshot): Promise<void>;
}

/** Options of save(): keep the optimizer state (default true); the stored weights' dtype (default float32). */
export interface SaveOptions {
  optimizer?: boolean;
  dtype?: TorchDtype;
}

// ----------------------------------------------------------------------------------------------
// the composed policy (what methods see)

export interface Policy {
  readonly sampling: SamplingBackend;
  readonly training: TrainingBackend;
  sample(requests: readonly SampleRequest[], params: SampleParams, onProgress?: ProgressFn): Promise<SampleOutput>;
  logprobs(items: readonly ScoreRequest[]): Promise<number[][]>;
  nextTokenLogprobs(items: readonly NextTokenRequest[], candidates: readonly number[]): Promise<(number[] | null)[][]>;
  configureOptimizer(spec: OptimizerSpec, opts: { reset: boolean }): Promise<void>;
  optimizerStatus(): OptimizerStatus | null;
  train(batch: readonly TrainExample[]): Promise<TrainStepResult>;
  evalLoss(batch: readonly TrainExample[]): Promise<number>;
  save(dir: string, state: unknown, opts?: SaveOptions): Promise<void>;
  load(dir: string): Promise<unknown>;
  snapshot(opts: { optimizer: boolean }): Promise<PolicySnapshot>;
  restore(s: PolicySnapshot): Promise<void>;
}

/** A policy backend refused a request: names the backend, the operation and what was wrong. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}
