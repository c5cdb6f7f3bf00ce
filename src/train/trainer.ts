// Supervised fine-tuning step: masked cross-entropy, gradient accumulation, global-norm clipping,
// AdamW (PyTorch semantics, per tensor through kernels.adamw), LR schedule, freezing by name.
//
// Loss reduction: one optimizer step consumes a list of micro-batches; its loss is the MEAN
// cross-entropy over all unmasked (completion) tokens of all its micro-batches, i.e.
//   loss = Σ_microbatches Σ_rows mask·ce / Σ_microbatches Σ_rows mask.
// Each row's weight mask/total is handed to the fused cross-entropy, so gradients accumulate
// across micro-batches to exactly the gradient of that mean (independent of how rows are split).
//
// Safety: the loss of every micro-batch and the norm of every trainable gradient are checked
// before anything is updated; a non-finite value throws NonFiniteError naming the step, the tensor
// and its layer, and leaves parameters and optimizer state exactly as they were.
import type { Kernels } from '../engine/kernels.js';
import { ConfigError } from '../model/config.js';
import type { LlamaModel } from '../model/llama.js';
import { allocFloat, viewsOf, type FloatArray, type ParamTensor } from '../model/params.js';
import type { Batch } from './batch.js';
import { lrMultiplier, type ScheduleName } from './schedule.js';

export interface TrainConfig {
  /** Peak (base) learning rate. */
  lr: number;
  betas: [number, number];
  eps: number;
  /** Decoupled weight decay for matrices (never for norm weights and biases). */
  weight_decay: number;
  /** Whether the embedding (and a tied head) gets weight decay. */
  decay_embeddings: boolean;
  schedule: ScheduleName;
  warmup_steps: number;
  total_steps: number;
  /** Cosine floor as a fraction of lr. */
  min_lr_ratio: number;
  /** Global L2 clipping threshold (torch clip_grad_norm_), or null for none. */
  max_grad_norm: number | null;
  /** Glob patterns over HF tensor names ('*' = any characters); matching tensors are frozen. */
  freeze: string[];
}

/** The paper's code freezes token embeddings, every RMSNorm and the LM head. */
export const PAPER_FREEZE = ['model.embed_tokens.weight', '*norm.weight', 'lm_head.weight'];

export const defaultTrainConfig: TrainConfig = {
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weight_decay: 0,
  decay_embeddings: true,
  schedule: 'constant',
  warmup_steps: 0,
  total_steps: 1,
  min_lr_ratio: 0,
  max_grad_norm: 1.0,
  freeze: [],
};

