// The PRM: a policy read at a step tag. After every step of a solution the tagged input carries one
// special token (the step tag); the model is trained to predict a label token there ('+' good step,
// '-' bad step), as MATH-Shepherd does, and P(good) = softmax over the two label tokens at the tag. Why
// this rather than a scalar head: it is a plain causal LM (the HF layout and every engine path,
// trainer and checkpoint io work unchanged; transformers loads it as is), the loss is the trainer's
// masked cross-entropy at the tag positions only, and a PRM started from the SFT policy begins from
// its language model rather than a fresh head. The official B-STaR code's "mean of the vocabulary
// logits" is a scalar head in disguise (notes §3.4); it would need a new tensor outside the HF layout.
// Callers see only `ProcessRewardModel`.
//
// The PRM holds a Policy and nothing of the model: it trains through policy.train (examples whose
// token-level targets sit at the tags, so the one training loop and any training backend — local or an
// external trainer running `bstar train` — train it) and scores through policy.nextTokenLogprobs (the
// local engine, or a vLLM fleet serving the PRM checkpoint).
//
// Tagged ids of one solution: prompt = BOS + prompt; completion = step₁, TAG, sep, step₂, TAG, …,
// stepₙ, TAG. A soft label p trains as two targets at its tag ('+' with weight p, '-' with 1 − p): the
// cross-entropy against the soft two-point target.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Kernels } from '../../engine/kernels.js';
import { loadLocalPolicy } from '../../policy/local.js';
import type { Policy, TrainExample } from '../../policy/types.js';
import { CharTokenizer } from '../../tokenizer/char.js';
import { loadTokenizer } from '../../tokenizer/index.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { deriveSeed } from '../../util/rng.js';
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
  /** P(step is good) ∈ [0, 1] for every step of every item (batched through the policy). */
  scoreSteps(items: readonly StepItem[]): Promise<number[][]>;
}

export interface TagIds {
  tag: number;
  pos: number;
  neg: number;
}

/** Tagged ids of one solution: prompt ids (BOS + prompt), completion ids and where its tags are in them (one per step). */
export function tagSequence(tok: Tokenizer, ids: TagIds, item: StepItem, sep: string): { promptIds: number[]; completionIds: number[]; tagAt: number[] } {
  const promptIds = tok.encode(item.prompt, { addBos: true });
  const completionIds: number[] = [];
  const tagAt: number[] = [];
  const sepIds = tok.encode(sep);
  item.steps.forEach((s, i) => {
    if (i > 0) completionIds.push(...sepIds);
    completionIds.push(...tok.encode(s));
    tagAt.push(completionIds.length);
    completionIds.push(ids.tag);
  });
  return { promptIds, completionIds, tagAt };
}

/**
 * Training examples: the tagged ids with token-level targets at the tags only — '+' with weight p and
 * '-' with weight 1 − p for label p (a hard label gives one target). The trainer cuts an example past
 * its context; the steps whose tag falls beyond it are not trained on.
 */
export function tagExamples(tok: Tokenizer, ids: TagIds, items: readonly LabelledItem[], sep: string): TrainExample[] {
  return items.map((it, n) => {
    if (it.labels.length !== it.steps.length) throw new PrmError('PRM examples', `items[${n}].labels`, `${it.steps.length} labels (one per step)`, String(it.labels.length));
    const seq = tagSequence(tok, ids, it, sep);
    const targets: { at: number; token: number; weight: number }[] = [];
    it.labels.forEach((p, i) => {
      if (!(p >= 0 && p <= 1)) throw new PrmError('PRM examples', `items[${n}].labels[${i}]`, 'a number in [0, 1]', String(p));
      if (p > 0) targets.push({ at: seq.tagAt[i], token: ids.pos, weight: p });
      if (p < 1) targets.push({ at: seq.tagAt[i], token: ids.neg, weight: 1 - p });
    });
    return { prompt: it.prompt, completion: tok.decode(seq.completionIds), promptIds: seq.promptIds, completionIds: seq.completionIds, targets };
  });
}

/** P('+') against '-' from their log-probabilities (or logits) at one position: σ(ℓ₊ − ℓ₋). */
export function positiveProb(lpPos: number, lpNeg: number): number {
  return 1 / (1 + Math.exp(lpNeg - lpPos));
}

export interface TagPrmOptions {
  maxBatch?: number;
  maxSeq?: number;
  kernels?: Kernels;
}

export class TagPrm implements ProcessRewardModel {
  readonly ids: TagIds;
  constructor(
    readonly policy: Policy,
    readonly tokenizer: Tokenizer,
    readonly spec: PrmSpec,
    where = 'PRM',
  ) {
    this.ids = tagIds(tokenizer, spec, where);
  }

  /** Training examples of labelled items (targets at the tags). */
  examples(items: readonly LabelledItem[]): TrainExample[] {
    return tagExamples(this.tokenizer, this.ids, items, this.spec.steps.separator);
  }

