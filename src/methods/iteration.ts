// One self-improvement iteration, shared by every method:
//   search   (B-STaR) sample each T of the grid once on the dev subset, score every τ, pick (T, τ)
//   sample   K per query of the iteration's M queries at T; zero-signal queries refilled from the pool
//   select   reward > τ, dedup, cap (official options from the config)
//   train    the method sets up weights/optimizer, then steps on the selection (SFT: on gold)
//   evaluate (run decides when) — see pieces.evaluate
// Returns the phase records (metrics and timings) and the artifacts the run writes to iterations/<i>/.
import type { OptimizerSpec, TrainExample } from '../policy/types.js';
import type { Query } from '../tasks/types.js';
import type { Sample } from '../util/sample.js';
import type { MethodContext } from './context.js';
import type { MethodOptions } from './options.js';
import type { LoopState, Method } from './method.js';
import { goldExamples, poolMonitors, sampleScored, stepsPerIteration, trainSteps, zeroSignalIds, type Timed } from './pieces.js';
import { iterationQueries, refillQueries } from './queries.js';
import { chooseThreshold, type SearchResult } from './search.js';
import { runSearch, type DevSampler, type StrategyResult } from './searchStrategy.js';
import { select, type Selection, type QuerySelection } from './select.js';

/** A phase's record before the run adds run/method/seed. */
export interface PhaseRecord {
  phase: 'search' | 'sample' | 'select' | 'train' | 'eval' | 'sft';
  metrics: Record<string, number | null>;
  timing: Timed;
  ci?: Record<string, [number, number] | null>;
  ciLevel?: number;
  searchTable?: SearchResult['table'];
}

export interface IterationArtifacts {
  queries: string[];
  samples: Sample[];
  search: SearchResult | null;
  devSamples: Sample[];
  temperature: number;
  threshold: number;
  selection: { perQuery: QuerySelection[]; samples: Sample[]; cap: number | null } | null;
}

export interface IterationResult {
  records: PhaseRecord[];
  artifacts: IterationArtifacts;
}

/** Gold solutions of the queries that have one usable (sft.goldQueries), by id. */
function goldOf(ctx: MethodContext, queries: readonly Query[]): Map<string, string> {
  const usable = new Set(ctx.goldIds);
  return new Map(queries.filter((q) => usable.has(q.id)).map((q) => [q.id, ctx.task.goldSolution(q)]));
}

/** Extra options of selection that need the task (equations) or the queries (gold). */
function taskSelectOptions(ctx: MethodContext, queries: readonly Query[]) {
  const c = ctx.config;
  return {
    equations: c.selection.uniqueBy === 'equations' ? ctx.task.equations?.bind(ctx.task) : undefined,
    gold: c.selection.injectGold ? goldOf(ctx, queries) : undefined,
  };
}

function perIterationTimed(parts: Timed[]): Timed {
  return { ms: parts.reduce((a, t) => a + t.ms, 0), tokens: parts.reduce((a, t) => a + t.tokens, 0) };
}

/** The B-STaR search on the dev subset at iteration i (search.strategy: the full grid, or cheaper). */
export async function searchIteration(ctx: MethodContext, iteration: number): Promise<{ result: StrategyResult; samples: Sample[]; timing: Timed }> {
  const c = ctx.config;
  const K = c.search.samplesPerQuery;
  const samples: Sample[] = [];
  const timings: Timed[] = [];
  const sample: DevSampler = async (T, ids) => {
    const pool = await sampleScored(ctx, ids.map((id) => ctx.train.get(id)!), T, K, iteration, ['search', iteration, String(T)], `iter ${iteration} search T=${T}`);
    samples.push(...pool.samples);
    timings.push(pool.timing);
    return pool.samples;
  };
  const dev = ctx.devIds.map((id) => ctx.train.get(id)!);
  const result = await runSearch(c.search.strategy, ctx.devIds, c.search.temperatures, sample, { ...c.selection.onDev, ...taskSelectOptions(ctx, dev) }, c.search.budget);
  return { result, samples, timing: perIterationTimed(timings) };
}

/**
 * `onPhase` is called after each phase with its record (the run writes progress.json and refreshes
 * the report there); it must not touch anything random or the policy.
 */
