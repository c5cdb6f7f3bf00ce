// The local policy: one LlamaModel on our engine is both the sampling side (a KV-cache Sampler over
// views of the model's own parameter buffer, so training is visible to sampling with no copy) and the
// training side (Trainer: AdamW, LR schedule, clipping, freezing, micro-batch accumulation).
//
// Token ids: a prompt is encoded once (BOS + text) and sampled from as ids, and each completion comes
// back with its prompt ids, its generated ids and their logprobs. Training an example that carries ids
// uses exactly them; one without (gold text) is encoded once: BOS + prompt, completion + EOS, so a
// trained gold completion ends the way a sampled one does.
import type { Kernels, Precision } from '../engine/kernels.js';
import { getKernels } from '../engine/index.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { contextLength, tinyModelConfig, withChanges, type ModelConfig, type TorchDtype } from '../model/config.js';
import { LlamaModel } from '../model/llama.js';
import { Sampler } from '../model/sampler.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { microBatches, type Example } from '../train/batch.js';
import { validateOptimizerSpec } from '../train/optimizer.js';
import { Trainer } from '../train/trainer.js';
import { killPoint } from '../util/killpoint.js';
import { Rng } from '../util/rng.js';
import { composePolicy } from './compose.js';
import {
  PolicyError, type Completion, type OptimizerSpec, type OptimizerStatus, type Policy, type PolicySnapshot, type ProgressFn,
  type NextTokenRequest, type SampleOutput, type SampleParams, type SampleRequest, type SamplingBackend, type ScoreRequest, type TrainExample,
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
  /** Activation checkpointing in the training model (ModelOptions.recompute). */
  recompute?: boolean;
  /** GEMM precision of training (forward and backward) and of sampling; default fp32. */
  trainPrecision?: Precision;
  samplingPrecision?: Precision;
}

