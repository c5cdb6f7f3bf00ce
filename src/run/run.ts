// `bstar run`: build the task, the policy and the method context from a resolved config, then
//   iteration 0   SFT on the training pool's gold solutions (sft.startEpoch epochs), evaluate
//   iteration i   search? → sample → select → train (the method's), evaluate (every eval.every)
// After each iteration: its artifacts go to iterations/<i>/, its records are appended to
// metrics.jsonl, and checkpoints/<i>/ is written (atomically) with the resume state
// {iteration, metricsLines}. After each phase (sft, search, sample, select, train, eval) the phase
// records of the iteration so far go to progress.json (atomically) and the report hook runs (the CLI
// passes report/live's refresh, which rewrites report.html), so the report follows the run phase by phase; progress.json is a view only (resume never reads it,
// and metrics.jsonl is written per iteration as before). Everything random derives from (seed,
// phase, iteration), so resuming from checkpoint i (metrics.jsonl cut back to what it held then)
// repeats iterations i+1… exactly.
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getKernels, resolvePrecision } from '../engine/index.js';
import type { Kernels } from '../engine/kernels.js';
import type { MethodContext, PhaseProgress } from '../methods/context.js';
import { METHOD_IMPLS, type LoopState } from '../methods/index.js';
import { runIteration, sftPhase, type IterationResult, type PhaseRecord, type SftEpochHook } from '../methods/iteration.js';
import { evaluate, goldTexts, optimizerSpec } from '../methods/pieces.js';
import { devSubset } from '../methods/queries.js';
import { readConfigAndTokenizer } from '../model/checkpoint.js';
import { contextLength, tinyModelConfig, type ModelConfig } from '../model/config.js';
import { formatMemoryPlan, memoryPlan } from '../model/llama.js';
import { localPolicy } from '../policy/local.js';
import { policyFromConfig } from './policyFromConfig.js';
import type { PrmScorer } from '../reward/combine.js';
import { equationCheckScorer } from '../reward/equationCheck.js';
import { taskNames } from '../tasks/index.js';
import { resolveModelPath } from '../hub/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { Sample } from '../util/sample.js';
import { methodOptions, type Config } from './config.js';
import { serializeConfig } from './configLoad.js';
import { keepStepRecord, parseMetricsJsonl, RECORDS_VERSION, type MetricsRecord, type Progress, type StepRecord } from './records.js';
import { RunDir, RunDirError, RUN_FILES } from './runDir.js';
import { tokenizerFor } from './tokenizerFor.js';
import { withChatTemplate } from './chatPrompt.js';
import { summaryRows, formatSummary, type SummaryRow } from './summary.js';
import { formatRunChange, runChanges } from './runChange.js';
import { recoverInterruptedSave } from '../model/checkpoint.js';
import { loadPrmScorer } from '../reward/prm/scorer.js';
import { writeRunStatus } from './status.js';
import { killPoint } from '../util/killpoint.js';
import { DivergenceError } from '../policy/divergence.js';
import { loadRunData, planRun } from './plan.js';
import { applyResumePlan, configChangeEvent, planResume, writeManifest, type ResumePlan } from './manifest.js';

export interface RunHooks {
  log?: (line: string) => void;
  /**
   * Called after each phase (progress.json written) and after each iteration's checkpoint, with the run
   * directory: the CLI passes the report's refresh (report/live.ts) here, so run/ never imports report/.
   * It must not throw (a report that cannot be written never stops the run).
   */
  report?: (dir: string, log: (line: string) => void) => Promise<void>;
  /** Called once the run is checked and its directory is in place (before any training): e.g. to print where its report is. */
  started?: (dir: string) => void;
  /** Pause after this iteration's checkpoint (no summary.json; resume continues). 0 = after SFT and its evaluation. */
  stopAfter?: number;
  /** Resume: config keys whose edit since the checkpoint is accepted (manifest.ts). */
  allowConfigChange?: string[];
  progress?: PhaseProgress;
  prm?: PrmScorer;
  kernels?: Kernels;
}

