// The run configuration: one typed schema with defaults for everything a run needs, validated with zod.
// Unknown keys are errors; cross-field checks sit at the end of the schema. Loading (YAML/JSON files,
// presets, `--set` overrides) and error reporting with file/line live in configLoad.ts; presets in
// presets.ts. The resolved config is saved in the run directory (serializeConfig).
//
// Names follow the paper: M = queriesPerIteration, K = samplesPerQuery, N = targetSamples,
// n* = selection.nStar ('ceil(N/M)' by default), T = sampling temperature, τ = selection.threshold.

import { z } from 'zod';
import type { MethodOptions, PhaseOptimizer } from '../methods/options.js';
import { gridValues, type ThresholdOptions } from '../methods/search.js';
import { DIVERGENCE_DEFAULTS } from '../policy/divergence.js';
import { OPTIMIZER_DEFAULTS as OD } from '../train/optimizer.js';

export const METHODS = ['sft', 'star', 'iterative-rft', 'online-rft', 'bstar'] as const;
/** The paper's tasks plus the embedded demo; the task registry is the authority (see loadConfig's taskNames). */
export const TASKS = ['arith', 'gsm8k', 'math', 'arc', 'mbpp', 'humaneval', 'apps'] as const;
/** Reward thresholds outside this range select everything or nothing for any reward the code produces. */
export const THRESHOLD_RANGE = [-2, 3] as const;
/** Sampling temperatures above this are refused as a likely typo. */
export const MAX_TEMPERATURE = 5;

const int = (min: number) => z.number().int().min(min);
const posNum = () => z.number().positive();
const finite = () => z.number().refine(Number.isFinite, 'a finite number');

/** An inclusive grid: either {from, to, step} (no floating drift, see gridValues) or explicit values. */
const GridObject = z
  .strictObject({
    from: finite().optional(),
    to: finite().optional(),
    step: posNum().optional(),
    values: z.array(finite()).optional(),
  })
  .describe('grid: {from, to, step}, {values: [...]} or a plain list');
/** A plain list is shorthand for {values: list}. */
const Grid = z.preprocess((v) => (Array.isArray(v) ? { values: v } : v), GridObject);

/**
 * The policy model. Architecture fields carry Hugging Face config.json's exact names (as src/model's
 * ModelConfig); their defaults are the project's tiny model (tinyModelConfig). With a
 * checkpoint, its config.json decides the architecture and these fields are ignored.
 */
const Model = z.strictObject({
  checkpoint: z.string().min(1).nullable().default(null).describe('Hugging Face checkpoint directory (llama: Llama 2/3.x, SmolLM2; qwen2; mistral — docs/interop.md) or hub id to start from; null = a fresh tiny model from the fields below'),
  vocab_size: int(1).nullable().default(null).describe("null = the task tokenizer's size"),
  hidden_size: int(1).default(256).describe('C: width of the residual stream'),
  intermediate_size: int(1).default(768).describe('F: width of the SwiGLU MLP'),
  num_hidden_layers: int(1).default(4).describe('L: decoder blocks'),
  num_attention_heads: int(1).default(4).describe('H: query heads; head size hidden_size/H'),
  num_key_value_heads: int(1).default(4).describe('KV heads (grouped-query attention; divides H)'),
  max_position_embeddings: int(1).default(512).describe('longest prompt + completion in tokens'),
  rms_norm_eps: posNum().default(1e-5).describe('RMSNorm epsilon'),
  rope_theta: posNum().default(10000).describe('RoPE base'),
  tie_word_embeddings: z.boolean().default(false).describe('LM head shares the embedding matrix'),
  initializer_range: posNum().default(0.02).describe('std of the normal init of a fresh model'),
  activationCheckpointing: z.enum(['auto', 'on', 'off']).default('auto').describe('keep only each layer\'s input and recompute the rest in backward (same gradients, ~1/3 more compute, far less memory); auto = on when the memory plan without it exceeds half the RAM'),
});

