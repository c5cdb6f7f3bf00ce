// Injected error modes for the embedded arith task (the PRM's end-to-end proof): a gold solution with
// one arithmetic slip in a middle step.
//   slip:  step j's result is off by δ and later steps use the wrong value → a wrong final answer
//          (steps ≥ j are wrong).
//   lucky: step j writes a wrong result but later steps use the right value → the final answer is
//          right "by luck" while step j is wrong.
// δ and j are drawn from a seed per (query, kind), so every corrupted sample of one query repeats the
// same mistake: a systematic error, the case where majority voting fails and step checking helps.
import { arithPlan, renderStep, type ArithStep } from '../../tasks/arith.js';
import type { Query } from '../../tasks/types.js';
import { Rng, deriveSeed } from '../../util/rng.js';

export type CorruptionKind = 'slip' | 'lucky';

export interface Corrupted {
  text: string;
  /** True step labels (1 good, 0 wrong), one per rendered step (the answer line joins the last step). */
  truth: number[];
  answer: number;
}

function apply(op: string, a: number, b: number): number {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    default: return a / b;
  }
}

function val(steps: readonly ArithStep[], o: ArithStep['a']): number {
  return 'n' in o ? o.n : steps[o.s].value;
}

/** A corrupted gold solution of an arith query, or null when the problem has no middle step to corrupt. */
export function corruptArith(q: Query, kind: CorruptionKind, seed: number): Corrupted | null {
  const plan = arithPlan(q);
  const n = plan.steps.length;
  if (n < 2 || plan.steps[n - 1].value !== plan.answer) return null;
  const rng = new Rng(deriveSeed(seed, 'corrupt', kind, q.id));
  for (let tries = 0; tries < 20; tries++) {
    const j = rng.int(n - 1); // any step but the last
    const mag = [1, 2, 3, 10][rng.int(4)];
    const delta = rng.int(2) === 0 ? -mag : mag;
    const wrong = plan.steps[j].value + delta;
    if (wrong < 0) continue;
    const steps = plan.steps.map((s) => ({ ...s }));
    steps[j].value = wrong;
    if (kind === 'slip') {
      let ok = true;
      for (let k = j + 1; k < n; k++) {
        const v = apply(steps[k].op, val(steps, steps[k].a), val(steps, steps[k].b));
        if (!Number.isInteger(v) || v < 0) ok = false;
        steps[k].value = v;
      }
      if (!ok || steps[n - 1].value === plan.answer) continue;
      const lines = steps.map((_, i) => renderStep(steps, i));
      const answer = steps[n - 1].value;
      return { text: [...lines, `#### ${answer}`].join('\n'), truth: steps.map((_, i) => (i < j ? 1 : 0)), answer };
    }
    // lucky: only step j's own line shows the wrong result
    const lines = plan.steps.map((_, i) => (i === j ? renderStep(steps, j) : renderStep(plan.steps, i)));
    return { text: [...lines, `#### ${plan.answer}`].join('\n'), truth: plan.steps.map((_, i) => (i === j ? 0 : 1)), answer: plan.answer };
  }
  return null;
}