export interface RunOutcome {
  dir: string;
  rows: SummaryRow[];
  records: MetricsRecord[];
}

interface ResumeState {
  iteration: number;
  metricsLines: number;
  /** Optimizer steps taken over the whole run so far (step records' globalStep); absent in older checkpoints. */
  globalStep?: number;
}

/** The run's step counter and the current iteration's step records, not yet in metrics.jsonl. */
interface StepLog {
  global: number;
  pending: StepRecord[];
}

function modelConfig(c: Config, tok: Tokenizer): ModelConfig {
  const m = c.model;
  return tinyModelConfig(m.vocab_size ?? tok.vocabSize, {
    hidden_size: m.hidden_size,
    intermediate_size: m.intermediate_size,
    num_hidden_layers: m.num_hidden_layers,
    num_attention_heads: m.num_attention_heads,
    num_key_value_heads: m.num_key_value_heads,
    max_position_embeddings: m.max_position_embeddings,
    rms_norm_eps: m.rms_norm_eps,
    rope_theta: m.rope_theta,
    tie_word_embeddings: m.tie_word_embeddings,
    initializer_range: m.initializer_range,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    pad_token_id: tok.padId,
  }, 'config model.*');
}

/**
 * model.activationCheckpointing: on/off as set; auto = on when the plan without it would need more
 * than half of this machine's memory.
 */
function activationCheckpointing(mode: 'auto' | 'on' | 'off', config: ModelConfig, micro: number, maxSeq: number): boolean {
  if (mode !== 'auto') return mode === 'on';
  return memoryPlan(config, { maxBatch: micro, maxSeq }).peak > 0.5 * os.totalmem();
}

/**
 * Builds everything a run needs from its config (no files written). `policyDir` is where non-local
 * policy backends keep their rounds (external trainer) and weight syncs (openai fleet); written lazily.
 */
/** What the run works with: the method context plus the validated config and the run's hooks. */
export interface RunContext extends MethodContext {
  runConfig: Config;
  backendInfo: string;
  report: (dir: string) => Promise<void>;
}