const Prompt = z.strictObject({
  chat: z.enum(['auto', 'on', 'off']).default('auto').describe("task prompts through the tokenizer's chat template (tokenizer_config.json chat_template) as one user turn: auto = when it has one, on = required, off = plain prompts"),
});

const Sampling = z.strictObject({
  temperature: z.number().min(0).max(MAX_TEMPERATURE).default(1.0).describe('T for methods without search (0 = greedy)'),
  topP: z.number().gt(0).max(1).default(1.0).describe('nucleus sampling mass (1 = off)'),
  maxTokens: int(1).default(64).describe('completion tokens per sample'),
  precision: z.enum(['fp32', 'bf16', 'auto']).default('fp32').describe('GEMM arithmetic of the local sampler: fp32 (bit-reproducible on every CPU), bf16 (operands rounded to bfloat16, fp32 sums), auto (bf16 where this CPU does it faster; docs/performance.md)'),
});

const Prm = z.strictObject({
  enabled: z.boolean().default(false).describe('add the PRM term to the reward (w/ RM); false = answer only (w/o RM)'),
  scorer: z.enum(['model', 'equations']).default('model').describe("model: a trained PRM; equations: rule-based step check of <<a+b=c>> annotations (arith/GSM8K format, no model)"),
  checkpoint: z.string().min(1).nullable().default(null).describe('directory of a PRM trained with `bstar prm train` (needed when scorer is model)'),
  solutionsPerQuery: int(1).default(15).describe('MATH-Shepherd annotation: solutions sampled per query'),
  completionsPerStep: int(1).default(8).describe('MATH-Shepherd annotation: completions per step prefix'),
  epochs: int(1).default(2).describe('PRM training epochs'),
  lr: posNum().default(2e-6).describe('PRM learning rate'),
});

const Reward = z.strictObject({
  prm: Prm.prefault({}),
  combine: z.enum(['paper', 'official']).default('paper').describe("paper: answer + min step score in [-1, 1]; official: answer + min raw logit / 5"),
  aggregate: z.enum(['min', 'mean']).default('min').describe("step scores → one: min (paper, official; with prm.scorer equations 4 reward levels) or mean (graded: with equations, the fraction of true steps)"),
});

const Selection = z.strictObject({
  threshold: finite().default(0).describe('τ for methods without search: keep reward > τ'),
  uniqueBy: z.enum(['text', 'equations']).default('text').describe('duplicates: same completion text, or same equation sequence'),
  perQueryCap: int(1).nullable().default(null).describe('at most this many selected per query (threshold mode); null = no cap'),
  mode: z.enum(['threshold', 'fixed-size']).default('threshold').describe('fixed-size: official shared per-query cap reaching fixedSizeTarget'),
  fixedSizeTarget: z.union([z.literal('N'), int(1)]).default('N').describe("fixed-size mode: wanted selection size ('N' = targetSamples)"),
  fixedSizeDevTarget: z.union([z.literal('scaled'), int(1)]).default('scaled').describe("fixed-size mode on the dev subset ('scaled' = target × devSize / M; official: 3550)"),
  maxCap: int(1).default(64).describe('fixed-size mode: largest per-query cap tried'),
  capBeforeDedup: z.boolean().default(false).describe('official: cap, then drop duplicates (duplicates use cap slots)'),
  nStar: z.union([z.literal('ceil(N/M)'), posNum()]).default('ceil(N/M)').describe('n* of the query effect (official: 8)'),
  injectGold: z.boolean().default(false).describe('official: add the gold solution to every pool'),
  goldReward: finite().default(1.0).describe('reward of the injected gold solution'),
  emptyQueries: z.enum(['zero', 'exclude']).default('zero').describe('queries with nothing selected: qe 0, or left out of the mean (official)'),
  zeroSignalRefill: int(0).default(0).describe('extra queries drawn per iteration to replace zero-signal ones (0 = off)'),
});

