// The shared pieces every method is made of: sample → reward → select → train → evaluate. Each takes
// the method context and returns plain data plus the metrics of its phase; randomness comes from
// deriveSeed(config.seed, phase, iteration, …) only, so a resumed iteration repeats exactly.
import { summarizeMonitors, type MonitorSummary } from '../metrics/summary.js';
import { passAtK } from '../metrics/passAtK.js';
import { distinctEquations } from '../metrics/diversity.js';
import type { OptimizerSpec, SampleParams, TrainExample } from '../policy/types.js';
import { scoreCompletions, type RawCompletion } from '../reward/score.js';
import type { Query, Task } from '../tasks/types.js';
import { killPoint } from '../util/killpoint.js';
import { deriveSeed } from '../util/rng.js';
import { DivergenceGuard } from '../policy/divergence.js';
import { trainLoop, type LoopOutcome } from '../policy/trainLoop.js';
import type { Sample } from '../util/sample.js';
import type { MethodContext } from './context.js';
import type { MethodOptions } from './options.js';

export interface Timed {
  ms: number;
  tokens: number;
}

// ---------------------------------------------------------------------------------------------
// sample + reward

export interface ScoredPool {
  samples: Sample[];
  /** Completions the verifier could not judge (left out of the pool). */
  unjudged: number;
  timing: Timed;
}

/**
 * K samples per query at temperature T, verified and rewarded. `stream` names the random stream
 * (e.g. ['sample', i] or ['search', i, T]); each query's samples depend only on it, the weights and
 * the query id.
 */
export async function sampleScored(ctx: MethodContext, queries: readonly Query[], T: number, n: number, iteration: number, stream: (string | number)[], label: string): Promise<ScoredPool> {
  const c = ctx.config;
  const t0 = performance.now();
  const params: SampleParams = {
    n: T === 0 ? 1 : n,
    temperature: T,
    topP: c.sampling.topP,
    maxTokens: c.sampling.maxTokens,
    stop: ctx.task.stop ?? [],
    seed: deriveSeed(c.seed, ...stream),
  };
  ctx.progress.start(label, queries.length * params.n, 'samples');
  let tokens = 0;
  const out = await ctx.policy.sample(
    queries.map((q) => ({ id: q.id, prompt: ctx.task.formatPrompt(q) })),
    params,
    (done) => {
      ctx.progress.update(done);
      killPoint(stream[0] === 'search' ? 'search' : 'sample');
    },
  );
  ctx.progress.stop();
  const raw: RawCompletion[] = [];
  out.completions.forEach((group, r) =>
    group.forEach((comp, j) => {
      tokens += comp.tokens;
      raw.push({
        id: [...stream, queries[r].id, j].join('/'), query: queries[r], iteration, temperature: T, text: comp.text, tokens: comp.tokens, logprob: comp.logprob,
        ...(comp.promptIds ? { promptIds: comp.promptIds } : {}),
        ...(comp.completionIds ? { completionIds: comp.completionIds } : {}),
        ...(comp.tokenLogprobs ? { tokenLogprobs: comp.tokenLogprobs } : {}),
      });
    }),
  );
  const scored = await scoreCompletions(raw, { task: ctx.task, prm: ctx.prm, combine: c.reward.combine, aggregate: c.reward.aggregate });
  return { samples: scored.samples, unjudged: scored.unjudged.length, timing: { ms: performance.now() - t0, tokens } };
}

/** Per query id: its samples in sample order. */
export function byQuery(samples: readonly Sample[]): Map<string, Sample[]> {
  const m = new Map<string, Sample[]>();
  for (const s of samples) {
    const list = m.get(s.queryId);
    if (list) list.push(s);
    else m.set(s.queryId, [s]);
  }
  return m;
}

/** Queries whose sampled responses hold no correct one (no learning signal). */
export function zeroSignalIds(ids: readonly string[], samples: readonly Sample[]): string[] {
  const ok = new Set(samples.filter((s) => s.correct).map((s) => s.queryId));
  return ids.filter((id) => !ok.has(id));
}

// ---------------------------------------------------------------------------------------------
// train

export type OptimizerPhase = 'sft' | 'train';

/** The optimizer of SFT or of self-training, with a schedule of `totalSteps`. */
export function optimizerSpec(c: MethodOptions, phase: OptimizerPhase, totalSteps: number): OptimizerSpec {
  const o = phase === 'sft' ? c.sft.optimizer : c.train.optimizer;
  return { ...o, freeze: [...o.freeze], warmupSteps: Math.min(o.warmupSteps, Math.max(0, totalSteps - 1)), totalSteps: Math.max(1, totalSteps) };
}

/** Optimizer steps of one self-training iteration for a selection of `selected` samples. */
export function stepsPerIteration(c: MethodOptions, selected: number): number {
  if (c.train.stepsPerIteration !== null) return c.train.stepsPerIteration;
  return Math.max(1, Math.ceil((c.train.epochsPerIteration! * selected) / c.train.batchSize));
}

/** Planned steps of a whole run's self-training (one schedule across iterations). */
export function plannedRunSteps(c: MethodOptions): number {
  return c.iterations * stepsPerIteration(c, c.targetSamples);
}

/** The training loop's outcome (its positions and wall-clock as `timing`) and the optimizer's step after it. */
export interface TrainOutcome extends Omit<LoopOutcome, 'positions' | 'ms'> {
  optimizerStep: number;
  timing: Timed;
}