export async function buildContext(c: Config, hooks: RunHooks, policyDir?: string): Promise<RunContext> {
  const kernels = hooks.kernels ?? getKernels();
  if (c.threads > 0) kernels.setThreads(c.threads);
  const hubLog = hooks.log ?? ((l: string) => console.log(l));
  // A hub id (org/name) in model.checkpoint resolves to its snapshot in the hub cache (src/hub).
  if (c.model.checkpoint !== null) c = { ...c, model: { ...c.model, checkpoint: await resolveModelPath(c.model.checkpoint, hubLog) } };
  const data = await loadRunData(c, hubLog);
  let task = data.task;
  const { train, test } = data;
  let config: ModelConfig;
  let tokenizer: Tokenizer;
  const remote = c.policy.sampling.backend !== 'local' && c.policy.training.backend !== 'local';
  if (c.model.checkpoint !== null) {
    if (!existsSync(path.join(c.model.checkpoint, 'config.json'))) throw new RunDirError(`model.checkpoint: ${c.model.checkpoint}: no checkpoint there (expected a directory with config.json, model.safetensors, tokenizer.json)`);
    // the config and tokenizer here; the weights are read once, straight into the local model (loadWeights
    // below, which checks every tensor), or never when neither side runs here
    if (!existsSync(path.join(c.model.checkpoint, 'tokenizer.json'))) throw new RunDirError(`model.checkpoint ${c.model.checkpoint}: no tokenizer.json beside the weights`);
    const head = readConfigAndTokenizer(c.model.checkpoint);
    config = head.config;
    tokenizer = head.tokenizer!; // tokenizer.json exists (checked above)
  } else {
    tokenizer = tokenizerFor(task, train, test);
    config = modelConfig(c, tokenizer);
  }
  task = withChatTemplate(task, tokenizer, c.prompt.chat, c.model.checkpoint !== null ? `${c.model.checkpoint}/tokenizer_config.json` : `the ${task.name} tokenizer`);
  const len = (s: string) => tokenizer.encode(s).length;
  const maxPrompt = Math.max(...[...train, ...test].map((q) => len(task.formatPrompt(q))));
  const maxGold = Math.max(...train.slice(0, c.sft.goldQueries ?? train.length).flatMap((q) => goldTexts(task, q, c.sft.goldVariants).map(len)));
  const maxSeq = Math.min(contextLength(config), maxPrompt + 1 + Math.max(c.sampling.maxTokens, maxGold) + 1);
  const micro = Math.max(Math.ceil(c.sft.batchSize / c.sft.gradAccum), Math.ceil(c.train.batchSize / c.train.gradAccum));
  const recompute = activationCheckpointing(c.model.activationCheckpointing, config, micro, maxSeq);
  const trainPrecision = resolvePrecision(c.train.precision, kernels);
  const samplingPrecision = resolvePrecision(c.sampling.precision, kernels);
  const localP = remote ? null : localPolicy({ config, tokenizer, maxSeq, maxBatch: micro, kernels, initSeed: c.seed, recompute, trainPrecision, samplingPrecision });
  if (localP && c.model.checkpoint !== null) localP.backend.loadWeights(c.model.checkpoint); // weights only: a fresh optimizer
  let prm = hooks.prm ?? (c.reward.prm.enabled && c.reward.prm.scorer === 'equations' ? equationCheckScorer : undefined);
  if (c.reward.prm.enabled && !prm) {
    if (c.reward.prm.checkpoint === null) {
      throw new RunDirError('reward.prm.enabled: reward.prm.checkpoint is null; train a PRM first (bstar prm annotate, bstar prm train: docs/prm.md) and set reward.prm.checkpoint=<dir>, or set reward.prm.scorer=equations');
    }
    prm = loadPrmScorer(c.reward.prm.checkpoint, { policyTokenizer: tokenizer, policyName: c.model.checkpoint ?? `the ${task.name} tokenizer`, kernels });
  }
  const trainMap = new Map(train.map((q) => [q.id, q]));
  const trainIds = train.map((q) => q.id);
  if (c.sft.goldQueries !== null && c.sft.goldQueries > trainIds.length) {
    throw new RunDirError(`sft.goldQueries: at most the training pool's ${trainIds.length} queries (task.trainSize), found ${c.sft.goldQueries}`);
  }
  const goldIds = c.sft.goldQueries === null ? trainIds : trainIds.slice(0, c.sft.goldQueries);
  const method = METHOD_IMPLS[c.method];
  const devIds = method.searches ? devSubset(trainIds, c.search.devSize, c.seed) : [];
  const log = hooks.log ?? ((l: string) => console.log(l));
  if (localP) log(formatMemoryPlan(localP.backend.model.memoryPlan(), `micro-batch ${micro} × ${maxSeq} tokens`));
  const inTrain = test.filter((q) => trainMap.has(q.id)).length;
  if (inTrain > 0) log(`warning: eval.split ${c.eval.split}: ${inTrain} of the ${test.length} evaluated queries are also training queries (task ${task.name}'s ${c.eval.split} split overlaps its train split), so the evaluation measures fit, not generalisation`);
  const policy = policyFromConfig(c, localP, policyDir ?? path.resolve('bstar-policy'), log, tokenizer);
  const info = kernels.info();
  return {
    policy, task, config: methodOptions(c), runConfig: c, train: trainMap, trainIds, goldIds, devIds, test, prm: c.reward.prm.enabled ? prm : undefined, log,
    progress: hooks.progress ?? { start() {}, update() {}, stop() {} },
    backendInfo: `${info.backend} (${info.isa}, ${info.threads} threads; GEMMs: training ${trainPrecision}, sampling ${samplingPrecision}${trainPrecision === 'bf16' || samplingPrecision === 'bf16' ? `, bf16 ${info.bf16}` : ''})`,
    report: hooks.report ? (dir) => hooks.report!(dir, log) : async () => {},
  };
}

