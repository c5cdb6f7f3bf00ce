// `bstar run`: build the task, the policy and the method context from a resolved config, then
//   iteration 0   SFT on the training pool's gold solutions (sft.startEpoch epochs), evaluate
//   iteration i   search? → sample → select → train (the method's), evaluate (every eval.every)
// After each iteration: its artifacts go to iterations/<i>/, its records are appended to
// metrics.jsonl, and checkpoints/<i>/ is written (atomically) with the resume state
// {iteration, metricsLines}. After each phase (sft, search, sample, select, train, eval) the phase
// records of the iteration so far go to progress.json (atomically) and report.html is rewritten, so
// the report follows the run phase by phase; progress.json is a view only (resume never reads it,
// and metrics.jsonl is written per iteration as before). Everything random derives from (seed,
// phase, iteration), so resuming from checkpoint i (metrics.jsonl cut back to what it held then)
// repeats iterations i+1… exactly.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { getKernels } from '../engine/index.js';
import type { Kernels } from '../engine/kernels.js';
import type { MethodContext, PhaseProgress } from '../methods/context.js';
import { METHOD_IMPLS, type LoopState } from '../methods/index.js';
import { runIteration, sftPhase, type IterationResult, type PhaseRecord, type SftEpochHook } from '../methods/iteration.js';
import { evaluate, goldTexts, optimizerSpec } from '../methods/pieces.js';
import { devSubset } from '../methods/queries.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { tinyLlamaConfig, type LlamaConfig } from '../model/config.js';
import { parseHfConfig } from '../model/hf_config.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { localPolicy } from '../policy/local.js';
import { policyFromConfig } from './policyFromConfig.js';
import type { PrmScorer } from '../reward/combine.js';
import { equationCheckScorer } from '../reward/equationCheck.js';
import { getTask, taskNames } from '../tasks/index.js';
import type { LoadOptions, Query, Task } from '../tasks/types.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { Sample } from '../util/sample.js';
import type { Config } from './config.js';
import { loadConfig, serializeConfig } from './configLoad.js';
import { RECORDS_VERSION, type MetricsRecord, type Progress } from './records.js';
import { RunDir, RunDirError, RUN_FILES } from './runDir.js';
import { tokenizerFor } from './tokenizerFor.js';
import { summaryRows, formatSummary, type SummaryRow } from './summary.js';
import { formatRunChange, runChanges } from './runChange.js';
import { recoverInterruptedSave } from '../model/checkpoint.js';
import { loadPrmScorer } from '../reward/prm/scorer.js';
import { refreshReport } from '../report/live.js';
import { killPoint } from '../util/killpoint.js';

export interface RunHooks {
  log?: (line: string) => void;
  /** Pause after this iteration's checkpoint (no summary.json; resume continues). 0 = after SFT and its evaluation. */
  stopAfter?: number;
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
}

function loadOpts(c: Config, limit: number | null): LoadOptions {
  const o: LoadOptions = { ...c.task.options };
  if (limit !== null) o.limit = limit;
  return o;
}

async function loadSplits(c: Config, task: Task): Promise<{ train: Query[]; test: Query[] }> {
  const train = await task.load('train', loadOpts(c, c.task.trainSize));
  const test = await task.load(c.eval.split, loadOpts(c, c.eval.testSize));
  if (train.length === 0) throw new RunDirError(`task ${task.name}: the training split is empty`);
  if (test.length === 0) throw new RunDirError(`task ${task.name}: the ${c.eval.split} split (eval.split) is empty`);
  return { train, test };
}

function modelConfig(c: Config, tok: Tokenizer): LlamaConfig {
  const m = c.model;
  return tinyLlamaConfig(m.vocab_size ?? tok.vocabSize, {
    hidden_size: m.hidden_size,
    intermediate_size: m.intermediate_size,
    num_hidden_layers: m.num_hidden_layers,
    num_attention_heads: m.num_attention_heads,
    num_key_value_heads: m.num_key_value_heads,
    max_position_embeddings: m.max_position_embeddings,
    rms_norm_eps: m.rms_norm_eps,
    rope_theta: m.rope_theta,
    tie_word_embeddings: m.tie_word_embeddings,
    bos_token_id: tok.bosId,
    eos_token_id: tok.eosId,
    pad_token_id: tok.padId,
  });
}

/**
 * Builds everything a run needs from its config (no files written). `policyDir` is where non-local
 * policy backends keep their rounds (external trainer) and weight syncs (openai fleet); written lazily.
 */
