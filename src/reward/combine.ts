// Rewards (paper eq. 1): the verifier's answer match, plus an optional process-reward-model term.
//   answerReward(verdict)        1 correct, 0 wrong, null = the verifier could not judge (a sandbox
//                                error): "cannot judge" is not "wrong", and such samples are left out
//   prmMin(steps, 'paper')       2·min_s p_s − 1 ∈ [−1, 1]   (p_s = P(step s is positive) ∈ [0, 1])
//   prmMin(steps, 'official')    min_s logit(p_s) / 5         (the authors' code: raw logit / 5)
//   prmMin(steps, c, 'mean')     the same with the mean step score in place of the minimum (bstar's
//                                graded option: with the rule-based equation check, whose steps are
//                                0/1, the mean is the fraction of true steps, so the reward has many
//                                levels and the threshold τ has room to move; the min gives four)
//   combineReward(a, steps, c, g) a + prmMin(steps, c, g); without a PRM, reward = a
// Pure functions of numbers.
import type { Verdict } from '../tasks/types.js';

export type RewardCombine = 'paper' | 'official';
/** How the step scores become one score: the lowest (paper, official code) or their mean. */
export type StepAggregate = 'min' | 'mean';

/** Per-sample step scores: P(positive) ∈ [0, 1] for each step of each item's text. */
export type PrmScorer = (items: readonly { query: string; text: string }[]) => Promise<number[][]>;

/** A reward input out of range: names the field, expected and found. */
export class RewardError extends RangeError {
  constructor(field: string, expected: string, found: unknown) {
    super(`reward: ${field} must be ${expected}, found ${Array.isArray(found) ? `[${found.join(', ')}]` : String(found)}`);
    this.name = 'RewardError';
  }
}

/** Verdict reasons that mean the verifier could not judge (not that the answer is wrong). */
export function cannotJudge(v: Verdict): boolean {
  return v.reason.startsWith('error');
}

/**
 * The verifier reward. Example: answerReward({correct: true, answer: '7', reason: 'match'}) → 1;
 * {correct: false, reason: 'no-answer'} → 0; {correct: false, reason: 'error: sandbox crashed'} → null.
 */
export function answerReward(v: Verdict): 1 | 0 | null {
  if (cannotJudge(v)) return null;
  return v.correct ? 1 : 0;
}

/** Probabilities this close to 0 or 1 are taken at the bound for the logit (float32 sigmoid saturates). */
export const LOGIT_EPS = 1e-7;

/**
 * The PRM term of the reward. Example: prmMin([0.9, 0.6, 0.8], 'paper') → 2·0.6 − 1 = 0.2;
 * prmMin([0.5], 'official') → logit(0.5)/5 = 0; prmMin([1, 0, 1, 1], 'paper', 'mean') → 2·0.75 − 1 = 0.5.
 */
export function prmMin(steps: readonly number[], combine: RewardCombine = 'paper', aggregate: StepAggregate = 'min'): number {
  if (steps.length === 0) throw new RewardError('prm steps', 'at least one step score', '[]');
  steps.forEach((p, i) => {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RewardError(`prm steps[${i}]`, 'a probability in [0, 1]', p);
  });
  let m: number;
  if (aggregate === 'min') m = Math.min(...steps);
  else if (aggregate === 'mean') m = steps.reduce((a, b) => a + b, 0) / steps.length;
  else throw new RewardError('aggregate', '"min" or "mean"', aggregate);
  if (combine === 'paper') return 2 * m - 1;
  if (combine === 'official') {
    const q = Math.min(Math.max(m, LOGIT_EPS), 1 - LOGIT_EPS);
    return Math.log(q / (1 - q)) / 5;
  }
  throw new RewardError('combine', '"paper" or "official"', combine);
}

/**
 * The training reward: answerMatch + prmMin (with PRM step scores) or answerMatch alone.
 * Example: combineReward(1, [0.9, 0.6], 'paper') → 1.2; combineReward(0, undefined) → 0;
 * combineReward(1, [1, 0, 1], 'paper', 'mean') → 1 + 2·(2/3) − 1 = 4/3.
 */
export function combineReward(answerMatch: 0 | 1, steps?: readonly number[], combine: RewardCombine = 'paper', aggregate: StepAggregate = 'min'): number {
  if (answerMatch !== 0 && answerMatch !== 1) throw new RewardError('answerMatch', '0 or 1', answerMatch);
  return steps === undefined ? answerMatch : answerMatch + prmMin(steps, combine, aggregate);
}