function toRecord(dir: RunDir, c: Config, iteration: number, r: PhaseRecord): MetricsRecord {
  const rec: MetricsRecord = {
    v: RECORDS_VERSION,
    run: dir.name,
    method: c.method,
    seed: c.seed,
    iteration,
    phase: r.phase,
    metrics: r.metrics,
    timing: { ms: Math.round(r.timing.ms), tokens: r.timing.tokens, tokensPerSecond: r.timing.ms > 0 ? Math.round((r.timing.tokens / r.timing.ms) * 1000) : 0 },
  };
  if (r.ci) rec.ci = r.ci;
  if (r.ciLevel !== undefined) rec.ciLevel = r.ciLevel;
  if (r.searchTable) rec.searchTable = r.searchTable;
  return rec;
}

/** metrics.jsonl lines of an iteration: its phase records, each training's step records just before its phase record. */
function iterationLines(dir: RunDir, c: Config, iteration: number, records: readonly PhaseRecord[], steps: readonly StepRecord[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    for (const s of steps) if (s.phase === r.phase) out.push(JSON.stringify(s));
    out.push(JSON.stringify(toRecord(dir, c, iteration, r)));
  }
  return out;
}

/** The run's onStep hook: counts every optimizer step (globalStep) and keeps a step record when stepRecords says so. */
function stepHook(ctx: RunContext, dir: RunDir, log: StepLog): MethodContext['onStep'] {
  const c = ctx.runConfig;
  const num = (x: number) => (Number.isFinite(x) ? x : null);
  return (phase, iteration, s) => {
    log.global++;
    if (!keepStepRecord(log.global, c.stepRecords)) return;
    log.pending.push({
      v: RECORDS_VERSION, kind: 'step', run: dir.name, method: c.method, seed: c.seed, iteration, phase, step: s.step, globalStep: log.global,
      metrics: {
        'step/loss': num(s.loss), 'step/lr': num(s.lr), 'step/grad-norm': num(s.gradNorm),
        'step/tokens-per-second': Math.round(s.tokensPerSecond), 'step/padding': num(s.padding),
      },
    });
  };
}

const jsonl = (xs: readonly unknown[]) => xs.map((x) => JSON.stringify(x)).join('\n') + (xs.length ? '\n' : '');

/**
 * How much of the sample record a file keeps. The record in memory always has its ids; on disk, to keep
 * run directories small: selected.jsonl (what was trained on) keeps promptIds, completionIds and
 * tokenLogprobs; samples.jsonl (the pool selection chose from) keeps completionIds only (1.6× the
 * file without ids on a tiny arith run, against 3× with per-token logprobs; a query's K samples share
 * one prompt); evaluation and dev-search samples, never trained on, keep none. Per-token logprobs are
 * written to 4 decimals (the in-memory values, and `logprob`, keep full precision).
 */
export type SampleFileKind = 'selected' | 'pool' | 'eval';

export function samplesJsonl(xs: readonly Sample[], kind: SampleFileKind): string {
  return jsonl(xs.map((s) => {
    const { promptIds, completionIds, tokenLogprobs, ...rest } = s;
    if (kind === 'eval') return rest;
    const out: Record<string, unknown> = { ...rest };
    if (kind === 'selected' && promptIds) out.promptIds = promptIds;
    if (completionIds) out.completionIds = completionIds;
    if (kind === 'selected' && tokenLogprobs) out.tokenLogprobs = tokenLogprobs.map((x) => Math.round(x * 1e4) / 1e4 || 0);
    return out;
  }));
}

