// The local policy: one LlamaModel on our engine is both the sampling side (a KV-cache Sampler over
// views of the model's own parameter buffer, so training is visible to sampling with no copy) and the
// training side (Trainer: AdamW, LR schedule, clipping, freezing, micro-batch accumulation).
//
// Tokenization: prompt = BOS + chars (as the Sampler encodes text prompts), target = completion + EOS,
// so a trained completion ends the way a sampled one does.
import type { Kernels, Precision } from '../engine/kernels.js';
import { getKernels } from '../engine/index.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { contextLength, type ModelConfig } from '../model/config.js';
import { LlamaModel } from '../model/llama.js';
import { Sampler } from '../model/sampler.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { microBatches, type Example } from '../train/batch.js';
import { Trainer, type TrainConfig } from '../train/trainer.js';
import { killPoint } from '../util/killpoint.js';
import { composePolicy } from './compose.js';
import {
  PolicyError, type Completion, type OptimizerSpec, type OptimizerStatus, type Policy, type PolicySnapshot, type ProgressFn,
  type SampleOutput, type SampleParams, type SampleRequest, type SamplingBackend, type ScoreRequest, type TrainExample,
  type TrainingBackend, type TrainStepResult,
} from './types.js';

export interface LocalPolicyOptions {
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** Longest prompt + completion (tokens, BOS and EOS included) a training row may have. */
  maxSeq: number;
  /** Largest micro-batch (rows per forward) training will use. */
  maxBatch: number;
  kernels?: Kernels;
  /** Seed of the initial weights (ignored when `init` is 'none'). */
  initSeed?: number;
  /** KV cache budget of the sampler, in token positions. */
  kvBudgetTokens?: number;
  /** GEMM precision of training (forward and backward) and of sampling; default fp32. */
  trainPrecision?: Precision;
  samplingPrecision?: Precision;
}

interface LocalSnapshot extends PolicySnapshot {
  readonly kind: 'local';
  params: Float32Array;
  optimizer: { spec: OptimizerSpec; step: number; m: Float32Array; v: Float32Array } | null;
}

function trainConfigOf(spec: OptimizerSpec): Partial<TrainConfig> {
  if (spec.minLr > spec.lr) throw new PolicyError(`local policy: optimizer minLr (${spec.minLr}) must be ≤ lr (${spec.lr})`);
  return {
    lr: spec.lr,
    betas: [spec.beta1, spec.beta2],
    eps: spec.eps,
    weight_decay: spec.weightDecay,
    schedule: spec.schedule,
    warmup_steps: spec.warmupSteps,
    total_steps: spec.totalSteps,
    min_lr_ratio: spec.lr === 0 ? 0 : spec.minLr / spec.lr,
    max_grad_norm: spec.maxGradNorm,
    freeze: [...spec.freeze],
  };
}

/** Model + trainer + sampler on this machine; both sides of a Policy. */
export class LocalBackend implements SamplingBackend, TrainingBackend {
  readonly name = 'local';
  readonly model: LlamaModel;
  readonly tokenizer: Tokenizer;
  readonly config: ModelConfig;
  private trainer: Trainer | null = null;
  private spec: OptimizerSpec | null = null;
  private readonly sampler: Sampler;

  constructor(opts: LocalPolicyOptions) {
    this.config = opts.config;
    this.tokenizer = opts.tokenizer;
    const kernels = opts.kernels ?? getKernels();
    this.model = new LlamaModel(opts.config, { maxBatch: opts.maxBatch, maxSeq: Math.min(opts.maxSeq, contextLength(opts.config)), kernels, precision: opts.trainPrecision });
    if (this.model.dtype !== 'float32') throw new PolicyError('local policy: float32 models only');
    this.model.initWeights(opts.initSeed ?? 0);
    const weights = this.model.namedParams() as Map<string, Float32Array>;
    this.sampler = new Sampler(opts.config, weights, opts.tokenizer, { kernels, kvBudgetTokens: opts.kvBudgetTokens, precision: opts.samplingPrecision });
  }

  // ---------------------------------------------------------------------------------------------
  // sampling

  async sample(requests: readonly SampleRequest[], params: SampleParams, onProgress?: ProgressFn): Promise<SampleOutput> {
    const { samples, stats } = this.sampler.generate(
      requests.map((r) => ({ id: r.id, prompt: r.prompt })),
      {
        seed: params.seed,
        temperature: params.temperature,
        topP: params.topP,
        maxNewTokens: params.maxTokens,
        stop: [...params.stop],
        n: params.n,
        onSample: onProgress ? (_s, done, total) => onProgress(done, total) : undefined,
      },
    );
    const completions = samples.map((group) =>
      group.map((s): Completion => ({ text: s.text, tokens: s.tokens.length, logprob: s.logprob, finishReason: s.finishReason })),
    );
    return { completions, stats: { promptTokens: stats.prefillTokens, generatedTokens: stats.generatedTokens, ms: stats.totalMs } };
  }

  async logprobs(items: readonly ScoreRequest[]): Promise<number[][]> {
    return this.sampler.logprobs(items.map((i) => ({ prompt: i.prompt, completion: i.completion }))).map((r) => r.logprobs);
  }

  async syncWeights(from: TrainingBackend): Promise<void> {
    if (from !== this) throw new PolicyError('local policy: the local sampler can only serve its own model (use a fleet backend to sample from another trainer)');
  }

  // ---------------------------------------------------------------------------------------------
  // training

