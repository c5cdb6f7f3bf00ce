// The PRM: the policy's own decoder read at a step tag. After every step of a solution the tagged
// input carries one special token (the step tag); the model is trained to predict a label token there
// ('+' good step, '-' bad step), as MATH-Shepherd does, and P(good) = softmax over the two label
// logits at the tag. Why this rather than a scalar head: it is a plain LlamaForCausalLM (the HF layout
// and every engine path, trainer and checkpoint io work unchanged; transformers loads it as is), the
// loss is the trainer's masked cross-entropy with the mask at tag positions only, and a PRM started
// from the SFT policy begins from its language model rather than a fresh head. The official B-STaR
// code's "mean of the vocabulary logits" is a scalar head in disguise (notes §3.4); it would need a new
// tensor outside the HF Llama layout. Callers see only `ProcessRewardModel`.
//
// Tagged input of one solution (ids): BOS, prompt, step₁, TAG, sep, step₂, TAG, …, stepₙ, TAG.
// A soft label p trains as two rows (target '+' with weight p, target '-' with weight 1 − p): the
// cross-entropy against the soft two-point target.
import { LlamaModel } from '../../model/llama.js';
import { contextLength, withChanges } from '../../model/config.js';
import { loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../../model/checkpoint.js';
import { CharTokenizer } from '../../tokenizer/char.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import type { Batch } from '../../train/batch.js';
import { Rng, deriveSeed } from '../../util/rng.js';
import type { Kernels } from '../../engine/kernels.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PrmCheckpointError, PrmError } from './errors.js';
import { PRM_FILE, readPrmSpec, singleTokenId, vocabDigest, type PrmSpec } from './spec.js';
import type { StepSplit } from './steps.js';

/** One solution to score: the formatted prompt and its steps (`splitSteps`). */
export interface StepItem {
  prompt: string;
  steps: readonly string[];
}

/** A training item: one label in [0, 1] per step. */
export interface LabelledItem extends StepItem {
  labels: readonly number[];
}

export interface ProcessRewardModel {
  readonly spec: PrmSpec;
  /** P(step is good) ∈ [0, 1] for every step of every item; one forward per batch of items. */
  scoreSteps(items: readonly StepItem[]): number[][];
}

export interface TagIds {
  tag: number;
  pos: number;
  neg: number;
}

/** Tagged ids of one solution and where its tags are (one per step). */
export function tagSequence(tok: Tokenizer, ids: TagIds, item: StepItem, sep: string): { ids: number[]; tagPos: number[] } {
  const out = tok.encode(item.prompt, { addBos: true });
  const tagPos: number[] = [];
  const sepIds = tok.encode(sep);
  item.steps.forEach((s, i) => {
    if (i > 0) out.push(...sepIds);
    out.push(...tok.encode(s));
    tagPos.push(out.length);
    out.push(ids.tag);
  });
  return { ids: out, tagPos };
}

/**
 * Training rows: inputs = tagged ids, target at each tag = the label token, mask (= loss weight) only
 * there; everything else masked out. Hard labels give one row per item; a soft label p in (0, 1) adds
 * a twin row so the step trains towards '+' with weight p and '-' with weight 1 − p.
 */
export function tagBatch(tok: Tokenizer, ids: TagIds, items: readonly LabelledItem[], sep: string, padId: number, maxSeq = Infinity): Batch {
  const rows: { ids: number[]; marks: { t: number; target: number; w: number }[] }[] = [];
  items.forEach((it, n) => {
    if (it.labels.length !== it.steps.length) throw new PrmError('tagBatch', `items[${n}].labels`, `${it.steps.length} labels (one per step)`, String(it.labels.length));
    const seq = tagSequence(tok, ids, it, sep);
    // past the context: the row is cut and the steps whose tag falls beyond it are not trained on
    if (seq.ids.length > maxSeq) seq.ids = seq.ids.slice(0, maxSeq);
    const pos: { t: number; target: number; w: number }[] = [];
    const neg: { t: number; target: number; w: number }[] = [];
    it.labels.forEach((p, i) => {
      if (!(p >= 0 && p <= 1)) throw new PrmError('tagBatch', `items[${n}].labels[${i}]`, 'a number in [0, 1]', String(p));
      if (seq.tagPos[i] >= seq.ids.length) return;
      if (p > 0) pos.push({ t: seq.tagPos[i], target: ids.pos, w: p });
      if (p < 1) neg.push({ t: seq.tagPos[i], target: ids.neg, w: 1 - p });
    });
    if (pos.length + neg.length === 0) return;
    const soft = it.labels.some((p) => p > 0 && p < 1);
    if (!soft) rows.push({ ids: seq.ids, marks: [...pos, ...neg] });
    else {
      rows.push({ ids: seq.ids, marks: pos });
      rows.push({ ids: seq.ids, marks: neg });
    }
  });
  if (rows.length === 0) throw new PrmError('tagBatch', 'items', `at least one step tag within ${maxSeq} tokens`, `${items.length} items without one`);
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.ids.length));
  const inputs = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * T);
  let tokens = 0;
  rows.forEach((r, b) => {
    inputs.set(r.ids, b * T);
    for (const m of r.marks) {
      targets[b * T + m.t] = m.target;
      mask[b * T + m.t] = m.w;
      tokens += m.w;
    }
  });
  return { B, T, inputs, targets, mask, tokens };
}