/** Paper §4.1: T from 0.5 to 1.2 and τ from −1.0 to 1.0, both in 0.1 increments. */
export const DEFAULT_GRIDS = {
  temperatures: { from: 0.5, to: 1.2, step: 0.1 },
  thresholds: { from: -1.0, to: 1.0, step: 0.1 },
} as const;

const Search = z.strictObject({
  temperatures: Grid.prefault({ ...DEFAULT_GRIDS.temperatures }).describe('T grid of the search, values in [0, 5]'),
  thresholds: Grid.prefault({ ...DEFAULT_GRIDS.thresholds }).describe('τ grid of the search, values in [-2, 3]'),
  devSize: int(1).default(32).describe('fixed dev subset of training queries'),
  samplesPerQuery: int(1).nullable().default(null).describe('K_dev; null = samplesPerQuery'),
  thresholdSearchOn: z.enum(['dev', 'pool']).default('dev').describe('pool (official): keep T from the dev search, re-choose τ on the training pool'),
  thresholdTies: z.enum(['higher', 'lower']).default('higher').describe('which τ wins a tie (official: lower)'),
  strategy: z.enum(['grid', 'halving']).default('grid').describe('grid (paper): every T on every dev query; halving: successive halving over T on growing prefixes of the dev subset, within search.budget of the grid\'s samples (src/methods/searchStrategy.ts)'),
  budget: z.number().gt(0).max(1).default(0.4).describe('halving: the fraction of the full grid\'s dev samplings it may spend'),
});

const Optim = {
  lr: posNum(),
  minLr: z.number().min(0),
  warmupSteps: int(0),
  batchSize: int(1),
  gradAccum: int(1),
};

const Sft = z.strictObject({
  epochs: int(0).default(3).describe('SFT epochs of the LR schedule (the SFT baseline: paper 3); 0 = start from the checkpoint as is'),
  goldQueries: int(1).nullable().default(null).describe('gold solutions exist for only the first N training queries (SFT and the sft method use those; self-training samples the whole pool, answers only); null = every training query (paper)'),
  goldVariants: int(1).default(1).describe('SFT examples per gold problem: up to this many correct solution orders (tasks with goldSolutions, e.g. arith); 1 = the gold solution only (paper)'),
  startEpoch: int(0).default(1).describe('self-improvement starts from the SFT model after this many epochs of the sft.epochs schedule (paper: 1)'),
  epochCheckpoints: z.array(int(1)).default([]).describe('earlier SFT epochs (< startEpoch) whose model is kept and evaluated as sft-epochs/<e>/, a run dir stopped there (one SFT gives the SFT baseline and the self-training start)'),
  lr: Optim.lr.default(3e-3).describe('SFT peak learning rate'),
  minLr: Optim.minLr.default(3e-4).describe('SFT final learning rate (cosine)'),
  warmupSteps: Optim.warmupSteps.default(10).describe('SFT linear warmup steps'),
  batchSize: Optim.batchSize.default(32).describe('sequences per optimiser step'),
  gradAccum: Optim.gradAccum.default(1).describe('micro-batches each step is split into'),
});

