// Scoring samples with a PRM and combining with the verifier.
//
// Step score: P(good) = p ∈ [0, 1] from the PRM. The sample record keeps every step's score, mapped:
//   paper    prmSteps[i] = 2·p_i − 1 ∈ [-1, 1];   reward = answerMatch + min_i prmSteps[i]
//   official prmSteps[i] = logit(p_i) (raw);      reward = answerMatch + min_i prmSteps[i] / 5
// (the official code's `min_step_PRM / 5.0 + orm`, unclipped). A sample with no step at all (empty
// text) is "broken": its PRM term is −1 (the official code's −5 / 5).
import type { Query, Task } from '../../tasks/types.js';
import type { Sample } from '../../util/sample.js';
import { PrmError } from './errors.js';
import type { ProcessRewardModel } from './model.js';
import { splitSteps } from './steps.js';

export type PrmCombination = 'paper' | 'official';

/** (items) → per-sample step scores P(positive) ∈ [0, 1]: the loop's PrmScorer contract. */
export type PrmScorer = (items: { query: Query; text: string }[]) => Promise<number[][]>;

/** Step probability → the number kept in prmSteps. */
export function mapStep(p: number, mode: PrmCombination): number {
  if (!(p >= 0 && p <= 1)) throw new PrmError('PRM step score', 'P(positive)', 'a probability in [0, 1]', String(p));
  if (mode === 'paper') return 2 * p - 1;
  const q = Math.min(Math.max(p, 1e-12), 1 - 1e-12); // logit of an exact 0/1 is ±∞; ±27.6 is what float64 can say
  return Math.log(q / (1 - q));
}

/** The PRM term of the reward: min over steps, in [-1, 1] for 'paper' (official: raw min logit / 5). */
export function prmTerm(prmSteps: readonly number[], mode: PrmCombination): number {
  if (prmSteps.length === 0) return -1;
  const m = Math.min(...prmSteps);
  return mode === 'paper' ? m : m / 5;
}

export function combinedReward(answerMatch: boolean, prmSteps: readonly number[], mode: PrmCombination): number {
  return (answerMatch ? 1 : 0) + prmTerm(prmSteps, mode);
}

/**
 * A PrmScorer over a ProcessRewardModel: splits each text into steps, scores the new ones in batches
 * (one forward per batch of samples), and caches by (query id, text).
 */
export function cachedPrmScorer(prm: ProcessRewardModel, task: Task): PrmScorer & { cache: Map<string, number[]>; forwards: number } {
  const cache = new Map<string, number[]>();
  const f = (async (items: { query: Query; text: string }[]) => {
    const key = (it: { query: Query; text: string }) => `${it.query.id}\u0000${it.text}`;
    const todo: { k: string; prompt: string; steps: string[] }[] = [];
    const queued = new Set<string>();
    for (const it of items) {
      const k = key(it);
      if (cache.has(k) || queued.has(k)) continue;
      queued.add(k);
      todo.push({ k, prompt: task.formatPrompt(it.query), steps: splitSteps(it.text, prm.spec.steps) });
    }
    const scorable = todo.filter((t) => t.steps.length > 0);
    for (const t of todo) if (t.steps.length === 0) cache.set(t.k, []);
    if (scorable.length > 0) {
      const scores = prm.scoreSteps(scorable);
      f.forwards++;
      scorable.forEach((t, i) => cache.set(t.k, scores[i]));
    }
    return items.map((it) => cache.get(key(it))!);
  }) as PrmScorer & { cache: Map<string, number[]>; forwards: number };
  f.cache = cache;
  f.forwards = 0;
  return f;
}

/** Fills prmSteps and reward of each sample (in place) from the scorer. */
export async function scoreSamples(samples: Sample[], queries: ReadonlyMap<string, Query>, scorer: PrmScorer, mode: PrmCombination): Promise<void> {
  const items = samples.map((s, i) => {
    const query = queries.get(s.queryId);
    if (!query) throw new PrmError('scoreSamples', `samples[${i}].queryId`, 'a query id of the task', JSON.stringify(s.queryId));
    return { query, text: s.text };
  });
  const probs = await scorer(items);
  samples.forEach((s, i) => {
    s.prmSteps = probs[i].map((p) => mapStep(p, mode));
    s.reward = combinedReward(s.correct, s.prmSteps, mode);
  });
}
