// The shared pieces every method is made of: sample → reward → select → train → evaluate. Each takes
// the method context and returns plain data plus the metrics of its phase; randomness comes from
// deriveSeed(config.seed, phase, iteration, …) only, so a resumed iteration repeats exactly.
import { summarizeMonitors, type MonitorSummary } from '../metrics/summary.js';
import { passAtK } from '../metrics/passAtK.js';
import { distinctEquations } from '../metrics/diversity.js';
import type { OptimizerSpec, SampleParams } from '../policy/types.js';
import { scoreCompletions, type RawCompletion } from '../reward/score.js';
import type { Config } from '../run/config.js';
import type { Query, Task } from '../tasks/types.js';
import { killPoint } from '../util/killpoint.js';
import { deriveSeed, Rng } from '../util/rng.js';
import type { Sample } from '../util/sample.js';
import type { MethodContext } from './context.js';

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
    group.forEach((comp) => {
      tokens += comp.tokens;
      raw.push({ query: queries[r], iteration, temperature: T, text: comp.text, tokens: comp.tokens, logprob: comp.logprob });
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
export function optimizerSpec(c: Config, phase: OptimizerPhase, totalSteps: number): OptimizerSpec {
  const o = phase === 'sft' ? c.sft : c.train;
  const t = c.train;
  return {
    lr: o.lr,
    minLr: o.minLr,
    schedule: phase === 'sft' ? 'cosine' : t.schedule,
    warmupSteps: Math.min(o.warmupSteps, Math.max(0, totalSteps - 1)),
    totalSteps: Math.max(1, totalSteps),
    beta1: t.beta1,
    beta2: t.beta2,
    eps: t.eps,
    weightDecay: t.weightDecay,
    maxGradNorm: t.maxGradNorm,
    freeze: t.freeze,
    microBatch: Math.ceil(o.batchSize / o.gradAccum),
  };
}

/** Optimizer steps of one self-training iteration for a selection of `selected` samples. */
export function stepsPerIteration(c: Config, selected: number): number {
  if (c.train.stepsPerIteration !== null) return c.train.stepsPerIteration;
  return Math.max(1, Math.ceil((c.train.epochsPerIteration! * selected) / c.train.batchSize));
}

/** Planned steps of a whole run's self-training (one schedule across iterations). */
export function plannedRunSteps(c: Config): number {
  return c.iterations * stepsPerIteration(c, c.targetSamples);
}

export interface TrainOutcome {
  steps: number;
  examples: number;
  lossFirst: number | null;
  lossLast: number | null;
  lossMean: number | null;
  lrLast: number | null;
  gradNormLast: number | null;
  optimizerStep: number;
  timing: Timed;
}

/** Called after optimizer step `done` (1-based) of trainSteps (`tokens`: positions trained so far); it must not touch the training stream. */
export type AfterStep = (done: number, step: { loss: number; lr: number; tokens: number }) => Promise<void>;

/**
 * `steps` optimizer steps of `batchSize` examples, walking seeded shuffles of the examples (a fresh
 * permutation each pass). No examples → no steps (logged by the caller). `afterStep` (optional) runs
 * after each step, e.g. to keep the SFT's per-epoch checkpoints (src/run/sftEpochs.ts).
 */
export async function trainSteps(ctx: MethodContext, examples: readonly { prompt: string; completion: string }[], steps: number, batchSize: number, stream: (string | number)[], label: string, afterStep?: AfterStep): Promise<TrainOutcome> {
  const t0 = performance.now();
  const rng = new Rng(deriveSeed(ctx.config.seed, ...stream));
  let order: number[] = [];
  let pos = 0;
  let tokens = 0;
  const losses: number[] = [];
  let last: { lr: number; gradNorm: number } | null = null;
  if (examples.length > 0) {
    ctx.progress.start(label, steps, 'steps');
    for (let s = 0; s < steps; s++) {
      const batch: { prompt: string; completion: string }[] = [];
      while (batch.length < batchSize) {
        if (pos >= order.length) {
          order = rng.shuffle(examples.map((_, i) => i));
          pos = 0;
        }
        batch.push(examples[order[pos++]]);
      }
      killPoint('train');
      const r = await ctx.policy.train(batch);
      losses.push(r.loss);
      tokens += r.positions;
      last = r;
      ctx.progress.update(s + 1, tokens);
      if (afterStep) await afterStep(s + 1, { loss: r.loss, lr: r.lr, tokens });
    }
    ctx.progress.stop();
  }
  return {
    steps: losses.length,
    examples: examples.length,
    lossFirst: losses[0] ?? null,
    lossLast: losses.at(-1) ?? null,
    lossMean: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : null,
    lrLast: last?.lr ?? null,
    gradNormLast: last?.gradNorm ?? null,
    optimizerStep: ctx.policy.optimizerStatus()?.step ?? 0,
    timing: { ms: performance.now() - t0, tokens },
  };
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
  const n = c.eval.samples ?? c.eval.k;
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
