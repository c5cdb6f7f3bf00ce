// The one optimizer-settings type. Every training in bstar — SFT and self-training inside a run,
// `bstar train`, the PRM's SFT policy and the PRM itself — hands an OptimizerSpec to the one trainer
// (Trainer, through the Policy's training side), with no renaming on the way. Defaults live here and
// nowhere else: OPTIMIZER_DEFAULTS are the run config's (train.*), COMMAND_OPTIMIZERS the measured
// settings of the stand-alone training commands (each overridable by its flags).
import { ConfigError } from '../model/config.js';
import type { ScheduleName } from './schedule.js';

/**
 * Optimizer and LR schedule of a training. `totalSteps` is the schedule's length: one schedule over
 * the whole run (Online RFT, B-STaR) or one per iteration (Iterative RFT, STaR). AdamW with PyTorch
 * semantics; the LR schedules are Hugging Face's (schedule.ts).
 */
export interface OptimizerSpec {
  /** Peak (base) learning rate. */
  lr: number;
  /** Cosine floor (the LR the schedule decays to); ≤ lr. Linear and constant schedules ignore it. */
  minLr: number;
  schedule: ScheduleName;
  warmupSteps: number;
  totalSteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay for matrices (never for norm weights and biases). */
  weightDecay: number;
  /** Whether the embedding (and a tied head) gets weight decay; default true. */
  decayEmbeddings?: boolean;
  /** Global grad-norm clip (torch clip_grad_norm_); null = off. */
  maxGradNorm: number | null;
  /** Glob patterns over HF tensor names ('*' = any characters) kept fixed. */
  freeze: readonly string[];
  /** Rows per forward/backward (micro-batch); an optimizer step over more rows accumulates. */
  microBatch: number;
}

/** The run config's optimizer defaults (train.*; sft.* shares the AdamW ones). */
export const OPTIMIZER_DEFAULTS = {
  lr: 1e-3,
  minLr: 1e-4,
  schedule: 'cosine',
  warmupSteps: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  maxGradNorm: 1.0,
} as const satisfies Partial<OptimizerSpec>;

/** The paper's code freezes token embeddings, every RMSNorm and the LM head. */
export const PAPER_FREEZE = ['model.embed_tokens.weight', '*norm.weight', 'lm_head.weight'];

/**
 * Defaults of a stand-alone training command, relative to its step count and LR: the floor is
 * minLrRatio·lr, warmup the first warmupFraction of the steps.
 */
export interface CommandOptimizer {
  lr: number;
  minLrRatio: number;
  warmupFraction: number;
  schedule: ScheduleName;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number | null;
}

/**
 * The settings each command was measured with (docs/prm.md, docs/scale.md); flags override every field.
 *   train            `bstar train` (the external-trainer command): β2 0.95, cosine to lr/10
 *   prm-train        `bstar prm train`: β2 0.95, 10 % warmup, cosine to lr/10
 *   prm-sft-policy   `bstar prm sft-policy`: β2 0.95, weight decay 0.1, 5 % warmup, cosine to lr/10
 */
export const COMMAND_OPTIMIZERS = {
  train: { lr: 1e-3, minLrRatio: 0.1, warmupFraction: 0, schedule: 'cosine', beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
  'prm-train': { lr: 1e-3, minLrRatio: 0.1, warmupFraction: 0.1, schedule: 'cosine', beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 },
  'prm-sft-policy': { lr: 2e-3, minLrRatio: 0.1, warmupFraction: 0.05, schedule: 'cosine', beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 },
} as const satisfies Record<string, CommandOptimizer>;

export type TrainingCommand = keyof typeof COMMAND_OPTIMIZERS;

/** A command's OptimizerSpec for `totalSteps` steps of `microBatch` rows, its defaults overridden by `o`. */
export function commandOptimizer(command: TrainingCommand, totalSteps: number, microBatch: number, o: Partial<CommandOptimizer> = {}): OptimizerSpec {
  const d: CommandOptimizer = { ...COMMAND_OPTIMIZERS[command], ...o };
  return validateOptimizerSpec({
    lr: d.lr, minLr: d.lr * d.minLrRatio, schedule: d.schedule, warmupSteps: Math.floor(totalSteps * d.warmupFraction), totalSteps,
    beta1: d.beta1, beta2: d.beta2, eps: d.eps, weightDecay: d.weightDecay, maxGradNorm: d.maxGradNorm, freeze: [], microBatch,
  }, `bstar ${command.replace('-', ' ')}`);
}

const KEYS: readonly (keyof OptimizerSpec)[] = ['lr', 'minLr', 'schedule', 'warmupSteps', 'totalSteps', 'beta1', 'beta2', 'eps', 'weightDecay', 'decayEmbeddings', 'maxGradNorm', 'freeze', 'microBatch'];

/** What validateOptimizerSpec fills in for an absent field: a constant LR with the AdamW defaults, one micro-batch row. */
const FILL: OptimizerSpec = { ...OPTIMIZER_DEFAULTS, minLr: 0, schedule: 'constant', totalSteps: 1, freeze: [], microBatch: 1 };

/**
 * Validates optimizer settings (unknown keys are errors), filling absent fields from FILL; errors name
 * the field (a ConfigError of `source`).
 */
export function validateOptimizerSpec(raw: Partial<OptimizerSpec>, source = 'optimizer'): OptimizerSpec {
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key as keyof OptimizerSpec)) throw new ConfigError(source, key, `no such field (known: ${KEYS.join(', ')})`, (raw as Record<string, unknown>)[key]);
  }
  const c: OptimizerSpec = { ...FILL, ...raw };
  const num = (f: keyof OptimizerSpec, ok: (v: number) => boolean, expected: string) => {
    const v = c[f];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ConfigError(source, f, expected, v);
  };
  num('lr', (v) => v >= 0, 'a finite number ≥ 0');
  num('minLr', (v) => v >= 0 && v <= c.lr, `a number in [0, lr = ${c.lr}]`);
  num('eps', (v) => v > 0, 'a finite number > 0');
  num('weightDecay', (v) => v >= 0, 'a finite number ≥ 0');
  num('warmupSteps', (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0');
  num('totalSteps', (v) => Number.isInteger(v) && v >= 1, 'an integer ≥ 1');
  num('beta1', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  num('beta2', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  num('microBatch', (v) => Number.isInteger(v) && v >= 1, 'an integer ≥ 1');
  if (!['constant', 'linear', 'cosine'].includes(c.schedule)) throw new ConfigError(source, 'schedule', '"constant", "linear" or "cosine"', c.schedule);
  if (c.decayEmbeddings !== undefined && typeof c.decayEmbeddings !== 'boolean') throw new ConfigError(source, 'decayEmbeddings', 'a boolean', c.decayEmbeddings);
  if (c.maxGradNorm !== null && !(typeof c.maxGradNorm === 'number' && c.maxGradNorm > 0 && Number.isFinite(c.maxGradNorm))) {
    throw new ConfigError(source, 'maxGradNorm', 'a finite number > 0 or null', c.maxGradNorm);
  }
  if (!Array.isArray(c.freeze) || c.freeze.some((p) => typeof p !== 'string')) throw new ConfigError(source, 'freeze', 'a list of name patterns', c.freeze);
  return c;
}