const Train = z.strictObject({
  lr: Optim.lr.default(OD.lr).describe('peak learning rate (one schedule over all iterations for online-rft/bstar)'),
  minLr: Optim.minLr.default(OD.minLr).describe('final learning rate'),
  schedule: z.enum(['cosine', 'linear', 'constant']).default(OD.schedule).describe('decay from lr to minLr over the whole run'),
  warmupSteps: Optim.warmupSteps.default(OD.warmupSteps).describe('linear warmup steps at the start of the schedule'),
  stepsPerIteration: int(1).nullable().default(20).describe('optimiser steps per iteration (or set epochsPerIteration)'),
  epochsPerIteration: posNum().nullable().default(null).describe('passes over the selection per iteration (or set stepsPerIteration)'),
  batchSize: Optim.batchSize.default(32).describe('sequences per optimiser step'),
  gradAccum: Optim.gradAccum.default(1).describe('micro-batches each step is split into'),
  maxGradNorm: posNum().nullable().default(OD.maxGradNorm).describe('global grad-norm clip (torch clip_grad_norm_); null = off'),
  weightDecay: z.number().min(0).default(OD.weightDecay).describe('AdamW weight decay'),
  beta1: z.number().min(0).lt(1).default(OD.beta1).describe('AdamW β1'),
  beta2: z.number().min(0).lt(1).default(OD.beta2).describe('AdamW β2'),
  eps: posNum().default(OD.eps).describe('AdamW ε'),
  freeze: z.array(z.string().min(1)).default([]).describe("glob patterns over HF tensor names kept fixed (official: ['model.embed_tokens.weight', '*norm.weight', 'lm_head.weight'])"),
  precision: z.enum(['fp32', 'bf16', 'auto']).default('fp32').describe('GEMM arithmetic of local training, SFT included (forward and backward): fp32, bf16 (bf16 operands, fp32 sums, fp32 weights and AdamW state) or auto (bf16 where this CPU does it faster; docs/performance.md)'),
});

const D = DIVERGENCE_DEFAULTS;
const Divergence = z.strictObject({
  action: z.enum(['stop', 'warn']).default(D.action).describe('on a diverging training (SFT, self-training): stop the run with one line naming the likely setting, or warn and go on'),
  lossJump: posNum().default(D.lossJump).describe("a step's loss above this × the running mean of the earlier losses (and that mean + 1) is a jump"),
  uniformSteps: int(1).default(D.uniformSteps).describe('after warm-up, this many steps in a row at ln V (a uniform guess) is a collapse'),
  zeroGradSteps: int(1).default(D.zeroGradSteps).describe('this many steps in a row with a zero gradient norm is a collapse'),
  maxWeight: posNum().default(D.maxWeight).describe('a trained weight beyond this magnitude is a blow-up'),
});

const StepRecords = z.strictObject({
  allUpTo: int(0).default(10000).describe('metrics.jsonl gets a step record for every optimizer step up to this global step'),
  every: int(1).default(10).describe('after allUpTo, a step record every this many global steps'),
});

const Eval = z.strictObject({
  k: int(1).default(16).describe('K of Pass@K, Pass@K-S, Best-of-K, Reward@K-S'),
  s: int(1).default(4).describe('S of Pass@K-S, Reward@K-S'),
  samples: int(1).nullable().default(null).describe('samples drawn per test query (n ≥ K); null = K'),
  temperature: z.number().min(0).max(MAX_TEMPERATURE).default(1.0).describe('T of the K evaluation samples (Pass@1 is greedy)'),
  split: z.enum(['test', 'dev']).default('test').describe("the split evaluated: test, or dev for choosing settings without looking at the test split (arith's dev is disjoint from train; gsm8k's and arc's are subsets of train, and the run warns)"),
  testSize: int(1).nullable().default(null).describe('cap on the evaluated queries; null = the whole split'),
  every: int(1).default(1).describe('evaluate every this many iterations'),
  ciLevel: z.number().gt(0).lt(1).default(0.9).describe('bootstrap confidence level'),
  bootstrapResamples: int(1).default(2000).describe('bootstrap resamples per CI'),
});