async function evalRecord(ctx: RunContext, dir: RunDir, iteration: number): Promise<PhaseRecord> {
  const ev = await evaluate(ctx, iteration);
  const m = ev.summary.metrics;
  const c = ctx.runConfig;
  const metrics: Record<string, number | null> = {};
  const ci: Record<string, [number, number] | null> = {};
  for (const [k, v] of Object.entries(m)) {
    metrics[`eval/${k}`] = v ? v.mean : null;
    ci[`eval/${k}`] = v ? [v.lo, v.hi] : null;
  }
  Object.assign(metrics, { 'eval/k': c.eval.k, 'eval/s': c.eval.s, 'eval/queries': ev.summary.queries, 'eval/samples-per-query': c.eval.samples ?? c.eval.k, 'eval/temperature': c.eval.temperature });
  dir.writeFile(`iterations/${iteration}/eval.json`, JSON.stringify({ k: ev.summary.k, s: ev.summary.s, metrics: ev.summary.metrics, perQuery: ev.summary.perQuery }, null, 1) + '\n');
  dir.writeFile(`iterations/${iteration}/eval-samples.jsonl`, samplesJsonl([...ev.greedy, ...ev.samples], 'eval'));
  ctx.log(`iter ${iteration}: eval greedy pass@1 ${fmt(metrics['eval/pass@1'])}  pass@${c.eval.k} ${fmt(metrics['eval/pass@k'])}  pass@${c.eval.k}-${c.eval.s} ${fmt(metrics['eval/pass@k-s'])}  distinct-eq ${fmt(metrics['eval/distinct-equations'])}`);
  return { phase: 'eval', metrics, ci, ciLevel: c.eval.ciLevel, timing: ev.timing };
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(3));

function writeIteration(dir: RunDir, i: number, res: IterationResult): void {
  const a = res.artifacts;
  const sel = a.selection;
  dir.writeFile(`iterations/${i}/samples.jsonl`, samplesJsonl(a.samples, 'pool'));
  if (sel) {
    dir.writeFile(`iterations/${i}/selected.jsonl`, samplesJsonl(sel.samples, 'selected'));
    dir.writeFile(`iterations/${i}/selection.json`, JSON.stringify({ temperature: a.temperature, threshold: a.threshold, cap: sel.cap, queries: a.queries, perQuery: sel.perQuery }, null, 1) + '\n');
  }
  if (a.search) {
    dir.writeFile(`iterations/${i}/search.json`, JSON.stringify(a.search, null, 1) + '\n');
    dir.writeFile(`iterations/${i}/dev-samples.jsonl`, samplesJsonl(a.devSamples, 'eval'));
  }
}

async function checkpoint(ctx: RunContext, dir: RunDir, iteration: number, steps: StepLog): Promise<void> {
  const state: ResumeState = { iteration, metricsLines: dir.metricsLines(), globalStep: steps.global };
  await ctx.policy.save(dir.checkpointDir(iteration), state);
  writeManifest(dir, iteration, ctx.runConfig); // what a resume from here needs, with hashes (manifest.ts)
  removeProgress(ctx, dir); // the iteration is in metrics.jsonl now
  await ctx.report(dir.dir); // the report hook after each iteration (report.html, src/report/)
}

function removeProgress(ctx: RunContext, dir: RunDir): void {
  try {
    dir.removeFile(RUN_FILES.progress);
  } catch (e) {
    ctx.log(`report: ${dir.file(RUN_FILES.progress)} not removed (${(e as Error).message})`);
  }
}

/**
 * After a phase of iteration i: progress.json ← the iteration's records so far (atomically), then
 * the report hook runs. A failure is logged and never stops the run. Test hook: kill point
 * `report-<phase>` (after the report is written).
 */
async function phaseDone(ctx: RunContext, dir: RunDir, iteration: number, records: readonly PhaseRecord[], steps: StepLog): Promise<void> {
  const phase = records[records.length - 1].phase;
  const progress: Progress = { v: RECORDS_VERSION, iteration, phase, records: records.map((r) => toRecord(dir, ctx.runConfig, iteration, r)), steps: steps.pending };
  try {
    dir.writeFile(RUN_FILES.progress, JSON.stringify(progress) + '\n');
    await ctx.report(dir.dir);
  } catch (e) {
    ctx.log(`report: ${dir.file(RUN_FILES.progress)} not written (${(e as Error).message})`);
  }
  killPoint(`report-${phase}`);
}

