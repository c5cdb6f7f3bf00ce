// The PRM side of the loop's `PrmScorer` contract (src/reward/combine.ts): items are (formatted prompt,
// completion text); the answer is each text's step scores P(positive) ∈ [0, 1]. The combination with
// the verifier (paper: answer + 2·min − 1; official: answer + min logit / 5) is reward/combine.ts's;
// the sample record keeps these probabilities in prmSteps.
//
// A text with no step at all (empty, whitespace) is "broken": it gets one step with P = 0, the
// lowest score (the official code gives broken outputs its lowest score, −5 → −1, too).
import { loadTokenizer } from '../../tokenizer/index.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import type { PrmScorer } from '../combine.js';
import { TagPrm, type ProcessRewardModel, type TagPrmOptions } from './model.js';
import { checkPolicyVocab } from './spec.js';
import { splitSteps } from './steps.js';

export type { PrmScorer };

/**
 * A PrmScorer over a ProcessRewardModel: splits each text into steps, scores the new ones together
 * (batched forwards over samples, never one per step), and caches by (prompt, text).
 */
export function cachedPrmScorer(prm: ProcessRewardModel): PrmScorer & { cache: Map<string, number[]>; calls: number } {
  const cache = new Map<string, number[]>();
  const f = (async (items: readonly { query: string; text: string }[]) => {
    const key = (it: { query: string; text: string }) => `${it.query}\u0000${it.text}`;
    const todo: { k: string; prompt: string; steps: string[] }[] = [];
    const queued = new Set<string>();
    for (const it of items) {
      const k = key(it);
      if (cache.has(k) || queued.has(k)) continue;
      queued.add(k);
      todo.push({ k, prompt: it.query, steps: splitSteps(it.text, prm.spec.steps) });
    }
    const scorable = todo.filter((t) => t.steps.length > 0);
    for (const t of todo) if (t.steps.length === 0) cache.set(t.k, [0]);
    if (scorable.length > 0) {
      const scores = await prm.scoreSteps(scorable);
      f.calls++;
      scorable.forEach((t, i) => cache.set(t.k, scores[i]));
    }
    return items.map((it) => cache.get(key(it))!);
  }) as PrmScorer & { cache: Map<string, number[]>; calls: number };
  f.cache = cache;
  f.calls = 0;
  return f;
}

/**
 * The loop's PRM from `reward.prm.checkpoint`: loads the PRM, checks the policy's tokenizer has the
 * PRM's base vocabulary (when given), and returns the cached scorer.
 */
export function loadPrmScorer(dir: string, opts: TagPrmOptions & { policyTokenizer?: Tokenizer; policyName?: string } = {}): PrmScorer {
  const prm = TagPrm.load(dir, { maxBatch: opts.maxBatch ?? 32, ...opts });
  if (opts.policyTokenizer) checkPolicyVocab(prm.spec, opts.policyTokenizer, dir, opts.policyName ?? 'the policy');
  return cachedPrmScorer(prm);
}