/** P('+') against '-' at one position's logits: σ(ℓ₊ − ℓ₋). */
export function positiveProb(logits: ArrayLike<number>, off: number, ids: TagIds): number {
  return 1 / (1 + Math.exp(logits[off + ids.neg] - logits[off + ids.pos]));
}

export interface TagPrmOptions {
  maxBatch?: number;
  maxSeq?: number;
  kernels?: Kernels;
}

export class TagPrm implements ProcessRewardModel {
  readonly ids: TagIds;
  constructor(
    readonly model: LlamaModel,
    readonly tokenizer: Tokenizer,
    readonly spec: PrmSpec,
    where = 'PRM',
  ) {
    this.ids = {
      tag: singleTokenId(tokenizer, spec.step_tag, 'step_tag', where),
      pos: singleTokenId(tokenizer, spec.positive, 'positive', where),
      neg: singleTokenId(tokenizer, spec.negative, 'negative', where),
    };
  }

  get padId(): number {
    return this.tokenizer.padId;
  }

  batch(items: readonly LabelledItem[]): Batch {
    return tagBatch(this.tokenizer, this.ids, items, this.spec.steps.separator, this.padId, this.model.maxSeq);
  }

  scoreSteps(items: readonly StepItem[]): number[][] {
    const out: number[][] = [];
    const { maxBatch, maxSeq } = this.model;
    const V = this.model.config.vocab_size;
    for (let start = 0; start < items.length; start += maxBatch) {
      const chunk = items.slice(start, start + maxBatch);
      const seqs = chunk.map((it) => tagSequence(this.tokenizer, this.ids, it, this.spec.steps.separator));
      // Past the PRM's context: steps whose tag does not fit are not scored (as the official scorer
      // skips steps past the scored length); an item whose first tag does not fit is an error.
      seqs.forEach((s, i) => {
        if (s.ids.length <= maxSeq) return;
        s.ids = s.ids.slice(0, maxSeq);
        s.tagPos = s.tagPos.filter((t) => t < maxSeq);
        if (s.tagPos.length === 0) throw new PrmError('PRM scoring', `items[${start + i}]`, `its first step within the PRM's context (${maxSeq} tokens)`, 'no step tag before the end of the context');
      });
      const T = Math.max(...seqs.map((s) => s.ids.length));
      const inputs = new Int32Array(chunk.length * T).fill(this.padId);
      seqs.forEach((s, b) => inputs.set(s.ids, b * T));
      this.model.forward(inputs, null, null, chunk.length, T);
      const logits = this.model.logits();
      seqs.forEach((s, b) => out.push(s.tagPos.map((t) => positiveProb(logits, (b * T + t) * V, this.ids))));
    }
    return out;
  }

  /** Saves the PRM as an HF-layout checkpoint plus prm.json. */
  save(dir: string): void {
    const weights = new Map<string, Float32Array>();
    for (const [n, v] of this.model.namedParams()) weights.set(n, Float32Array.from(v));
    saveCheckpoint(dir, { config: this.model.config, weights, tokenizer: this.tokenizer });
    writeFileSync(path.join(dir, PRM_FILE), JSON.stringify(this.spec, null, 2) + '\n');
  }