/** Where the model after SFT epoch e (sft.epochCheckpoints) is kept: a run dir stopped after iteration 0. */
export function sftEpochDir(runDir: string, epoch: number): string {
  return path.join(runDir, 'sft-epochs', String(epoch));
}

/**
 * sft.epochCheckpoints: after each listed epoch e, sft-epochs/<e>/ becomes the run dir a run with
 * sft.startEpoch = e would have after iteration 0 — config.yaml (startEpoch e), metrics.jsonl (its sft
 * and eval records), iterations/0/ (the evaluation) and checkpoints/0/ (written last: a complete
 * checkpoint marks a complete dir) — so other runs can start from it (src/run/shareSft.ts).
 */
function sftEpochHook(ctx: RunContext, dir: RunDir, steps: StepLog): SftEpochHook {
  const c = ctx.runConfig;
  return {
    epochs: c.sft.epochCheckpoints,
    async at(epoch, rec) {
      const at = sftEpochDir(dir.dir, epoch);
      rmSync(at, { recursive: true, force: true }); // a re-run of an interrupted SFT rewrites it
      const sub = RunDir.create(at);
      const cfg: Config = { ...c, sft: { ...c.sft, startEpoch: epoch, epochCheckpoints: [] } };
      sub.writeFile(RUN_FILES.config, serializeConfig(cfg));
      ctx.log(`iter 0: SFT epoch ${epoch} of ${c.sft.startEpoch} kept in ${at}`);
      const ev = await evalRecord(ctx, sub, 0);
      // the lines a run stopped at this epoch has: its SFT's step records so far, the sft and eval records
      const lines = iterationLines(sub, cfg, 0, [rec, ev], steps.pending.map((r) => ({ ...r, run: sub.name })));
      sub.writeFile(RUN_FILES.metrics, lines.join('\n') + '\n');
      await ctx.policy.save(sub.checkpointDir(0), { iteration: 0, metricsLines: lines.length, globalStep: steps.global } satisfies ResumeState);
    },
  };
}