export async function runIteration(ctx: MethodContext, method: Method, loop: LoopState, iteration: number, onPhase?: (r: PhaseRecord) => Promise<void>): Promise<IterationResult> {
  const c = ctx.config;
  const records: PhaseRecord[] = [];
  const done = async (r: PhaseRecord) => {
    records.push(r);
    if (onPhase) await onPhase(r);
  };
  // Self-training samples the whole pool; the sft method can only train on queries with gold solutions.
  const poolIds = method.selfTraining ? ctx.trainIds : ctx.goldIds;
  const ids = iterationQueries(poolIds, Math.min(c.queriesPerIteration, poolIds.length), iteration, c.seed);
  let queries = ids.map((id) => ctx.train.get(id)!);
  let temperature = c.sampling.temperature;
  let threshold = c.selection.threshold;
  let search: SearchResult | null = null;
  let devSamples: Sample[] = [];

  if (method.searches) {
    const s = await searchIteration(ctx, iteration);
    search = s.result;
    devSamples = s.samples;
    temperature = s.result.temperature;
    threshold = s.result.threshold;
    const zs = s.result.zeroSignal.find((z) => z.temperature === temperature)?.queries ?? null;
    await done({
      phase: 'search',
      metrics: { 'search/temperature': temperature, 'search/threshold': threshold, 'search/query-effect': s.result.meanQueryEffect, 'search/dev-queries': ctx.devIds.length, 'search/zero-signal': zs },
      timing: s.timing,
      searchTable: s.result.table,
    });
    ctx.log(`iter ${iteration}: search chose T=${temperature} τ=${threshold} (query effect ${s.result.meanQueryEffect.toFixed(4)})`);
  }

  let samples: Sample[] = [];
  let selection: Selection | null = null;
  let examples: TrainExample[];
  if (method.selfTraining) {
    const pool = await sampleScored(ctx, queries, temperature, c.samplesPerQuery, iteration, ['sample', iteration], `iter ${iteration} sample T=${temperature}`);
    samples = pool.samples;
    const timings = [pool.timing];
    let refilled = 0;
    const zero = zeroSignalIds(ids, samples);
    if (c.selection.zeroSignalRefill > 0 && zero.length > 0) {
      const extra = refillQueries(ctx.trainIds, new Set(ids), Math.min(zero.length, c.selection.zeroSignalRefill), iteration, c.seed).map((id) => ctx.train.get(id)!);
      if (extra.length > 0) {
        const more = await sampleScored(ctx, extra, temperature, c.samplesPerQuery, iteration, ['refill', iteration], `iter ${iteration} refill`);
        samples = samples.concat(more.samples);
        timings.push(more.timing);
        queries = queries.concat(extra);
        refilled = extra.length;
        ctx.log(`iter ${iteration}: ${zero.length} zero-signal queries; ${refilled} refilled from the pool`);
      }
    }
    const qids = queries.map((q) => q.id);
    const correct = samples.filter((s) => s.correct).length;
    const pm = poolMonitors(ctx, qids, samples);
    await done({
      phase: 'sample',
      metrics: {
        'sample/temperature': temperature,
        'sample/queries': qids.length,
        'sample/samples': samples.length,
        'sample/correct-rate': samples.length ? correct / samples.length : null,
        'sample/zero-signal': zeroSignalIds(qids, samples).length,
        'sample/refilled': refilled,
        'sample/pass@k': pm.passAtK,
        'sample/distinct-equations': pm.distinct,
        'sample/unjudged': pool.unjudged,
      },
      timing: perIterationTimed(timings),
    });
    const opts = { ...c.selection.onPool, ...taskSelectOptions(ctx, queries) };
    if (method.searches && c.search.thresholdSearchOn === 'pool') {
      threshold = chooseThreshold(qids, samples, opts, temperature).threshold;
      ctx.log(`iter ${iteration}: τ re-chosen on the pool: ${threshold}`);
    }
    const t0 = performance.now();
    selection = select(qids, samples, { ...opts, threshold });
    await done({
      phase: 'select',
      metrics: {
        'select/threshold': threshold,
        'select/selected': selection.samples.length,
        'select/unique-correct': selection.perQuery.reduce((a, q) => a + q.uniqueCorrect, 0),
        'select/query-effect': selection.meanQueryEffect,
        'select/zero-signal': selection.zeroSignalQueries,
        'select/empty-queries': selection.emptyQueries,
        'select/cap': selection.cap,
      },
      timing: { ms: performance.now() - t0, tokens: 0 },
    });
    // sampled ids travel with the sample: training uses exactly them (an injected gold text has none)
    examples = selection.samples.map((s) => ({
      prompt: ctx.task.formatPrompt(ctx.train.get(s.queryId)!), completion: s.text,
      ...(s.promptIds && s.completionIds ? { promptIds: s.promptIds, completionIds: s.completionIds } : {}),
    }));
  } else {
    examples = goldExamples(ctx, queries);
  }

  const steps = stepsPerIteration(c, examples.length);
  await method.prepareTraining(ctx, loop, iteration, steps);
  if (examples.length === 0) ctx.log(`iter ${iteration}: nothing selected; no training this iteration`);
  const tr = await trainSteps(ctx, examples, { steps, batchSize: c.train.batchSize, stream: ['train', iteration], label: `iter ${iteration} train`, phase: 'train', iteration });
  await done({
    phase: 'train',
    metrics: {
      'train/steps': tr.steps,
      'train/examples': tr.examples,
      'train/loss-first': tr.lossFirst,
      'train/loss-last': tr.lossLast,
      'train/loss-mean': tr.lossMean,
      'train/lr-last': tr.lrLast,
      'train/grad-norm-last': tr.gradNormLast,
      'train/optimizer-step': tr.optimizerStep,
    },
    timing: tr.timing,
  });
  return {
    records,
    artifacts: {
      queries: queries.map((q) => q.id),
      samples,
      search,
      devSamples,
      temperature,
      threshold,
      selection: selection ? { perQuery: selection.perQuery, samples: selection.samples, cap: selection.cap } : null,
    },
  };
}