export async function buildContext(c: Config, hooks: RunHooks, policyDir?: string): Promise<MethodContext & { backendInfo: string }> {
  const kernels = hooks.kernels ?? getKernels();
  if (c.threads > 0) kernels.setThreads(c.threads);
  const task = getTask(c.task.name);
  const { train, test } = await loadSplits(c, task);
  let config: LlamaConfig;
  let tokenizer: Tokenizer;
  const remote = c.policy.sampling.backend !== 'local' && c.policy.training.backend !== 'local';
  if (c.model.checkpoint !== null) {
    if (!existsSync(path.join(c.model.checkpoint, 'config.json'))) throw new RunDirError(`model.checkpoint: ${c.model.checkpoint}: no checkpoint there (expected a directory with config.json, model.safetensors, tokenizer.json)`);
    if (remote) {
      // neither side runs here: read the config and tokenizer only, never the (possibly huge) weights
      if (!existsSync(path.join(c.model.checkpoint, 'tokenizer.json'))) throw new RunDirError(`model.checkpoint ${c.model.checkpoint}: no tokenizer.json beside the weights`);
      const cfgFile = path.join(c.model.checkpoint, 'config.json');
      config = parseHfConfig(JSON.parse(readFileSync(cfgFile, 'utf8')), cfgFile) as LlamaConfig;
      tokenizer = loadTokenizer(c.model.checkpoint);
    } else {
      const ck = loadCheckpoint(c.model.checkpoint, { trainingState: false });
      if (!ck.tokenizer) throw new RunDirError(`model.checkpoint ${c.model.checkpoint}: no tokenizer.json beside the weights`);
      config = ck.config as LlamaConfig;
      tokenizer = ck.tokenizer;
    }
  } else {
    tokenizer = tokenizerFor(task, train, test);
    config = modelConfig(c, tokenizer);
  }
  const len = (s: string) => tokenizer.encode(s).length;
  const maxPrompt = Math.max(...[...train, ...test].map((q) => len(task.formatPrompt(q))));
  const maxGold = Math.max(...train.slice(0, c.sft.goldQueries ?? train.length).flatMap((q) => goldTexts(task, q, c.sft.goldVariants).map(len)));
  const maxSeq = Math.min(config.max_position_embeddings, maxPrompt + 1 + Math.max(c.sampling.maxTokens, maxGold) + 1);
  const micro = Math.max(Math.ceil(c.sft.batchSize / c.sft.gradAccum), Math.ceil(c.train.batchSize / c.train.gradAccum));
  const localP = remote ? null : localPolicy({ config, tokenizer, maxSeq, maxBatch: micro, kernels, initSeed: c.seed });
  if (localP && c.model.checkpoint !== null) await localP.load(c.model.checkpoint);
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
  const inTrain = test.filter((q) => trainMap.has(q.id)).length;
  if (inTrain > 0) log(`warning: eval.split ${c.eval.split}: ${inTrain} of the ${test.length} evaluated queries are also training queries (task ${task.name}'s ${c.eval.split} split overlaps its train split), so the evaluation measures fit, not generalisation`);
  const policy = policyFromConfig(c, localP, policyDir ?? path.resolve('bstar-policy'), log);
  const info = kernels.info();
  return {
    policy, task, config: c, train: trainMap, trainIds, goldIds, devIds, test, prm: c.reward.prm.enabled ? prm : undefined, log,
    progress: hooks.progress ?? { start() {}, update() {}, stop() {} },
    backendInfo: `${info.backend} (${info.isa}, ${info.threads} threads)`,
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

const jsonl = (xs: readonly unknown[]) => xs.map((x) => JSON.stringify(x)).join('\n') + (xs.length ? '\n' : '');

async function evalRecord(ctx: MethodContext, dir: RunDir, iteration: number): Promise<PhaseRecord> {
  const ev = await evaluate(ctx, iteration);
  const m = ev.summary.metrics;
  const c = ctx.config;
  const metrics: Record<string, number | null> = {};
  const ci: Record<string, [number, number] | null> = {};
  for (const [k, v] of Object.entries(m)) {
    metrics[`eval/${k}`] = v ? v.mean : null;
    ci[`eval/${k}`] = v ? [v.lo, v.hi] : null;
  }
  Object.assign(metrics, { 'eval/k': c.eval.k, 'eval/s': c.eval.s, 'eval/queries': ev.summary.queries, 'eval/samples-per-query': c.eval.samples ?? c.eval.k, 'eval/temperature': c.eval.temperature });
  dir.writeFile(`iterations/${iteration}/eval.json`, JSON.stringify({ k: ev.summary.k, s: ev.summary.s, metrics: ev.summary.metrics, perQuery: ev.summary.perQuery }, null, 1) + '\n');
  dir.writeFile(`iterations/${iteration}/eval-samples.jsonl`, jsonl([...ev.greedy, ...ev.samples]));
  ctx.log(`iter ${iteration}: eval greedy pass@1 ${fmt(metrics['eval/pass@1'])}  pass@${c.eval.k} ${fmt(metrics['eval/pass@k'])}  pass@${c.eval.k}-${c.eval.s} ${fmt(metrics['eval/pass@k-s'])}  distinct-eq ${fmt(metrics['eval/distinct-equations'])}`);
  return { phase: 'eval', metrics, ci, ciLevel: c.eval.ciLevel, timing: ev.timing };
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(3));

function writeIteration(dir: RunDir, i: number, res: IterationResult): void {
  const a = res.artifacts;
  const sel = a.selection;
  dir.writeFile(`iterations/${i}/samples.jsonl`, jsonl(a.samples));
  if (sel) {
    dir.writeFile(`iterations/${i}/selected.jsonl`, jsonl(sel.samples));
    dir.writeFile(`iterations/${i}/selection.json`, JSON.stringify({ temperature: a.temperature, threshold: a.threshold, cap: sel.cap, queries: a.queries, perQuery: sel.perQuery }, null, 1) + '\n');
  }
  if (a.search) {
    dir.writeFile(`iterations/${i}/search.json`, JSON.stringify(a.search, null, 1) + '\n');
    dir.writeFile(`iterations/${i}/dev-samples.jsonl`, jsonl(a.devSamples as Sample[]));
  }
}

async function checkpoint(ctx: MethodContext, dir: RunDir, iteration: number): Promise<void> {
  const state: ResumeState = { iteration, metricsLines: dir.metricsLines() };
  await ctx.policy.save(dir.checkpointDir(iteration), state);
  removeProgress(ctx, dir); // the iteration is in metrics.jsonl now
  await refreshReport(dir.dir, ctx.log); // report.html after each iteration (src/report/)
}

function removeProgress(ctx: MethodContext, dir: RunDir): void {
  try {
    dir.removeFile(RUN_FILES.progress);
  } catch (e) {
    ctx.log(`report: ${dir.file(RUN_FILES.progress)} not removed (${(e as Error).message})`);
  }
}

/**
 * After a phase of iteration i: progress.json ← the iteration's records so far (atomically), then
 * report.html is rewritten. A failure is logged and never stops the run. Test hook: kill point
 * `report-<phase>` (after the report is written).
 */
async function phaseDone(ctx: MethodContext, dir: RunDir, iteration: number, records: readonly PhaseRecord[]): Promise<void> {
  const phase = records[records.length - 1].phase;
  const progress: Progress = { v: RECORDS_VERSION, iteration, phase, records: records.map((r) => toRecord(dir, ctx.config, iteration, r)) };
  try {
    dir.writeFile(RUN_FILES.progress, JSON.stringify(progress) + '\n');
    await refreshReport(dir.dir, ctx.log);
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
function sftEpochHook(ctx: MethodContext, dir: RunDir): SftEpochHook {
  const c = ctx.config;
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
      sub.writeFile(RUN_FILES.metrics, jsonl([rec, ev].map((r) => toRecord(sub, cfg, 0, r))));
      await ctx.policy.save(sub.checkpointDir(0), { iteration: 0, metricsLines: 2 } satisfies ResumeState);
    },
  };
}

/** Runs iterations from `from` (after checkpoint from−1 is in place) to `until` (default: the end). */
async function loop(ctx: MethodContext, dir: RunDir, from: number, loopState: LoopState, until = ctx.config.iterations): Promise<void> {
  const c = ctx.config;
  const method = METHOD_IMPLS[c.method];
  if (from === 0) {
    const t0 = performance.now();
    const records: PhaseRecord[] = [];
    const epochs = c.sft.startEpoch;
    if (epochs > 0) {
      ctx.log(`iter 0: SFT ${epochs} epoch(s) on ${ctx.goldIds.length} gold problems${c.sft.goldVariants > 1 ? ` (≤ ${c.sft.goldVariants} solution orders each)` : ''}`);
      records.push(await sftPhase(ctx, epochs, (cc, steps) => optimizerSpec(cc, 'sft', steps), c.sft.epochCheckpoints.length ? sftEpochHook(ctx, dir) : undefined));
      await phaseDone(ctx, dir, 0, records);
    }
    records.push(await evalRecord(ctx, dir, 0));
    await phaseDone(ctx, dir, 0, records);
    dir.appendMetrics(records.map((r) => JSON.stringify(toRecord(dir, c, 0, r))));
    await checkpoint(ctx, dir, 0);
    ctx.log(`iter 0 done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    from = 1;
  }
  if (from > until) return;
  if (loopState.base === null) loopState.base = await ctx.policy.snapshot({ optimizer: false });
  for (let i = from; i <= Math.min(until, c.iterations); i++) {
    const t0 = performance.now();
    const soFar: PhaseRecord[] = [];
    const res = await runIteration(ctx, method, loopState, i, (r) => phaseDone(ctx, dir, i, (soFar.push(r), soFar)));
    if (i % c.eval.every === 0 || i === c.iterations) {
      res.records.push(await evalRecord(ctx, dir, i));
      await phaseDone(ctx, dir, i, res.records);
    }
    writeIteration(dir, i, res);
    dir.appendMetrics(res.records.map((r) => JSON.stringify(toRecord(dir, c, i, r))));
    await checkpoint(ctx, dir, i);
    ctx.log(`iter ${i} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/**
 * The end of a run: summary.json and the final table. With `stopAfter` before the last iteration the
 * run is only paused there (no summary.json: `--resume` continues it).
 */
function finish(ctx: MethodContext, dir: RunDir, stopAfter?: number): RunOutcome {
  const records = dir
    .readMetrics()
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as MetricsRecord);
  const rows = summaryRows(records);
  if (stopAfter !== undefined && stopAfter < ctx.config.iterations) {
    ctx.log(`stopped after iteration ${stopAfter} of ${ctx.config.iterations} (--stop-after); continue with bstar run --resume ${dir.dir}`);
    return { dir: dir.dir, rows, records };
  }
  dir.writeFile(RUN_FILES.summary, JSON.stringify(rows, null, 1) + '\n');
  ctx.log('');
  const e = ctx.config.eval;
  ctx.log(formatSummary(rows, e.k, e.s));
  const changes = runChanges(dir.dir, ['pass@1', 'pass@k', 'pass@k-s'], { level: e.ciLevel, resamples: e.bootstrapResamples, seed: ctx.config.seed });
  if (changes.length > 0) ctx.log('');
  for (const ch of changes) ctx.log(formatRunChange(ch, e.k, e.s));
  return { dir: dir.dir, rows, records };
}

/** A new run in `dir` (refused if it exists). */
export async function startRun(c: Config, dirPath: string, hooks: RunHooks = {}): Promise<RunOutcome> {
  if (!taskNames().includes(c.task.name)) throw new RunDirError(`task.name: unknown task "${c.task.name}"; known: ${taskNames().join(', ')}`);
  const ctx = await buildContext(c, hooks, path.resolve(dirPath, 'policy')); // all validation before anything is written
  const dir = RunDir.create(dirPath);
  dir.writeFile(RUN_FILES.config, serializeConfig(c));
  dir.writeFile(RUN_FILES.metrics, '');
  ctx.log(`bstar run ${dir.dir}: method ${c.method}, task ${c.task.name}, ${c.iterations} iterations, seed ${c.seed}; engine ${ctx.backendInfo}`);
  await loop(ctx, dir, 0, { base: null }, hooks.stopAfter);
  return finish(ctx, dir, hooks.stopAfter);
}

/** Continues a run from its latest complete checkpoint (or from the start when there is none). */
export async function resumeRun(dirPath: string, hooks: RunHooks = {}): Promise<RunOutcome> {
  const dir = RunDir.open(dirPath);
  const c = loadConfig({ file: dir.file(RUN_FILES.config), taskNames: taskNames() });
  const ctx = await buildContext(c, hooks, path.join(dir.dir, 'policy'));
  for (const i of dir.checkpoints()) recoverInterruptedSave(dir.checkpointDir(i));
  // a crash between the renames of a save can leave only the moved-aside copy; recover a next one too
  const cps = dir.checkpoints();
  recoverInterruptedSave(dir.checkpointDir((cps.at(-1) ?? -1) + 1));
  const latest = dir.checkpoints().at(-1);
  const loopState: LoopState = { base: null };
  if (latest === undefined) {
    ctx.log(`bstar run --resume ${dir.dir}: no checkpoint yet; starting over`);
    dir.truncateMetrics(0);
    removeProgress(ctx, dir);
    await loop(ctx, dir, 0, loopState, hooks.stopAfter);
    return finish(ctx, dir, hooks.stopAfter);
  }
  if (latest >= 0) {
    await ctx.policy.load(dir.checkpointDir(0));
    loopState.base = await ctx.policy.snapshot({ optimizer: false });
  }
  const st = (await ctx.policy.load(dir.checkpointDir(latest))) as ResumeState | null;
  if (!st || st.iteration !== latest) throw new RunDirError(`${dir.checkpointDir(latest)}: training state has no run resume state for iteration ${latest}`);
  dir.truncateMetrics(st.metricsLines);
  removeProgress(ctx, dir); // a view of the interrupted iteration, which runs again
  ctx.log(`bstar run --resume ${dir.dir}: continuing after iteration ${latest} of ${c.iterations}`);
  await loop(ctx, dir, latest + 1, loopState, hooks.stopAfter);
  return finish(ctx, dir, hooks.stopAfter);
}

/** Default run name: method-task-YYYYMMDD-HHMMSS (UTC). */
export function defaultRunName(c: Config, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${c.method}-${c.task.name}-${ts}`;
}
