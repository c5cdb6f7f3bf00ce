// From completions to Sample records: verify each with the task, add PRM step scores when a scorer is
// given, combine into the reward. Samples the verifier could not judge are returned apart
// (`unjudged`), never as wrong.
import type { Query, Task, Verdict } from '../tasks/types.js';
import type { Sample } from '../util/sample.js';
import { answerReward, combineReward, type PrmScorer, type RewardCombine, type StepAggregate } from './combine.js';

export interface ScoreOptions {
  task: Task;
  prm?: PrmScorer;
  combine?: RewardCombine;
  /** Step scores → one: 'min' (paper, default) or 'mean'. */
  aggregate?: StepAggregate;
}

export interface RawCompletion {
  /** Becomes Sample.id. */
  id?: string;
  query: Query;
  iteration: number;
  temperature: number;
  text: string;
  tokens: number;
  logprob: number;
  promptIds?: readonly number[];
  completionIds?: readonly number[];
  tokenLogprobs?: readonly number[];
}

export interface ScoredBatch {
  samples: Sample[];
  unjudged: RawCompletion[];
}

export async function scoreCompletions(items: readonly RawCompletion[], opts: ScoreOptions): Promise<ScoredBatch> {
  const verdicts: Verdict[] = [];
  for (const it of items) verdicts.push(await opts.task.verify(it.text, it.query));
  const judged: number[] = [];
  const unjudged: RawCompletion[] = [];
  verdicts.forEach((v, i) => (answerReward(v) === null ? unjudged.push(items[i]) : judged.push(i)));
  const steps = opts.prm ? await opts.prm(judged.map((i) => ({ query: opts.task.formatPrompt(items[i].query), text: items[i].text }))) : undefined;
  const samples = judged.map((i, j): Sample => {
    const it = items[i];
    const v = verdicts[i];
    const a = answerReward(v) as 0 | 1;
    const s: Sample = {
      ...(it.id !== undefined ? { id: it.id } : {}),
      queryId: it.query.id,
      iteration: it.iteration,
      temperature: it.temperature,
      text: it.text,
      tokens: it.tokens,
      logprob: it.logprob,
      answer: v.answer,
      correct: v.correct,
      reward: combineReward(a, steps?.[j], opts.combine, opts.aggregate),
    };
    if (it.promptIds) s.promptIds = it.promptIds;
    if (it.completionIds) s.completionIds = it.completionIds;
    if (it.tokenLogprobs) s.tokenLogprobs = it.tokenLogprobs;
    if (steps) s.prmSteps = steps[j];
    return s;
  });
  return { samples, unjudged };
}