/** Optimizer steps after `epochs` SFT epochs over `examples` gold examples (batches straddle epochs). */
export function sftStepsAfter(epochs: number, examples: number, batchSize: number): number {
  return Math.ceil((epochs * examples) / batchSize);
}

/** After an SFT epoch listed in `epochs`: the record of the SFT so far (the model is that epoch's). */
export interface SftEpochHook {
  epochs: readonly number[];
  at(epoch: number, record: PhaseRecord): Promise<void>;
}

/**
 * The SFT phase before self-improvement: `epochs` passes over the gold solutions of the training pool,
 * on ONE cosine schedule planned for max(epochs, sft.epochs) passes (paper App. A and the official
 * code: SFT runs 3 epochs, self-improvement starts from the epoch-1 checkpoint, mid-schedule). With
 * epochs = sft.epochs (e.g. the demo's 5 of 5) the schedule ends with the phase. `hook` sees the model
 * after each of its epochs (< `epochs`) without changing the training.
 */
export async function sftPhase(ctx: MethodContext, epochs: number, optimizerSpecFor: (c: MethodOptions, steps: number) => OptimizerSpec, hook?: SftEpochHook): Promise<PhaseRecord> {
  const c = ctx.config;
  const examples = goldExamples(ctx, ctx.goldIds.map((id) => ctx.train.get(id)!));
  const steps = sftStepsAfter(epochs, examples.length, c.sft.batchSize);
  const scheduleSteps = sftStepsAfter(Math.max(epochs, c.sft.epochs), examples.length, c.sft.batchSize);
  await ctx.policy.configureOptimizer(optimizerSpecFor(c, scheduleSteps), { reset: true });
  const t0 = performance.now();
  const losses: number[] = [];
  const marks = new Map((hook?.epochs ?? []).filter((e) => e >= 1 && e < epochs).map((e) => [sftStepsAfter(e, examples.length, c.sft.batchSize), e]));
  const after = hook && marks.size > 0
    ? async (done: number, st: { loss: number; lr: number; tokens: number }) => {
        losses.push(st.loss);
        const e = marks.get(done);
        if (e === undefined) return;
        const rec: PhaseRecord = {
          phase: 'sft',
          metrics: { 'sft/steps': done, 'sft/epochs': e, 'sft/examples': examples.length, 'sft/loss-first': losses[0], 'sft/loss-last': st.loss, 'sft/lr-last': st.lr },
          timing: { ms: performance.now() - t0, tokens: st.tokens },
        };
        await hook.at(e, rec);
        ctx.progress.start('sft', steps, 'steps'); // the evaluation had its own progress
        ctx.progress.update(done, st.tokens);
      }
    : undefined;
  const tr = await trainSteps(ctx, examples, { steps, batchSize: c.sft.batchSize, stream: ['sft'], label: 'sft', phase: 'sft', iteration: 0, afterStep: after });
  return {
    phase: 'sft',
    metrics: { 'sft/steps': tr.steps, 'sft/epochs': epochs, 'sft/examples': examples.length, 'sft/loss-first': tr.lossFirst, 'sft/loss-last': tr.lossLast, 'sft/lr-last': tr.lrLast },
    timing: tr.timing,
  };
}