const PolicySampling = z.strictObject({
  backend: z.enum(['local', 'openai']).default('local').describe('local: the in-process engine; openai: OpenAI-compatible servers (bstar serve, vLLM, …) at policy.sampling.endpoints (docs/scale.md)'),
  endpoints: z.array(z.string().min(1)).default([]).describe('openai: base URLs of the servers, e.g. ["http://127.0.0.1:8000/v1"]'),
  model: z.string().min(1).default('policy').describe('openai: the `model` field sent (the served model id)'),
  concurrency: int(1).default(8).describe('openai: requests in flight at once per endpoint'),
  timeoutMs: int(1).default(600000).describe('openai: a request with no answer after this long is retried'),
  retries: int(0).default(5).describe('openai: retries per request (429, 5xx, refused connection, timeout) before the run fails'),
  apiKeyEnv: z.string().min(1).nullable().default(null).describe('openai: environment variable holding the API key sent as Bearer token; null = none'),
  reload: z.array(z.string()).nullable().default(null).describe('openai: argv run after training to make every endpoint serve {checkpoint}; it must return once they do (required with openai: every run trains)'),
});

const PolicyTraining = z.strictObject({
  backend: z.enum(['local', 'external']).default('local').describe('local: the in-process engine; external: policy.training.command on SFT JSONL (docs/scale.md)'),
  command: z.array(z.string()).default([]).describe('external: trainer argv; placeholders {data} {init} {out} {examples} {lr} {steps}; must write an HF checkpoint to {out}'),
  timeoutMs: int(1).default(86400000).describe('external: a training round running longer is killed and the run fails'),
});

const Policy = z.strictObject({
  sampling: PolicySampling.prefault({}),
  training: PolicyTraining.prefault({}),
});

const SplitFiles = z.strictObject({ train: z.string().min(1).optional(), dev: z.string().min(1).optional(), test: z.string().min(1).optional() });

const Task = z.strictObject({
  name: z.string().min(1).default('arith').describe(`a registered task (${TASKS.join(', ')}, …); arith is embedded, the others read shipped data`),
  options: z.record(z.string(), z.unknown()).default({}).describe('task-specific knobs, validated by the task (e.g. math answerFormat, mbpp fewShot, gsm8k devSize)'),
  file: z.union([z.string().min(1), SplitFiles]).nullable().default(null).describe("your dataset instead of the shipped data (--dataset): a .jsonl/.json/.parquet file, a folder laid out as <name>/data/<split>-*.parquet, or a hub id org/name; or {train, dev, test} paths (docs/tasks.md)"),
  fields: z.record(z.string(), z.string().min(1)).default({}).describe("the task's field → your dataset's column, e.g. {question: problem, answer: final} (docs/tasks.md lists each family's fields)"),
  trainSize: int(1).nullable().default(null).describe('cap on training queries; null = the whole split'),
});

const ConfigObject = z.strictObject({
  preset: z.string().nullable().default(null).describe('the preset this config started from (informational once resolved)'),
  seed: int(0).max(2 ** 32 - 1).default(0).describe('every random choice derives from it'),
  threads: int(0).default(0).describe('0 = all cores'),
  reportTo: z.enum(['none', 'tensorboard']).default('none').describe("where metrics go besides metrics.jsonl: tensorboard = event files in <run>/tensorboard/ (every per-step and per-iteration metric; docs/report.md); W&B and MLflow are not supported"),
  task: Task.prefault({}),
  model: Model.prefault({}),
  prompt: Prompt.prefault({}),
  method: z.enum(METHODS).default('bstar').describe('sft | star (ReST-EM) | iterative-rft | online-rft | bstar'),
  iterations: int(1).default(6).describe('self-improvement iterations'),
  queriesPerIteration: int(1).default(64).describe('M'),
  samplesPerQuery: int(1).default(16).describe('K'),
  targetSamples: int(1).default(256).describe('N: selected samples wanted per iteration'),
  sampling: Sampling.prefault({}),
  reward: Reward.prefault({}),
  selection: Selection.prefault({}),
  search: Search.prefault({}),
  sft: Sft.prefault({}),
  train: Train.prefault({}),
  eval: Eval.prefault({}),
  divergence: Divergence.prefault({}).describe('divergence detection in the training loop'),
  stepRecords: StepRecords.prefault({}).describe('per-step training records in metrics.jsonl'),
  policy: Policy.prefault({}),
});

type GridSpec = z.infer<typeof GridObject>;