/** Validates a partial train config (unknown keys are errors) and fills defaults. */
export function validateTrainConfig(raw: Partial<TrainConfig> & Record<string, unknown>, source = 'train config'): TrainConfig {
  for (const key of Object.keys(raw)) {
    if (!(key in defaultTrainConfig)) throw new ConfigError(source, key, `no such field (known: ${Object.keys(defaultTrainConfig).join(', ')})`, raw[key]);
  }
  const c = { ...defaultTrainConfig, ...raw } as TrainConfig;
  const num = (f: keyof TrainConfig, ok: (v: number) => boolean, expected: string) => {
    const v = c[f];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ConfigError(source, f, expected, v);
  };
  num('lr', (v) => v >= 0, 'a finite number ≥ 0');
  num('eps', (v) => v > 0, 'a finite number > 0');
  num('weight_decay', (v) => v >= 0, 'a finite number ≥ 0');
  num('warmup_steps', (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0');
  num('total_steps', (v) => Number.isInteger(v) && v >= 1, 'an integer ≥ 1');
  num('min_lr_ratio', (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  if (!Array.isArray(c.betas) || c.betas.length !== 2 || c.betas.some((b) => typeof b !== 'number' || !(b >= 0 && b < 1))) {
    throw new ConfigError(source, 'betas', 'two numbers in [0, 1)', c.betas);
  }
  if (!['constant', 'linear', 'cosine'].includes(c.schedule)) throw new ConfigError(source, 'schedule', '"constant", "linear" or "cosine"', c.schedule);
  if (typeof c.decay_embeddings !== 'boolean') throw new ConfigError(source, 'decay_embeddings', 'a boolean', c.decay_embeddings);
  if (c.max_grad_norm !== null && !(typeof c.max_grad_norm === 'number' && c.max_grad_norm > 0 && Number.isFinite(c.max_grad_norm))) {
    throw new ConfigError(source, 'max_grad_norm', 'a finite number > 0 or null', c.max_grad_norm);
  }
  if (!Array.isArray(c.freeze) || c.freeze.some((p) => typeof p !== 'string')) throw new ConfigError(source, 'freeze', 'a list of name patterns', c.freeze);
  return c;
}

/** A NaN/Inf loss or gradient: where it appeared. Nothing was updated. */
export class NonFiniteError extends Error {
  constructor(
    /** The 1-based optimizer step that failed. */
    readonly step: number,
    readonly tensor: string,
    /** Decoder layer, or -1 for embedding/final norm/head/loss. */
    readonly layer: number,
    readonly value: number,
    detail: string,
  ) {
    super(`non-finite ${detail} at step ${step}: ${tensor}${layer >= 0 ? ` (layer ${layer})` : ''} = ${value}; parameters and optimizer state were not updated`);
    this.name = 'NonFiniteError';
  }
}

export interface StepResult {
  /** 1-based optimizer step just taken. */
  step: number;
  /** Mean cross-entropy over the step's unmasked tokens (before the update). */
  loss: number;
  /** Global grad norm before clipping (torch's return value of clip_grad_norm_). */
  gradNorm: number;
  lr: number;
  tokens: number;
}

export interface OptimizerState {
  /** Optimizer steps taken so far. */
  step: number;
  /** First and second moments, laid out like the parameters (model.tensors). */
  m: FloatArray;
  v: FloatArray;
}

/**
 * Global L2 norm of the trainable grads (torch clip_grad_norm_: the 2-norm of the per-tensor
 * 2-norms); throws NonFiniteError naming the first tensor holding a NaN/Inf.
 */
export function gradNormOrThrow(k: Kernels, trainable: { tensor: ParamTensor; g: FloatArray }[], step: number): number {
  let sumSq = 0;
  for (const { tensor: t, g } of trainable) {
    const ss = k.sumSquares(g, t.size);
    if (!Number.isFinite(ss)) {
      let bad = ss; // every element finite but the sum of squares overflowed
      for (let i = 0; i < t.size; i++) {
        if (!Number.isFinite(g[i])) {
          bad = g[i];
          break;
        }
      }
      throw new NonFiniteError(step, t.name, t.layer, bad, 'gradient');
    }
    sumSq += ss;
  }
  return Math.sqrt(sumSq);
}

function globToRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

export class Trainer {
  readonly model: LlamaModel;
  readonly config: TrainConfig;
  readonly state: OptimizerState;
  /** Trainable tensors (not frozen) with their weight decay and views (made once) of p, g, m, v. */
  readonly trainable: { tensor: ParamTensor; weightDecay: number; p: FloatArray; g: FloatArray; m: FloatArray; v: FloatArray }[];
  private readonly k: Kernels;
  private readonly weights: FloatArray;

  constructor(model: LlamaModel, config: Partial<TrainConfig> = {}) {
    this.model = model;
    this.config = validateTrainConfig(config);
    this.k = model.kernels;
    this.state = { step: 0, m: allocFloat(model.dtype, model.numParams), v: allocFloat(model.dtype, model.numParams) };
    this.weights = allocFloat(model.dtype, model.maxBatch * model.maxSeq);
    const patterns = this.config.freeze.map(globToRegExp);
    // A tied head is the embedding: 'lm_head.weight' names it too.
    const names = (t: ParamTensor) => (t.kind === 'embed' && model.config.tie_word_embeddings ? [t.name, 'lm_head.weight'] : [t.name]);
    const matches = (re: RegExp, t: ParamTensor) => names(t).some((n) => re.test(n));
    this.config.freeze.forEach((p, i) => {
      if (!model.tensors.some((t) => matches(patterns[i], t))) {
        throw new ConfigError('train config', `freeze[${i}]`, `a pattern matching at least one tensor (e.g. ${model.tensors[0].name})`, p);
      }
    });
    this.trainable = [];
    model.tensors.forEach((t, i) => {
      const frozen = patterns.some((re) => matches(re, t));
      model.gradEnabled[i] = !frozen;
      if (frozen) return;
      // no decay for norm weights and biases (transformers' Trainer default)
      const decay = t.isNorm || t.isBias || (t.kind === 'embed' && !this.config.decay_embeddings) ? 0 : this.config.weight_decay;
      const view = (b: FloatArray) => b.subarray(t.offset, t.offset + t.size);
      this.trainable.push({ tensor: t, weightDecay: decay, p: view(model.params), g: view(model.grads), m: view(this.state.m), v: view(this.state.v) });
    });
  }

  /** HF-named views of the moments (same names and shapes as model.namedParams()), for checkpoints. */
  namedMoments(): { m: Map<string, FloatArray>; v: Map<string, FloatArray> } {
    return { m: viewsOf(this.state.m, this.model.tensors), v: viewsOf(this.state.v, this.model.tensors) };
  }

  /** LR of the next optimizer step. */
  nextLr(): number {
    return this.config.lr * lrMultiplier(this.config, this.state.step);
  }

  /** One optimizer step over the given micro-batches (gradient accumulation). */
  step(batches: Batch[]): StepResult {
    const model = this.model;
    const k = this.k;
    const stepNo = this.state.step + 1;
    let total = 0;
    for (const b of batches) total += b.tokens;
    if (batches.length === 0 || total === 0) {
      throw new ConfigError(`step ${stepNo}`, 'batches', 'at least one unmasked (completion) token', `${batches.length} micro-batches with ${total} tokens`);
    }
    model.zeroGrad();
    let loss = 0;
    for (let mb = 0; mb < batches.length; mb++) {
      const b = batches[mb];
      const N = b.B * b.T;
      for (let i = 0; i < N; i++) this.weights[i] = b.mask[i] / total;
      const l = model.forward(b.inputs, b.targets, this.weights, b.B, b.T);
      if (!Number.isFinite(l)) {
        const where = model.firstNonFiniteActivation();
        throw new NonFiniteError(stepNo, where ? where.tensor : 'loss', where ? where.layer : -1, l, `loss (micro-batch ${mb})`);
      }
      loss += l;
      model.backward();
    }

    const gradNorm = gradNormOrThrow(k, this.trainable, stepNo);
    if (this.config.max_grad_norm !== null) {
      const coef = this.config.max_grad_norm / (gradNorm + 1e-6);
      if (coef < 1) for (const { tensor: t, g } of this.trainable) k.scale(g, coef, t.size);
    }

    const lr = this.nextLr();
    this.state.step = stepNo;
    const [b1, b2] = this.config.betas;
    for (const { tensor: t, weightDecay, p, g, m, v } of this.trainable) {
      k.adamw(p, g, m, v, t.size, lr, b1, b2, this.config.eps, weightDecay, stepNo);
    }
    return { step: stepNo, loss, gradNorm, lr, tokens: total };
  }

  /** Mean masked cross-entropy over the batches without touching grads or optimizer state. */
  evalLoss(batches: Batch[]): number {
    let total = 0;
    for (const b of batches) total += b.tokens;
    if (total === 0) throw new ConfigError('evalLoss', 'batches', 'at least one unmasked (completion) token', `${batches.length} micro-batches with 0 tokens`);
    let loss = 0;
    for (const b of batches) {
      const N = b.B * b.T;
      for (let i = 0; i < N; i++) this.weights[i] = b.mask[i] / total;
      loss += this.model.forward(b.inputs, b.targets, this.weights, b.B, b.T);
    }
    return loss;
  }
}