  /** Token rows of training examples: BOS + prompt, completion + EOS. */
  examples(batch: readonly TrainExample[]): Example[] {
    const t = this.tokenizer;
    return batch.map((e) => ({ prompt: t.encode(e.prompt, { addBos: true }), completion: [...t.encode(e.completion), t.eosId] }));
  }

  async configureOptimizer(spec: OptimizerSpec, opts: { reset: boolean }): Promise<void> {
    if (!Number.isInteger(spec.microBatch) || spec.microBatch < 1 || spec.microBatch > this.model.maxBatch) {
      throw new PolicyError(`local policy: optimizer microBatch must be an integer in [1, ${this.model.maxBatch}], found ${spec.microBatch}`);
    }
    const old = this.trainer;
    const next = new Trainer(this.model, trainConfigOf(spec));
    if (old && !opts.reset) {
      next.state.m.set(old.state.m);
      next.state.v.set(old.state.v);
      next.state.step = old.state.step;
    }
    this.trainer = next;
    this.spec = { ...spec, freeze: [...spec.freeze] };
  }

  optimizerStatus(): OptimizerStatus | null {
    return this.trainer && this.spec ? { step: this.trainer.state.step, spec: this.spec } : null;
  }

  private need(): { trainer: Trainer; spec: OptimizerSpec } {
    if (!this.trainer || !this.spec) throw new PolicyError('local policy: train() before configureOptimizer()');
    return { trainer: this.trainer, spec: this.spec };
  }

  private batches(batch: readonly TrainExample[], micro: number) {
    return microBatches(this.examples(batch), micro, { padId: this.tokenizer.padId, vocabSize: this.config.vocab_size, maxSeq: this.model.maxSeq });
  }

  async train(batch: readonly TrainExample[]): Promise<TrainStepResult> {
    const { trainer, spec } = this.need();
    const mbs = this.batches(batch, spec.microBatch);
    const r = trainer.step(mbs);
    return { ...r, positions: mbs.reduce((a, b) => a + b.B * b.T, 0) };
  }

  async evalLoss(batch: readonly TrainExample[]): Promise<number> {
    const micro = this.spec?.microBatch ?? this.model.maxBatch;
    const tr = this.trainer ?? new Trainer(this.model, {});
    return tr.evalLoss(this.batches(batch, micro));
  }

  // ---------------------------------------------------------------------------------------------
  // checkpoints and snapshots

  async save(dir: string, state: unknown): Promise<void> {
    const tensors = new Map<string, Float32Array>();
    const status = this.optimizerStatus();
    if (this.trainer) {
      tensors.set('optimizer.m', this.trainer.state.m as Float32Array);
      tensors.set('optimizer.v', this.trainer.state.v as Float32Array);
    }
    saveCheckpoint(dir, {
      config: this.config,
      weights: this.model.namedParams() as Map<string, Float32Array>,
      tokenizer: this.tokenizer,
      trainingState: { tensors, state: { optimizer: status, user: state ?? null } },
      // float32 whatever the source checkpoint's dtype: these are the exact training state a resume continues from
    }, { dtype: 'float32', afterFile: () => killPoint('checkpoint-write') });
  }

  async load(dir: string): Promise<unknown> {
    const ck = loadCheckpoint(dir);
    const views = this.model.namedParams();
    for (const [name, view] of views) {
      const w = ck.weights.get(name);
      if (!w || w.length !== view.length) throw new PolicyError(`${dir}: tensor ${name} missing or of the wrong size for this model`);
      view.set(w);
    }
    const st = (ck.trainingState?.state ?? null) as { optimizer: OptimizerStatus | null; user: unknown } | null;
    if (st?.optimizer) {
      await this.configureOptimizer(st.optimizer.spec, { reset: true });
      const m = ck.trainingState!.tensors.get('optimizer.m');
      const v = ck.trainingState!.tensors.get('optimizer.v');
      if (!m || !v) throw new PolicyError(`${dir}: training state has an optimizer but no optimizer.m/optimizer.v tensors`);
      this.trainer!.state.m.set(m);
      this.trainer!.state.v.set(v);
      this.trainer!.state.step = st.optimizer.step;
    } else {
      this.trainer = null;
      this.spec = null;
    }
    return st?.user ?? null;
  }

  async snapshot(opts: { optimizer: boolean }): Promise<PolicySnapshot> {
    const t = this.trainer;
    const s: LocalSnapshot = {
      kind: 'local',
      withOptimizer: opts.optimizer,
      params: (this.model.params as Float32Array).slice(),
      optimizer: opts.optimizer && t && this.spec ? { spec: this.spec, step: t.state.step, m: (t.state.m as Float32Array).slice(), v: (t.state.v as Float32Array).slice() } : null,
    };
    return s;
  }

  async restore(snap: PolicySnapshot): Promise<void> {
    const s = snap as LocalSnapshot;
    if (s.kind !== 'local' || s.params.length !== this.model.params.length) throw new PolicyError('local policy: snapshot from another model');
    this.model.params.set(s.params);
    if (!s.withOptimizer) return;
    if (s.optimizer) {
      await this.configureOptimizer(s.optimizer.spec, { reset: true });
      this.trainer!.state.m.set(s.optimizer.m);
      this.trainer!.state.v.set(s.optimizer.v);
      this.trainer!.state.step = s.optimizer.step;
    } else {
      this.trainer = null;
      this.spec = null;
    }
  }
}

/** A Policy whose both sides are one LocalBackend. */
export function localPolicy(opts: LocalPolicyOptions): Policy & { backend: LocalBackend } {
  const backend = new LocalBackend(opts);
  return { ...composePolicy(backend, backend), backend };
}
