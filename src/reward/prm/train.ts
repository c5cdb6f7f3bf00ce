// PRM training: SFT with the loss only at step-tag positions (TagPrm.batch), per epoch a validation
// pass printing step accuracy and AUC.
import { Trainer, type TrainConfig } from '../../train/trainer.js';
import { Rng, deriveSeed } from '../../util/rng.js';
import type { Annotation } from './annotation.js';
import { rocAuc, stepAccuracy } from './metrics.js';
import type { LabelledItem, ProcessRewardModel, TagPrm } from './model.js';

export interface PrmTrainOptions {
  epochs: number;
  batch: number;
  lr: number;
  labels: 'hard' | 'soft';
  seed: number;
  warmupSteps?: number;
  freeze?: string[];
}

export interface StepEval {
  steps: number;
  accuracy: number;
  auc: number;
  /** Agreement with the known step labels of corrupted gold solutions (when the file has them). */
  truthAuc?: number;
}

export function labelled(rows: readonly Annotation[], labels: 'hard' | 'soft'): LabelledItem[] {
  return rows.map((r) => ({ prompt: r.prompt, steps: r.steps, labels: labels === 'hard' ? r.hard : r.soft }));
}

/** Step accuracy and AUC of the PRM's P(good) against the hard labels (and the known truth, if any). */
export function evaluateSteps(prm: ProcessRewardModel, rows: readonly Annotation[]): StepEval & { scores: number[][] } {
  const scores = prm.scoreSteps(rows.map((r) => ({ prompt: r.prompt, steps: r.steps })));
  // steps past the PRM's context have no score: compare the scored ones only
  const s = scores.flat();
  const l = rows.flatMap((r, i) => r.hard.slice(0, scores[i].length));
  const trS = rows.flatMap((r, i) => (r.truth ? scores[i] : []));
  const trL = rows.flatMap((r, i) => (r.truth ? r.truth.slice(0, scores[i].length) : []));
  return {
    steps: s.length, accuracy: stepAccuracy(s, l), auc: rocAuc(s, l), scores,
    ...(trS.length ? { truthAuc: rocAuc(trS, trL) } : {}),
  };
}

export function trainPrm(prm: TagPrm, train: readonly Annotation[], val: readonly Annotation[], o: PrmTrainOptions, log: (l: string) => void = console.log): StepEval[] {
  const items = labelled(train, o.labels);
  const perEpoch = Math.ceil(items.length / o.batch);
  const total = Math.max(1, perEpoch * o.epochs);
  const cfg: Partial<TrainConfig> = {
    lr: o.lr, betas: [0.9, 0.95], weight_decay: 0, schedule: 'cosine', warmup_steps: o.warmupSteps ?? Math.floor(total / 10),
    total_steps: total, min_lr_ratio: 0.1, max_grad_norm: 1, freeze: o.freeze ?? [],
  };
  const trainer = new Trainer(prm.model, cfg);
  const rng = new Rng(deriveSeed(o.seed, 'prm-train'));
  const evals: StepEval[] = [];
  const t0 = performance.now();
  for (let e = 0; e < o.epochs; e++) {
    const order = items.map((_, i) => i);
    rng.shuffle(order);
    let lossSum = 0;
    for (let s = 0; s < perEpoch; s++) {
      const chunk = order.slice(s * o.batch, (s + 1) * o.batch).map((i) => items[i]);
      // soft labels double rows: split so a micro-batch never exceeds the model's maxBatch
      const half = Math.max(1, Math.floor(prm.model.maxBatch / 2));
      const mbs = [];
      for (let i = 0; i < chunk.length; i += half) mbs.push(prm.batch(chunk.slice(i, i + half)));
      lossSum += trainer.step(mbs).loss;
    }
    const ev = evaluateSteps(prm, val);
    const { scores: _s, ...row } = ev;
    evals.push(row);
    log(`  epoch ${e + 1}/${o.epochs}  train loss ${(lossSum / perEpoch).toFixed(4)}  val steps ${ev.steps}  acc ${ev.accuracy.toFixed(3)}  AUC ${ev.auc.toFixed(3)}` +
      (ev.truthAuc !== undefined ? `  AUC vs known truth ${ev.truthAuc.toFixed(3)}` : '') + `  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  return evals;
}
