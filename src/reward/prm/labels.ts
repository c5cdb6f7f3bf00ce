// MATH-Shepherd labels from rollouts: for the prefix ending at step i, N completions were sampled and
// their final answers verified. Hard estimation (HE): the step is good iff any rollout is correct;
// soft estimation (SE): the fraction of correct rollouts. The last step needs no rollouts: the
// solution's own verdict is its label (its "completion" is the empty string).
import { PrmError } from './errors.js';

export interface StepLabels {
  /** 0/1 per step (HE). */
  hard: number[];
  /** Fraction of correct rollouts per step (SE), in [0, 1]. */
  soft: number[];
}

/**
 * `rollouts[i]` = verdicts of the completions from the prefix ending at step i, for every step but the
 * last; `finalCorrect` = the whole solution's verdict (the last step's label).
 */
export function labelsFromRollouts(rollouts: readonly (readonly boolean[])[], finalCorrect: boolean): StepLabels {
  const hard: number[] = [];
  const soft: number[] = [];
  rollouts.forEach((r, i) => {
    if (r.length === 0) throw new PrmError('labelsFromRollouts', `rollouts[${i}]`, 'at least one rollout verdict', 'none');
    const c = r.filter(Boolean).length;
    hard.push(c > 0 ? 1 : 0);
    soft.push(c / r.length);
  });
  hard.push(finalCorrect ? 1 : 0);
  soft.push(finalCorrect ? 1 : 0);
  return { hard, soft };
}