  static load(dir: string, opts: TagPrmOptions = {}): TagPrm {
    const spec = readPrmSpec(dir);
    const ck = loadCheckpoint(dir, { trainingState: false });
    if (!ck.tokenizer) throw new PrmCheckpointError(dir, 'tokenizer.json', 'the PRM tokenizer (with the step tag)', 'no tokenizer.json');
    const model = modelFromCheckpoint(ck, opts);
    return new TagPrm(model, ck.tokenizer, spec, path.join(dir, PRM_FILE));
  }

  /**
   * A fresh PRM from a policy checkpoint (char tokenizer): the tokenizer gains the step tag (and the
   * label tokens if missing), the embedding and head gain rows for them (small random init), every
   * other weight is the policy's.
   */
  static fromPolicy(ck: LoadedCheckpoint, where: string, o: { split: StepSplit; task: string; labels: 'hard' | 'soft'; stepTag?: string; positive?: string; negative?: string; seed?: number } & TagPrmOptions): TagPrm {
    const tok = ck.tokenizer;
    if (!tok) throw new PrmCheckpointError(where, 'tokenizer.json', 'the policy tokenizer', 'none');
    if (!(tok instanceof CharTokenizer)) throw new PrmCheckpointError(where, 'tokenizer.json', 'a char tokenizer (other kinds cannot gain a step tag yet)', tok.kind);
    const stepTag = o.stepTag ?? '¶';
    const positive = o.positive ?? '+';
    const negative = o.negative ?? '-';
    const alphabet = [...tok.alphabet];
    for (const [f, s] of [['step_tag', stepTag], ['positive', positive], ['negative', negative]] as const) {
      if ([...s].length !== 1) throw new PrmError(where, f, 'one character (a char-tokenizer token)', JSON.stringify(s));
      if (f === 'step_tag' && alphabet.includes(s)) throw new PrmError(where, 'step_tag', 'a character the policy never writes (not in its alphabet)', JSON.stringify(s));
      if (!alphabet.includes(s)) alphabet.push(s);
    }
    const prmTok = new CharTokenizer(alphabet);
    const oldV = ck.config.vocab_size;
    const V = Math.max(oldV, prmTok.vocabSize);
    const cfg = withChanges(ck.config, { vocab_size: V }, `${where} (vocabulary grown for the step tag)`);
    const weights = new Map(ck.weights);
    const C = cfg.hidden_size;
    const rng = new Rng(deriveSeed(o.seed ?? 0, 'prm', 'new-rows'));
    const grow = (name: string, std: number) => {
      const w = ck.weights.get(name);
      if (!w) return;
      const g = new Float32Array(V * C);
      g.set(w);
      for (let i = oldV * C; i < V * C; i++) g[i] = rng.normal() * std;
      weights.set(name, g);
    };
    grow('model.embed_tokens.weight', cfg.initializer_range);
    grow('lm_head.weight', cfg.initializer_range);
    const model = new LlamaModel(cfg, { maxBatch: o.maxBatch ?? 16, maxSeq: o.maxSeq ?? contextLength(cfg), kernels: o.kernels });
    loadInto(model, weights, where);
    const spec: PrmSpec = {
      format: 'bstar-prm', version: 1, step_tag: stepTag, positive, negative, steps: o.split,
      base_vocab: { size: tok.vocabSize, sha256: vocabDigest(tok) }, labels: o.labels, task: o.task,
    };
    return new TagPrm(model, prmTok, spec, where);
  }
}

export function modelFromCheckpoint(ck: LoadedCheckpoint, opts: TagPrmOptions = {}): LlamaModel {
  const cfg = ck.config;
  const model = new LlamaModel(cfg, { maxBatch: opts.maxBatch ?? 16, maxSeq: opts.maxSeq ?? contextLength(cfg), kernels: opts.kernels });
  loadInto(model, ck.weights, 'checkpoint');
  return model;
}

function loadInto(model: LlamaModel, weights: Map<string, Float32Array>, where: string): void {
  for (const [name, view] of model.namedParams()) {
    const w = weights.get(name);
    if (!w || w.length !== view.length) throw new PrmCheckpointError(where, name, `a tensor of ${view.length} values`, w ? `${w.length}` : 'missing');
    view.set(w);
  }
}
