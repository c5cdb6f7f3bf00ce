// The one training loop. SFT and self-training inside a run (methods/pieces.ts), `bstar train`
// (cli/train.ts), the PRM's SFT policy (reward/prm/sftPolicy.ts) and PRM training (reward/prm/train.ts)
// all run `trainLoop` over the Policy's training side, whose local backend is the one trainer
// (Trainer: AdamW, schedule, clipping, freezing, accumulation). Per step it
//   takes the next `batchSize` examples of a walk over seeded permutations of the examples (a fresh
//     permutation each pass; a step may straddle two passes), so `steps` can be any number;
//   runs one optimizer step (trainer.train);
//   hands the divergence guard the outcome (stop or warn, guard.ts);
//   reports the step (onStep: loss, LR, grad norm, tokens/s, padding share) — the run writes these
//     as metrics.jsonl step records.
// The loop imports nothing above train/: anything with a `train(batch)` (a Policy, a TrainingBackend)
// drives it.
import { Rng } from '../util/rng.js';
import type { DivergenceGuard } from './divergence.js';
import type { StepResult } from '../train/trainer.js';

/** What the loop trains through: one optimizer step per call. */
export interface StepTrainer<E> {
  train(batch: readonly E[]): Promise<StepResult>;
}

/** One step as the loop saw it: the trainer's result plus wall-clock and batch shape. */
export interface StepReport extends StepResult {
  /** 1-based step within this loop call (`step` is the optimizer's, which may continue across calls). */
  loopStep: number;
  /** Wall-clock of the step. */
  ms: number;
  /** Real (non-padding) positions per second of wall-clock. */
  tokensPerSecond: number;
  /** Share of the computed positions that were padding, 0..1. */
  padding: number;
}

export interface LoopProgress {
  start(label: string, total: number, unit: string): void;
  update(done: number, tokens?: number): void;
  stop(): void;
}

export interface TrainLoopOptions {
  steps: number;
  batchSize: number;
  /** Seed of the example order. */
  seed: number;
  guard?: DivergenceGuard;
  /** Called after each step (after the guard), awaited before the next one. */
  onStep?: (s: StepReport) => void | Promise<void>;
  /** Called before each step with its 0-based index (test kill points). */
  beforeStep?: (i: number) => void;
  progress?: LoopProgress;
  label?: string;
}

export interface LoopOutcome {
  steps: number;
  examples: number;
  lossFirst: number | null;
  lossLast: number | null;
  lossMean: number | null;
  lrLast: number | null;
  gradNormLast: number | null;
  /** Positions computed (all rows × length) and wall-clock of the whole loop. */
  positions: number;
  ms: number;
}

/** `steps` optimizer steps of `batchSize` examples each. No examples → no steps. */
export async function trainLoop<E>(trainer: StepTrainer<E>, examples: readonly E[], o: TrainLoopOptions): Promise<LoopOutcome> {
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new RangeError(`training loop: steps must be an integer ≥ 0, found ${o.steps}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new RangeError(`training loop: batchSize must be an integer ≥ 1, found ${o.batchSize}`);
  const t0 = performance.now();
  const rng = new Rng(o.seed);
  let order: number[] = [];
  let pos = 0;
  let positions = 0;
  const losses: number[] = [];
  let last: StepResult | null = null;
  if (examples.length > 0 && o.steps > 0) {
    o.progress?.start(o.label ?? 'train', o.steps, 'steps');
    try {
      for (let s = 0; s < o.steps; s++) {
        const batch: E[] = [];
        while (batch.length < o.batchSize) {
          if (pos >= order.length) {
            order = rng.shuffle(examples.map((_, i) => i));
            pos = 0;
          }
          batch.push(examples[order[pos++]]);
        }
        o.beforeStep?.(s);
        const t = performance.now();
        const r = await trainer.train(batch);
        const ms = performance.now() - t;
        losses.push(r.loss);
        positions += r.positions;
        last = r;
        o.guard?.check(r);
        const real = r.positions - r.padded;
        await o.onStep?.({ ...r, loopStep: s + 1, ms, tokensPerSecond: ms > 0 ? (real / ms) * 1000 : 0, padding: r.positions > 0 ? r.padded / r.positions : 0 });
        o.progress?.update(s + 1, positions);
      }
    } finally {
      o.progress?.stop();
    }
  }
  return {
    steps: losses.length,
    examples: examples.length,
    lossFirst: losses[0] ?? null,
    lossLast: losses.at(-1) ?? null,
    lossMean: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : null,
    lrLast: last?.lr ?? null,
    gradNormLast: last?.gradNorm ?? null,
    positions,
    ms: performance.now() - t0,
  };
}