  /**
   * P(good) per step through policy.nextTokenLogprobs at the tags. Past the PRM's context the steps
   * whose tag does not fit are not scored (as the official scorer skips steps past the scored length);
   * an item whose first tag does not fit is an error.
   */
  async scoreSteps(items: readonly StepItem[]): Promise<number[][]> {
    const seqs = items.map((it) => tagSequence(this.tokenizer, this.ids, it, this.spec.steps.separator));
    const lps = await this.policy.nextTokenLogprobs(
      seqs.map((s) => ({ ids: [...s.promptIds, ...s.completionIds], positions: s.tagAt.map((a) => s.promptIds.length + a) })),
      [this.ids.pos, this.ids.neg],
    );
    return lps.map((perTag, i) => {
      const scored = perTag.filter((x): x is number[] => x !== null);
      if (scored.length === 0 && perTag.length > 0) throw new PrmError('PRM scoring', `items[${i}]`, "its first step within the PRM's context", 'no step tag before the end of the context');
      return scored.map(([p, n]) => positiveProb(p, n));
    });
  }

  /** Saves the PRM as an HF-layout checkpoint (weights and tokenizer, no optimizer state) plus prm.json. */
  async save(dir: string): Promise<void> {
    await this.policy.save(dir, null, { optimizer: false });
    writeFileSync(path.join(dir, PRM_FILE), JSON.stringify(this.spec, null, 2) + '\n');
  }

  /** A PRM checkpoint on a local policy. */
  static load(dir: string, opts: TagPrmOptions = {}): TagPrm {
    const spec = readPrmSpec(dir);
    const tok = prmTokenizer(dir);
    tagIds(tok, spec, path.join(dir, PRM_FILE)); // before the weights load: a bad prm.json fails fast
    const policy = loadLocalPolicy(dir, { maxBatch: opts.maxBatch ?? 16, ...(opts.maxSeq ? { maxSeq: opts.maxSeq } : {}), ...(opts.kernels ? { kernels: opts.kernels } : {}) });
    return new TagPrm(policy, tok, spec, path.join(dir, PRM_FILE));
  }

  /**
   * A fresh PRM from a policy checkpoint (char tokenizer) on a local policy: the tokenizer gains the step
   * tag (and the label tokens if missing), the embedding and head gain rows for them (small random
   * init), every other weight is the policy's.
   */
  static fromPolicy(dir: string, o: { split: StepSplit; task: string; labels: 'hard' | 'soft'; stepTag?: string; positive?: string; negative?: string; seed?: number } & TagPrmOptions): TagPrm {
    const tok = prmTokenizer(dir, 'the policy tokenizer');
    if (!(tok instanceof CharTokenizer)) throw new PrmCheckpointError(dir, 'tokenizer.json', 'a char tokenizer (other kinds cannot gain a step tag yet)', tok.kind);
    const stepTag = o.stepTag ?? '¶';
    const positive = o.positive ?? '+';
    const negative = o.negative ?? '-';
    const alphabet = [...tok.alphabet];
    for (const [f, s] of [['step_tag', stepTag], ['positive', positive], ['negative', negative]] as const) {
      if ([...s].length !== 1) throw new PrmError(dir, f, 'one character (a char-tokenizer token)', JSON.stringify(s));
      if (f === 'step_tag' && alphabet.includes(s)) throw new PrmError(dir, 'step_tag', 'a character the policy never writes (not in its alphabet)', JSON.stringify(s));
      if (!alphabet.includes(s)) alphabet.push(s);
    }
    const prmTok = new CharTokenizer(alphabet);
    const policy = loadLocalPolicy(dir, {
      tokenizer: prmTok, newRowsSeed: deriveSeed(o.seed ?? 0, 'prm', 'new-rows'), maxBatch: o.maxBatch ?? 16,
      ...(o.maxSeq ? { maxSeq: o.maxSeq } : {}), ...(o.kernels ? { kernels: o.kernels } : {}),
    });
    const spec: PrmSpec = {
      format: 'bstar-prm', version: 1, step_tag: stepTag, positive, negative, steps: o.split,
      base_vocab: { size: tok.vocabSize, sha256: vocabDigest(tok) }, labels: o.labels, task: o.task,
    };
    return new TagPrm(policy, prmTok, spec, dir);
  }
}

/** The step tag's and the label tokens' ids, or a PrmCheckpointError naming the prm.json field. */
function tagIds(tok: Tokenizer, spec: PrmSpec, where: string): TagIds {
  return {
    tag: singleTokenId(tok, spec.step_tag, 'step_tag', where),
    pos: singleTokenId(tok, spec.positive, 'positive', where),
    neg: singleTokenId(tok, spec.negative, 'negative', where),
  };
}

/** The tokenizer beside a checkpoint's weights, or a PrmCheckpointError. */
function prmTokenizer(dir: string, what = 'the PRM tokenizer (with the step tag)'): Tokenizer {
  try {
    return loadTokenizer(dir);
  } catch (e) {
    throw new PrmCheckpointError(dir, 'tokenizer.json', what, (e as Error).message);
  }
}