/** The values of a validated grid spec, exact decimals (methods/search gridValues). */
export function gridOf(spec: GridSpec): number[] {
  if (spec.values !== undefined) return [...spec.values];
  return gridValues({ from: spec.from!, to: spec.to!, step: spec.step! });
}

type Ctx = z.RefinementCtx<z.infer<typeof ConfigObject>>;

function issue(ctx: Ctx, path: (string | number)[], expected: string, input: unknown): void {
  ctx.addIssue({ code: 'custom', path, message: expected, input });
}

function checkGrid(ctx: Ctx, name: 'temperatures' | 'thresholds', spec: GridSpec, lo: number, hi: number): void {
  const path = ['search', name];
  const hasRange = spec.from !== undefined || spec.to !== undefined || spec.step !== undefined;
  if (spec.values !== undefined && hasRange) return issue(ctx, path, 'either {from, to, step} or {values}, not both', spec);
  if (spec.values === undefined) {
    for (const k of ['from', 'to', 'step'] as const) if (spec[k] === undefined) return issue(ctx, [...path, k], `a number (the grid needs from, to and step)`, undefined);
    if (spec.to! < spec.from!) return issue(ctx, [...path, 'to'], `≥ from (${spec.from}): a non-empty grid`, spec.to);
    if ((spec.to! - spec.from!) / spec.step! > 10000) return issue(ctx, [...path, 'step'], 'a step giving at most 10001 values', spec.step);
  }
  const values = gridOf(spec);
  if (values.length === 0) return issue(ctx, [...path, 'values'], 'a non-empty list', []);
  values.forEach((v, i) => {
    if (v < lo || v > hi) issue(ctx, spec.values ? [...path, 'values', i] : path, `grid values in [${lo}, ${hi}]`, v);
  });
  if (new Set(values).size !== values.length) issue(ctx, [...path, 'values'], 'distinct values', values);
}