/** Runs iterations from `from` (after checkpoint from−1 is in place) to `until` (default: the end). */
async function loop(ctx: RunContext, dir: RunDir, from: number, loopState: LoopState, globalStep: number, until = ctx.runConfig.iterations): Promise<void> {
  const c = ctx.runConfig;
  const method = METHOD_IMPLS[c.method];
  const steps: StepLog = { global: globalStep, pending: [] };
  ctx.onStep = stepHook(ctx, dir, steps);
  if (from === 0) {
    const t0 = performance.now();
    const records: PhaseRecord[] = [];
    const epochs = c.sft.startEpoch;
    if (epochs > 0) {
      ctx.log(`iter 0: SFT ${epochs} epoch(s) on ${ctx.goldIds.length} gold problems${c.sft.goldVariants > 1 ? ` (≤ ${c.sft.goldVariants} solution orders each)` : ''}`);
      records.push(await sftPhase(ctx, epochs, (o, n) => optimizerSpec(o, 'sft', n), c.sft.epochCheckpoints.length ? sftEpochHook(ctx, dir, steps) : undefined));
      await phaseDone(ctx, dir, 0, records, steps);
    }
    records.push(await evalRecord(ctx, dir, 0));
    await phaseDone(ctx, dir, 0, records, steps);
    dir.appendMetrics(iterationLines(dir, c, 0, records, steps.pending));
    steps.pending = [];
    await checkpoint(ctx, dir, 0, steps);
    ctx.log(`iter 0 done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    from = 1;
  }
  if (from > until) return;
  if (loopState.base === null) loopState.base = await ctx.policy.snapshot({ optimizer: false });
  for (let i = from; i <= Math.min(until, c.iterations); i++) {
    const t0 = performance.now();
    const soFar: PhaseRecord[] = [];
    const res = await runIteration(ctx, method, loopState, i, (r) => phaseDone(ctx, dir, i, (soFar.push(r), soFar), steps));
    if (i % c.eval.every === 0 || i === c.iterations) {
      res.records.push(await evalRecord(ctx, dir, i));
      await phaseDone(ctx, dir, i, res.records, steps);
    }
    writeIteration(dir, i, res);
    dir.appendMetrics(iterationLines(dir, c, i, res.records, steps.pending));
    steps.pending = [];
    await checkpoint(ctx, dir, i, steps);
    ctx.log(`iter ${i} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/**
 * The end of a run: summary.json and the final table. With `stopAfter` before the last iteration the
 * run is only paused there (no summary.json: `--resume` continues it).
 */
async function finish(ctx: RunContext, dir: RunDir, stopAfter?: number): Promise<RunOutcome> {
  const records = parseMetricsJsonl(dir.readMetrics(), dir.file(RUN_FILES.metrics));
  const rows = summaryRows(records);
  if (stopAfter !== undefined && stopAfter < ctx.runConfig.iterations) {
    ctx.log(`stopped after iteration ${stopAfter} of ${ctx.runConfig.iterations} (--stop-after); continue with bstar run --resume ${dir.dir}`);
    writeRunStatus(dir.dir, 'paused', { iteration: stopAfter }, ctx.log);
    await ctx.report(dir.dir); // the page says paused, not in progress
    return { dir: dir.dir, rows, records };
  }
  dir.writeFile(RUN_FILES.summary, JSON.stringify(rows, null, 1) + '\n');
  writeRunStatus(dir.dir, 'finished', {}, ctx.log);
  ctx.log('');
  const e = ctx.runConfig.eval;
  ctx.log(formatSummary(rows, e.k, e.s));
  const changes = runChanges(dir.dir, ['pass@1', 'pass@k', 'pass@k-s'], { level: e.ciLevel, resamples: e.bootstrapResamples, seed: ctx.runConfig.seed });
  if (changes.length > 0) ctx.log('');
  for (const ch of changes) ctx.log(formatRunChange(ch, e.k, e.s));
  return { dir: dir.dir, rows, records };
}

/** A new run in `dir` (refused if it exists). */
export async function startRun(c: Config, dirPath: string, hooks: RunHooks = {}): Promise<RunOutcome> {
  if (!taskNames().includes(c.task.name)) throw new RunDirError(`task.name: unknown task "${c.task.name}"; known: ${taskNames().join(', ')}`);
  RunDir.refuseExisting(dirPath); // before the plan's work
  const plan = await planRun(c, hooks.log ?? ((l: string) => console.log(l))); // data, context, counts, memory (plan.ts)
  const ctx = await buildContext(c, hooks, path.resolve(dirPath, 'policy')); // all validation before anything is written
  const dir = RunDir.create(dirPath);
  hooks.started?.(dir.dir);
  dir.writeFile(RUN_FILES.config, serializeConfig(c));
  dir.writeFile(RUN_FILES.metrics, '');
  ctx.log(`bstar run ${dir.dir}: method ${c.method}, task ${c.task.name}, ${c.iterations} iterations, seed ${c.seed}; engine ${ctx.backendInfo}`);
  ctx.log(plan.summary);
  try {
    return await statusKept(ctx, dir, async () => {
      await loop(ctx, dir, 0, { base: null }, 0, hooks.stopAfter);
      return finish(ctx, dir, hooks.stopAfter);
    });
  } catch (e) {
    // a training that diverged before anything was checkpointed leaves nothing worth keeping
    if (e instanceof DivergenceError && dir.checkpoints().length === 0) {
      rmSync(dir.dir, { recursive: true, force: true });
      e.message += ` (the run directory ${dir.dir} was removed: it held no checkpoint)`;
    }
    throw e;
  }
}

/**
 * Runs `f` with status.json saying this process is running the run; an error it throws is recorded
 * there (state failed) and the report rewritten, so the page says the run stopped (src/report/status.ts).
 */
async function statusKept<T>(ctx: RunContext, dir: RunDir, f: () => Promise<T>): Promise<T> {
  writeRunStatus(dir.dir, 'running', {}, ctx.log);
  try {
    return await f();
  } catch (e) {
    writeRunStatus(dir.dir, 'failed', { message: (e as Error).message }, ctx.log);
    await ctx.report(dir.dir);
    throw e;
  }
}

/** Continues a run from its latest complete checkpoint (or from the start when there is none). */
export async function resumeRun(dirPath: string, hooks: RunHooks = {}): Promise<RunOutcome> {
  const dir = RunDir.open(dirPath);
  for (const i of dir.checkpoints()) recoverInterruptedSave(dir.checkpointDir(i));
  // a crash between the renames of a save can leave only the moved-aside copy; recover a next one too
  const cps = dir.checkpoints();
  recoverInterruptedSave(dir.checkpointDir((cps.at(-1) ?? -1) + 1));
  // Verify before changing anything: the checkpoints against their manifests, config.yaml against the
  // resume point's config, then the plan (manifest.ts, plan.ts).
  const resume = planResume(dir, { allowConfigChange: hooks.allowConfigChange, taskNames: taskNames() });
  const c = resume.config;
  const plan = await planRun(c, hooks.log ?? ((l: string) => console.log(l)));
  const ctx = await buildContext(c, hooks, path.join(dir.dir, 'policy'));
  ctx.log(plan.summary);
  for (const w of resume.warnings) ctx.log(w);
  const moved = applyResumePlan(dir, resume);
  hooks.started?.(dir.dir);
  if (moved) ctx.log(`moved to ${moved}: ${[...resume.discard.map((i) => `checkpoints/${i}`), ...(resume.restoreConfig ? [RUN_FILES.config] : [])].join(', ')}`);
  return statusKept(ctx, dir, () => resumeFrom(ctx, dir, c, hooks, resume));
}

async function resumeFrom(ctx: RunContext, dir: RunDir, c: Config, hooks: RunHooks, resume: ResumePlan): Promise<RunOutcome> {
  const latest = resume.checkpoint ?? undefined;
  const loopState: LoopState = { base: null };
  if (latest === undefined) {
    ctx.log(`bstar run --resume ${dir.dir}: no ${resume.discard.length ? 'verified ' : ''}checkpoint yet; starting over`);
    dir.truncateMetrics(0);
    if (resume.changes.length > 0) dir.appendMetrics([configChangeEvent(dir, null, resume.changes)]);
    removeProgress(ctx, dir);
    await loop(ctx, dir, 0, loopState, 0, hooks.stopAfter);
    return finish(ctx, dir, hooks.stopAfter);
  }
  if (latest >= 0) {
    await ctx.policy.load(dir.checkpointDir(0));
    loopState.base = await ctx.policy.snapshot({ optimizer: false });
  }
  const st = (await ctx.policy.load(dir.checkpointDir(latest))) as ResumeState | null;
  if (!st || st.iteration !== latest) throw new RunDirError(`${dir.checkpointDir(latest)}: training state has no run resume state for iteration ${latest}`);
  dir.truncateMetrics(st.metricsLines);
  if (resume.changes.length > 0) dir.appendMetrics([configChangeEvent(dir, latest, resume.changes)]);
  removeProgress(ctx, dir); // a view of the interrupted iteration, which runs again
  ctx.log(`bstar run --resume ${dir.dir}: continuing after iteration ${latest} of ${c.iterations}`);
  await loop(ctx, dir, latest + 1, loopState, st.globalStep ?? 0, hooks.stopAfter);
  if (latest >= c.iterations) await ctx.report(dir.dir); // nothing ran: rewrite a damaged report too
  return finish(ctx, dir, hooks.stopAfter);
}

/** Default run name: method-task-YYYYMMDD-HHMMSS (UTC). */
export function defaultRunName(c: Config, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${c.method}-${c.task.name}-${ts}`;
}