interface LocalSnapshot extends PolicySnapshot {
  readonly kind: 'local';
  params: Float32Array;
  optimizer: { spec: OptimizerSpec; step: number; m: Float32Array; v: Float32Array } | null;
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
    this.model = new LlamaModel(opts.config, { maxBatch: opts.maxBatch, maxSeq: Math.min(opts.maxSeq, contextLength(opts.config)), kernels, recompute: opts.recompute, precision: opts.trainPrecision });
    if (this.model.dtype !== 'float32') throw new PolicyError('local policy: float32 models only');
    this.model.initWeights(opts.initSeed ?? 0);
    const weights = this.model.namedParams() as Map<string, Float32Array>;
    this.sampler = new Sampler(opts.config, weights, opts.tokenizer, { kernels, kvBudgetTokens: opts.kvBudgetTokens, precision: opts.samplingPrecision });
  }

  // ---------------------------------------------------------------------------------------------
  // sampling

  async sample(requests: readonly SampleRequest[], params: SampleParams, onProgress?: ProgressFn): Promise<SampleOutput> {
    const prompts = requests.map((r, i) => {
      try {
        return this.tokenizer.encode(r.prompt, { addBos: true });
      } catch (e) {
        throw new PolicyError(`local policy: requests[${i}].prompt (id ${JSON.stringify(r.id)}): ${(e as Error).message}`);
      }
    });
    const { samples, stats } = this.sampler.generate(
      requests.map((r, i) => ({ id: r.id, prompt: prompts[i] })),
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
    const completions = samples.map((group, r) =>
      group.map((s): Completion => ({
        text: s.text, tokens: s.tokens.length, logprob: s.logprob, finishReason: s.finishReason,
        promptIds: prompts[r], completionIds: s.tokens, tokenLogprobs: s.modelLogprobs,
      })),
    );
    return { completions, stats: { promptTokens: stats.prefillTokens, generatedTokens: stats.generatedTokens, ms: stats.totalMs } };
  }

  async logprobs(items: readonly ScoreRequest[]): Promise<number[][]> {
    return this.sampler.logprobs(items.map((i) => ({ prompt: i.prompt, completion: i.completion }))).map((r) => r.logprobs);
  }

  /**
   * Next-token log-probabilities at given positions, from the training model's forward (batches of up to
   * maxBatch items; a sequence longer than maxSeq is cut there and its positions past the cut are null).
   */
  async nextTokenLogprobs(items: readonly NextTokenRequest[], candidates: readonly number[]): Promise<(number[] | null)[][]> {
    const { maxBatch, maxSeq } = this.model;
    const V = this.config.vocab_size;
    candidates.forEach((c, k) => {
      if (!Number.isInteger(c) || c < 0 || c >= V) throw new PolicyError(`local policy: nextTokenLogprobs candidates[${k}] = ${c} is outside the vocabulary [0, ${V})`);
    });
    const out: (number[] | null)[][] = [];
    for (let start = 0; start < items.length; start += maxBatch) {
      const chunk = items.slice(start, start + maxBatch);
      const rows = chunk.map((it, i) => {
        if (it.ids.length === 0) throw new PolicyError(`local policy: nextTokenLogprobs items[${start + i}].ids is empty`);
        it.ids.forEach((t, k) => {
          if (!Number.isInteger(t) || t < 0 || t >= V) throw new PolicyError(`local policy: nextTokenLogprobs items[${start + i}].ids[${k}] = ${t} is outside the vocabulary [0, ${V})`);
        });
        return it.ids.slice(0, maxSeq);
      });
      const T = Math.max(...rows.map((r) => r.length));
      const inputs = new Int32Array(chunk.length * T).fill(this.tokenizer.padId);
      rows.forEach((r, b) => inputs.set(r, b * T));
      this.model.forward(inputs, null, null, chunk.length, T);
      const logits = this.model.logits();
      chunk.forEach((it, b) => out.push(it.positions.map((p, j) => {
        if (!Number.isInteger(p) || p < 0 || p >= it.ids.length) throw new PolicyError(`local policy: nextTokenLogprobs items[${start + b}].positions[${j}] = ${p} is outside [0, ${it.ids.length})`);
        if (p >= rows[b].length) return null;
        const off = (b * T + p) * V;
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[off + v]);
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits[off + v] - max);
        const lse = max + Math.log(sum);
        return candidates.map((c) => logits[off + c] - lse);
      })));
    }
    return out;
  }

  async syncWeights(from: TrainingBackend): Promise<void> {
    if (from !== this) throw new PolicyError('local policy: the local sampler can only serve its own model (use a fleet backend to sample from another trainer)');
  }

  // ---------------------------------------------------------------------------------------------
  // training

  /**
   * Token rows of training examples: their sampled ids as they are; text (gold) encoded once as BOS +
   * prompt, completion + EOS; token-level targets passed on (they need the ids).
   */
  examples(batch: readonly TrainExample[]): Example[] {
    const t = this.tokenizer;
    return batch.map((e, i) => {
      if (e.targets && !e.completionIds) throw new PolicyError(`local policy: training example ${i} has targets but no completionIds (targets index the ids)`);
      return {
        prompt: e.promptIds ?? t.encode(e.prompt, { addBos: true }),
        completion: e.completionIds ?? [...t.encode(e.completion), t.eosId],
        ...(e.targets ? { targets: e.targets } : {}),
      };
    });
  }

  async configureOptimizer(spec: OptimizerSpec, opts: { reset: boolean }): Promise<void> {
    if (!Number.isInteger(spec.microBatch) || spec.microBatch < 1 || spec.microBatch > this.model.maxBatch) {
      throw new PolicyError(`local policy: optimizer microBatch must be an integer in [1, ${this.model.maxBatch}], found ${spec.microBatch}`);
    }
    const old = this.trainer;
    const next = new Trainer(this.model, validateOptimizerSpec(spec, 'local policy: optimizer'));
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
    return trainer.step(mbs);
  }

  async evalLoss(batch: readonly TrainExample[]): Promise<number> {
    const micro = this.spec?.microBatch ?? this.model.maxBatch;
    const tr = this.trainer ?? new Trainer(this.model, {});
    return tr.evalLoss(this.batches(batch, micro));
  }

  // ---------------------------------------------------------------------------------------------
  // checkpoints and snapshots

  async save(dir: string, state: unknown, opts: { optimizer?: boolean; dtype?: TorchDtype } = {}): Promise<void> {
    const tensors = new Map<string, Float32Array>();
    const keep = opts.optimizer ?? true;
    const status = keep ? this.optimizerStatus() : null;
    if (this.trainer && keep) {
      tensors.set('optimizer.m', this.trainer.state.m as Float32Array);
      tensors.set('optimizer.v', this.trainer.state.v as Float32Array);
    }
    saveCheckpoint(dir, {
      config: this.config,
      weights: this.model.namedParams() as Map<string, Float32Array>,
      tokenizer: this.tokenizer,
      ...(keep || state !== null ? { trainingState: { tensors, state: { optimizer: status, user: state ?? null } } } : {}),
      // float32 unless told otherwise (bstar train --dtype): these are the exact training state a resume continues from
    }, { dtype: opts.dtype ?? 'float32', afterFile: () => killPoint('checkpoint-write') });
  }

  /**
   * A checkpoint's weights only (every tensor checked, read straight into the model's buffer): what a
   * run starting from a checkpoint takes. Its training state, if any, is another run's and stays there.
   */
  loadWeights(dir: string): void {
    loadCheckpoint(dir, { into: this.model.namedParams() as Map<string, Float32Array>, trainingState: false });
  }

  async load(dir: string): Promise<unknown> {
    // every tensor is checked and read straight into the model's buffer (a large model is never held twice)
    const ck = loadCheckpoint(dir, { into: this.model.namedParams() as Map<string, Float32Array> });
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

type SizeOptions = Omit<LocalPolicyOptions, 'config' | 'tokenizer' | 'maxSeq'> & { maxSeq?: number };

/**
 * A fresh local policy over `tokenizer`: the project's tiny Llama shape with the given HF config fields
 * (hidden_size, num_hidden_layers, …; validated by the model's config), special ids from the tokenizer,
 * weights from initSeed.
 */
export function freshLocalPolicy(tokenizer: Tokenizer, fields: Record<string, unknown>, opts: SizeOptions): Policy & { backend: LocalBackend } {
  const config = tinyModelConfig(tokenizer.vocabSize, { ...fields, bos_token_id: tokenizer.bosId, eos_token_id: tokenizer.eosId, pad_token_id: tokenizer.padId }, 'fresh local policy');
  return localPolicy({ ...opts, config, tokenizer, maxSeq: opts.maxSeq ?? contextLength(config) });
}

/**
 * A local policy on a checkpoint's weights (its training state is not loaded: call load() for that).
 * With `tokenizer` (a tokenizer extending the checkpoint's vocabulary, e.g. a PRM's step tag), the
 * model gains rows for the new ids in the embedding and the untied head, drawn N(0, initializer_range)
 * from Rng(newRowsSeed), embedding first.
 */
export function loadLocalPolicy(dir: string, opts: SizeOptions & { tokenizer?: Tokenizer; newRowsSeed?: number }): Policy & { backend: LocalBackend } {
  const ck = loadCheckpoint(dir, { trainingState: false });
  const tokenizer = opts.tokenizer ?? ck.tokenizer;
  if (!tokenizer) throw new PolicyError(`${dir}: no tokenizer.json beside the weights`);
  const oldV = ck.config.vocab_size;
  const V = Math.max(oldV, tokenizer.vocabSize);
  const config = V > oldV ? withChanges(ck.config, { vocab_size: V }, `${dir} (vocabulary grown to ${V} for the new tokens)`) : ck.config;
  const weights = new Map(ck.weights);
  if (V > oldV) {
    const C = config.hidden_size;
    const rng = new Rng(opts.newRowsSeed ?? 0);
    for (const name of ['model.embed_tokens.weight', 'lm_head.weight']) {
      const w = ck.weights.get(name);
      if (!w) continue;
      const g = new Float32Array(V * C);
      g.set(w);
      for (let i = oldV * C; i < V * C; i++) g[i] = rng.normal() * config.initializer_range;
      weights.set(name, g);
    }
  }
  const { tokenizer: _t, newRowsSeed: _s, ...rest } = opts;
  const p = localPolicy({ ...rest, config, tokenizer, maxSeq: opts.maxSeq ?? contextLength(config) });
  for (const [name, view] of p.backend.model.namedParams()) {
    const w = weights.get(name);
    if (!w || w.length !== view.length) throw new PolicyError(`${dir}: tensor ${name} ${w ? `has ${w.length} values, the model needs ${view.length}` : 'is missing'}`);
    view.set(w);
  }
  return p;
}
