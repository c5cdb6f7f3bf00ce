// PRM training: the one training loop (train/loop.ts) over the PRM's policy, on examples whose loss is
// only at the step tags (TagPrm.examples); after each epoch's steps a validation pass printing step
// accuracy and AUC. The optimizer comes from the caller (`bstar prm train`: COMMAND_OPTIMIZERS['prm-train']
// with its flags), for the number of steps the data gives.
import { DivergenceGuard, DIVERGENCE_DEFAULTS, type DivergenceSettings } from '../../policy/divergence.js';
import { trainLoop, type StepReport } from '../../policy/trainLoop.js';
import { deriveSeed } from '../../util/rng.js';
import type { OptimizerSpec } from '../../policy/types.js';
import type { Annotation } from './annotation.js';
import { rocAuc, stepAccuracy } from './metrics.js';
import type { LabelledItem, ProcessRewardModel, TagPrm } from './model.js';

export interface PrmTrainOptions {
  epochs: number;
  batch: number;
  labels: 'hard' | 'soft';
  seed: number;
  /** The optimizer for a training of `totalSteps` steps of `microBatch` rows. */
  optimizer: (totalSteps: number, microBatch: number) => OptimizerSpec;
  /** Rows per forward (≤ the PRM policy's maxBatch); default batch (hard labels) or 2 × batch (soft). */
  microBatch?: number;
  divergence?: Partial<DivergenceSettings>;
  /** Every optimizer step (the CLI writes step records with phase 'prm'). */
  onStep?: (s: StepReport) => void;
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
export async function evaluateSteps(prm: ProcessRewardModel, rows: readonly Annotation[]): Promise<StepEval & { scores: number[][] }> {
  const scores = await prm.scoreSteps(rows.map((r) => ({ prompt: r.prompt, steps: r.steps })));
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

/** `epochs` × ceil(items / batch) optimizer steps, with a validation pass after each epoch's steps. */
export async function trainPrm(prm: TagPrm, train: readonly Annotation[], val: readonly Annotation[], o: PrmTrainOptions, log: (l: string) => void = console.log): Promise<StepEval[]> {
  const examples = prm.examples(labelled(train, o.labels));
  const perEpoch = Math.ceil(examples.length / o.batch);
  const total = Math.max(1, perEpoch * o.epochs);
  // a soft label doubles an example's rows (twin rows at its tags): one step is up to 2 × batch rows
  const microBatch = o.microBatch ?? (o.labels === 'soft' ? 2 * o.batch : o.batch);
  const spec = o.optimizer(total, microBatch);
  await prm.policy.configureOptimizer(spec, { reset: true });
  const guard = new DivergenceGuard({ ...DIVERGENCE_DEFAULTS, ...o.divergence }, { where: 'PRM training', lrSetting: { name: '--lr', value: spec.lr }, warmupSteps: spec.warmupSteps, warnSetting: '--divergence warn' }, log);
  const evals: StepEval[] = [];
  const t0 = performance.now();
  let lossSum = 0;
  await trainLoop(prm.policy, examples, {
    steps: total, batchSize: o.batch, seed: deriveSeed(o.seed, 'prm-train'), guard,
    onStep: async (s) => {
      o.onStep?.(s);
      lossSum += s.loss;
      if (s.loopStep % perEpoch !== 0 && s.loopStep !== total) return;
      const ev = await evaluateSteps(prm, val);
      const { scores: _s, ...row } = ev;
      evals.push(row);
      log(`  epoch ${evals.length}/${o.epochs}  train loss ${(lossSum / perEpoch).toFixed(4)}  val steps ${ev.steps}  acc ${ev.accuracy.toFixed(3)}  AUC ${ev.auc.toFixed(3)}` +
        (ev.truthAuc !== undefined ? `  AUC vs known truth ${ev.truthAuc.toFixed(3)}` : '') + `  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      lossSum = 0;
    },
  });
  return evals;
}