/** The whole run configuration, with defaults and cross-field checks. */
export const ConfigSchema = ConfigObject.superRefine((c, ctx) => {
  if (c.eval.s > c.eval.k) issue(ctx, ['eval', 's'], `S ≤ K (eval.k = ${c.eval.k})`, c.eval.s);
  if (c.eval.samples !== null && c.eval.samples < c.eval.k) issue(ctx, ['eval', 'samples'], `n ≥ K (eval.k = ${c.eval.k})`, c.eval.samples);
  checkGrid(ctx, 'temperatures', c.search.temperatures, 0, MAX_TEMPERATURE);
  checkGrid(ctx, 'thresholds', c.search.thresholds, THRESHOLD_RANGE[0], THRESHOLD_RANGE[1]);
  if (c.selection.threshold < THRESHOLD_RANGE[0] || c.selection.threshold > THRESHOLD_RANGE[1]) {
    issue(ctx, ['selection', 'threshold'], `a threshold in [${THRESHOLD_RANGE[0]}, ${THRESHOLD_RANGE[1]}]`, c.selection.threshold);
  }
  const m = c.model;
  if (m.hidden_size % m.num_attention_heads !== 0) issue(ctx, ['model', 'hidden_size'], `a multiple of num_attention_heads (${m.num_attention_heads})`, m.hidden_size);
  else if ((m.hidden_size / m.num_attention_heads) % 2 !== 0) issue(ctx, ['model', 'hidden_size'], 'an even head size hidden_size/num_attention_heads (RoPE rotates pairs)', m.hidden_size);
  if (m.num_attention_heads % m.num_key_value_heads !== 0) issue(ctx, ['model', 'num_key_value_heads'], `a divisor of num_attention_heads (${m.num_attention_heads})`, m.num_key_value_heads);
  const t = c.train;
  if ((t.stepsPerIteration === null) === (t.epochsPerIteration === null)) {
    issue(ctx, ['train', 'stepsPerIteration'], 'exactly one of train.stepsPerIteration and train.epochsPerIteration set (the other null)', `${t.stepsPerIteration} and ${t.epochsPerIteration}`);
  }
  if (t.minLr > t.lr) issue(ctx, ['train', 'minLr'], `≤ train.lr (${t.lr})`, t.minLr);
  if (c.sft.minLr > c.sft.lr) issue(ctx, ['sft', 'minLr'], `≤ sft.lr (${c.sft.lr})`, c.sft.minLr);
  const ps = c.policy.sampling;
  if (ps.backend === 'openai') {
    if (ps.endpoints.length === 0) issue(ctx, ['policy', 'sampling', 'endpoints'], 'at least one base URL (policy.sampling.backend is openai)', ps.endpoints);
    ps.endpoints.forEach((u, i) => {
      let ok = false;
      try {
        ok = ['http:', 'https:'].includes(new URL(u).protocol);
      } catch { /* not a URL */ }
      if (!ok) issue(ctx, ['policy', 'sampling', 'endpoints', i], 'an http(s) base URL such as http://127.0.0.1:8000/v1', u);
    });
    if (ps.reload === null || !ps.reload.some((a) => a.includes('{checkpoint}'))) {
      issue(ctx, ['policy', 'sampling', 'reload'], 'an argv containing {checkpoint} that makes every endpoint serve that checkpoint (policy.sampling.backend is openai; see docs/scale.md)', ps.reload);
    }
  }
  const pt = c.policy.training;
  if (pt.backend === 'external') {
    if (pt.command.length === 0) issue(ctx, ['policy', 'training', 'command'], 'a non-empty trainer argv (policy.training.backend is external)', pt.command);
    else for (const ph of ['{data}', '{out}']) if (!pt.command.some((a) => a.includes(ph))) issue(ctx, ['policy', 'training', 'command'], `an argv containing ${ph}`, pt.command);
    if (c.model.checkpoint === null) issue(ctx, ['model', 'checkpoint'], 'the starting checkpoint directory (policy.training.backend external trains from a checkpoint)', null);
  }
  if (c.sft.startEpoch > c.sft.epochs) issue(ctx, ['sft', 'startEpoch'], `≤ sft.epochs (${c.sft.epochs})`, c.sft.startEpoch);
  c.sft.epochCheckpoints.forEach((e, i) => {
    if (e >= c.sft.startEpoch) issue(ctx, ['sft', 'epochCheckpoints', i], `an epoch < sft.startEpoch (${c.sft.startEpoch}); startEpoch itself is iteration 0`, e);
  });
  if (new Set(c.sft.epochCheckpoints).size !== c.sft.epochCheckpoints.length) issue(ctx, ['sft', 'epochCheckpoints'], 'distinct epochs', c.sft.epochCheckpoints);
});

/** A resolved, validated configuration. */
export type Config = z.infer<typeof ConfigSchema>;
/** What a file, preset or override may give: any subset, validated on resolution. */
export type ConfigInput = z.input<typeof ConfigSchema>;

/**
 * Fixed-size selection targets: on the training pool (`fixedSizeTarget`, 'N' = targetSamples) and on the
 * dev subset ('scaled' keeps the per-query ratio: the official 67,500 / 11.5k ≈ 3,550 / 600 ≈ 5.9).
 */
export function fixedSizeTargets(c: Config): { pool: number; dev: number } {
  const pool = c.selection.fixedSizeTarget === 'N' ? c.targetSamples : c.selection.fixedSizeTarget;
  const dev = c.selection.fixedSizeDevTarget === 'scaled' ? Math.max(1, Math.round((pool * c.search.devSize) / c.queriesPerIteration)) : c.selection.fixedSizeDevTarget;
  return { pool, dev };
}

/** n* for a resolved config. */
export function nStarOf(c: Config): number {
  return c.selection.nStar === 'ceil(N/M)' ? Math.ceil(c.targetSamples / c.queriesPerIteration) : c.selection.nStar;
}