export interface TrainStepsOptions {
  steps: number;
  batchSize: number;
  /** Names the random stream of the example order (e.g. ['train', i]). */
  stream: (string | number)[];
  label: string;
  phase: OptimizerPhase;
  iteration: number;
  /** Runs after each step (awaited), e.g. to keep the SFT's per-epoch checkpoints (src/run/run.ts); it must not touch the training stream. */
  afterStep?: AfterStep;
}

/** Called after optimizer step `done` (1-based) of trainSteps (`tokens`: positions trained so far). */
export type AfterStep = (done: number, step: { loss: number; lr: number; tokens: number }) => Promise<void>;

/**
 * `steps` optimizer steps of `batchSize` examples through the one training loop (train/loop.ts):
 * seeded shuffles of the examples, the divergence guard (config.divergence; the phase's LR is named as
 * the likely cause), and every step reported to ctx.onStep. No examples → no steps (logged by the caller).
 */
export async function trainSteps(ctx: MethodContext, examples: readonly TrainExample[], o: TrainStepsOptions): Promise<TrainOutcome> {
  const spec = ctx.policy.optimizerStatus()?.spec;
  const where = o.phase === 'sft' ? 'sft' : `train (iteration ${o.iteration})`;
  const guard = new DivergenceGuard(ctx.config.divergence, {
    where, lrSetting: { name: `${o.phase}.lr`, value: spec?.lr ?? NaN }, warmupSteps: spec?.warmupSteps ?? 0,
  }, ctx.log);
  let positions = 0;
  const out = await trainLoop(ctx.policy, examples, {
    steps: o.steps, batchSize: o.batchSize, seed: deriveSeed(ctx.config.seed, ...o.stream), guard,
    onStep: ctx.onStep || o.afterStep
      ? async (s) => {
          positions += s.positions;
          await ctx.onStep?.(o.phase, o.iteration, s);
          await o.afterStep?.(s.loopStep, { loss: s.loss, lr: s.lr, tokens: positions });
        }
      : undefined,
    beforeStep: () => killPoint('train'), progress: ctx.progress, label: o.label,
  });
  const { positions: tokens, ms, ...loop } = out;
  return { ...loop, optimizerStep: ctx.policy.optimizerStatus()?.step ?? 0, timing: { ms, tokens } };
}

/** A query's gold solution texts: up to `variants` orders when the task has them, else the gold solution. */
export function goldTexts(task: Task, q: Query, variants: number): string[] {
  if (variants <= 1 || !task.goldSolutions) return [task.goldSolution(q)];
  const texts = task.goldSolutions(q, variants);
  if (texts.length === 0) return [task.goldSolution(q)];
  return texts.slice(0, variants);
}

/** Gold (prompt, solution) training examples of queries: up to sft.goldVariants per query, in query order. */
export function goldExamples(ctx: MethodContext, queries: readonly Query[]): { prompt: string; completion: string }[] {
  return queries.flatMap((q) => {
    const prompt = ctx.task.formatPrompt(q);
    return goldTexts(ctx.task, q, ctx.config.sft.goldVariants).map((completion) => ({ prompt, completion }));
  });
}

// ---------------------------------------------------------------------------------------------
// evaluate

export interface Evaluation {
  summary: MonitorSummary;
  /** n samples per test query at eval.temperature (with rewards) and the greedy ones. */
  samples: Sample[];
  greedy: Sample[];
  timing: Timed;
}

/** Pass@1 (greedy), and from eval.samples ≥ K samples per test query every other monitor. */
export async function evaluate(ctx: MethodContext, iteration: number): Promise<Evaluation> {
  const c = ctx.config;
  const t0 = performance.now();
  const greedy = await sampleScored(ctx, ctx.test, 0, 1, iteration, ['eval-greedy'], `eval ${iteration}: greedy`);
  const n = c.eval.samples;
  const sampled = await sampleScored(ctx, ctx.test, c.eval.temperature, n, iteration, ['eval'], `eval ${iteration}: ${n} samples/query`);
  const g = byQuery(greedy.samples);
  const s = byQuery(sampled.samples);
  // Unjudged samples are dropped; a query left with fewer than K is evaluated without them.
  const queries = ctx.test
    .filter((q) => (s.get(q.id)?.length ?? 0) >= c.eval.k)
    .map((q) => ({ queryId: q.id, samples: s.get(q.id)!, greedyCorrect: g.get(q.id)?.[0]?.correct }));
  const summary = summarizeMonitors(queries, {
    k: c.eval.k,
    s: c.eval.s,
    equations: ctx.task.equations?.bind(ctx.task),
    seed: deriveSeed(c.seed, 'eval-ci', iteration),
    level: c.eval.ciLevel,
    resamples: c.eval.bootstrapResamples,
  });
  return { summary, samples: sampled.samples, greedy: greedy.samples, timing: { ms: performance.now() - t0, tokens: greedy.timing.tokens + sampled.timing.tokens } };
}

/** Pool-level monitors of a training pool: Pass@K (K = samples per query) and distinct equations. */
export function poolMonitors(ctx: MethodContext, ids: readonly string[], samples: readonly Sample[]): { passAtK: number | null; distinct: number | null } {
  const m = byQuery(samples);
  const pk: number[] = [];
  const de: number[] = [];
  for (const id of ids) {
    const list = m.get(id) ?? [];
    if (list.length === 0) continue;
    pk.push(passAtK(list.length, list.filter((s) => s.correct).length, list.length));
    if (ctx.task.equations) {
      const d = distinctEquations(list, ctx.task.equations.bind(ctx.task));
      if (d !== null) de.push(d);
    }
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return { passAtK: mean(pk), distinct: mean(de) };
}
