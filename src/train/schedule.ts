// Learning-rate schedules as multipliers of the base LR, with exactly the lambdas of Hugging Face
// transformers' get_{constant,linear,cosine}_schedule_with_warmup driven by torch's LambdaLR: the
// optimizer step with 0-based index s (the s-th call of optimizer.step()) uses lr = base·λ(s). So with
// warmup the very first step runs at lr 0 — as in torch — and warmup reaches the full LR at s = warmup.

export type ScheduleName = 'constant' | 'linear' | 'cosine';

export interface ScheduleSpec {
  schedule: ScheduleName;
  warmupSteps: number;
  /** Steps over which linear/cosine decay (HF's num_training_steps). */
  totalSteps: number;
  /** Cosine only: floor as a fraction of the base LR (0 = HF's cosine; the paper's code decays to 2e-7/4.12e-6). */
  minLrRatio: number;
}

/** λ(s) for the 0-based optimizer step s. */
export function lrMultiplier(spec: ScheduleSpec, s: number): number {
  const { warmupSteps: warmup, totalSteps: total } = spec;
  if (s < warmup) return s / Math.max(1, warmup);
  switch (spec.schedule) {
    case 'constant':
      return 1;
    case 'linear':
      return Math.max(0, (total - s) / Math.max(1, total - warmup));
    case 'cosine': {
      const progress = (s - warmup) / Math.max(1, total - warmup);
      const c = Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)));
      return spec.minLrRatio + (1 - spec.minLrRatio) * c;
    }
  }
}