/**
 * The selection/search options of a config for the dev subset or the training pool. The task supplies
 * `equations` (uniqueBy 'equations') and the gold map (injectGold) at run time.
 * Example: chooseThreshold(poolIds, samples, {...selectionOptions(c, 'pool'), gold}, T).
 */
export function selectionOptions(c: Config, on: 'pool' | 'dev'): Omit<ThresholdOptions, 'equations' | 'gold'> {
  const s = c.selection;
  const targets = fixedSizeTargets(c);
  return {
    thresholds: gridOf(c.search.thresholds),
    thresholdTies: c.search.thresholdTies,
    nStar: nStarOf(c),
    selection: s.mode,
    perQueryCap: s.perQueryCap,
    ...(s.mode === 'fixed-size' ? { targetSize: on === 'pool' ? targets.pool : targets.dev, maxCap: s.maxCap } : {}),
    capBeforeDedup: s.capBeforeDedup,
    emptyQueries: s.emptyQueries,
    uniqueBy: s.uniqueBy,
    goldReward: s.goldReward,
  };
}

/**
 * The optimizer of SFT or of self-training (less the schedule length). AdamW moments, clipping and
 * freezing are shared (train.*); each phase has its own LR, floor, warmup and micro-batch.
 */
function phaseOptimizer(c: Config, phase: 'sft' | 'train'): PhaseOptimizer {
  const o = phase === 'sft' ? c.sft : c.train;
  const t = c.train;
  return {
    lr: o.lr,
    minLr: o.minLr,
    schedule: phase === 'sft' ? 'cosine' : t.schedule,
    warmupSteps: o.warmupSteps,
    beta1: t.beta1,
    beta2: t.beta2,
    eps: t.eps,
    weightDecay: t.weightDecay,
    maxGradNorm: t.maxGradNorm,
    freeze: [...t.freeze],
    microBatch: Math.ceil(o.batchSize / o.gradAccum),
  };
}

/** What the methods read of a resolved config (src/methods/options.ts), mapped once. */
export function methodOptions(c: Config): MethodOptions {
  return {
    seed: c.seed,
    iterations: c.iterations,
    queriesPerIteration: c.queriesPerIteration,
    samplesPerQuery: c.samplesPerQuery,
    targetSamples: c.targetSamples,
    sampling: { temperature: c.sampling.temperature, topP: c.sampling.topP, maxTokens: c.sampling.maxTokens },
    reward: { combine: c.reward.combine, aggregate: c.reward.aggregate },
    selection: {
      threshold: c.selection.threshold,
      zeroSignalRefill: c.selection.zeroSignalRefill,
      injectGold: c.selection.injectGold,
      uniqueBy: c.selection.uniqueBy,
      onPool: selectionOptions(c, 'pool'),
      onDev: selectionOptions(c, 'dev'),
    },
    search: {
      temperatures: gridOf(c.search.temperatures),
      samplesPerQuery: c.search.samplesPerQuery ?? c.samplesPerQuery,
      thresholdSearchOn: c.search.thresholdSearchOn,
      strategy: c.search.strategy,
      budget: c.search.budget,
    },
    sft: { goldVariants: c.sft.goldVariants, epochs: c.sft.epochs, batchSize: c.sft.batchSize, optimizer: phaseOptimizer(c, 'sft') },
    train: {
      batchSize: c.train.batchSize,
      stepsPerIteration: c.train.stepsPerIteration,
      epochsPerIteration: c.train.epochsPerIteration,
      optimizer: phaseOptimizer(c, 'train'),
    },
    divergence: { ...c.divergence },
    eval: {
      k: c.eval.k,
      s: c.eval.s,
      samples: c.eval.samples ?? c.eval.k,
      temperature: c.eval.temperature,
      ciLevel: c.eval.ciLevel,
      bootstrapResamples: c.eval.bootstrapResamples,
    },
  };
}
