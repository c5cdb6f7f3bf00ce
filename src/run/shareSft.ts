// Shared SFT for experiments (`bstar experiment --share-sft`). Iteration 0 (sft.startEpoch epochs of
// SFT on the gold solutions, then the evaluation of the SFT model) depends on neither the method nor
// the fixed sampling temperature / selection threshold: every method resets its optimizer at iteration
// 1, and all randomness derives from (seed, phase, iteration). So for one seed it is run once, by the
// first method's run paused after iteration 0 (`bstar run --stop-after 0`), and every other run of the
// seed is *seeded* from it: a new run dir with its own full config.yaml, the donor's iteration-0
// metrics records and SFT step records (run and method rewritten), iterations/0/ and checkpoints/0/ copied. `bstar run
// --resume` then continues it from checkpoint 0 exactly as an interrupted run would — which is
// bit-identical to an uninterrupted one (test/run/resume.test.ts; test/cli/experiment.test.ts checks
// shared vs unshared directly). A donor that keeps earlier SFT epochs (sft.epochCheckpoints) holds
// each as sft-epochs/<e>/, itself a run dir stopped after iteration 0 with sft.startEpoch = e, so a run
// starting from epoch e is seeded from there (`sftDonorDir`): the SFT baseline and the self-training
// start come from one SFT.
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import { loadConfig, serializeConfig } from './configLoad.js';
import { writeManifest } from './manifest.js';
import { metricsRows, runRecordsOf } from './records.js';
import { RunDir, RunDirError, RUN_FILES } from './runDir.js';
import { taskNames } from '../tasks/index.js';
import { sftEpochDir } from './run.js';

/** A run dir being seeded is `<target><SEEDING_SUFFIX><pid>` until it is complete. */
export const SEEDING_SUFFIX = '.seeding-';

/**
 * Config keys iteration 0 (SFT on the sft.* schedule, then the evaluation) never reads: the method,
 * the self-training budget and its optimizer schedule, selection and search. Runs that differ only in
 * these share their iteration 0 (the SFT's optimizer reads train.beta1/beta2/eps/weightDecay/
 * maxGradNorm/freeze and the batch sizes, the evaluation sampling.topP/maxTokens, reward.*: those
 * must agree).
 */
export const ITERATION0_FREE_KEYS = [
  'method', 'iterations', 'queriesPerIteration', 'samplesPerQuery', 'targetSamples', 'sampling.temperature', 'selection', 'search',
  'train.lr', 'train.minLr', 'train.schedule', 'train.warmupSteps', 'train.stepsPerIteration', 'train.epochsPerIteration', 'sft.epochCheckpoints',
  'eval.every', // iteration 0 is always evaluated
] as const;

/** The config with the iteration-0-free keys blanked: runs with equal keys share their iteration 0. */
export function iterationZeroKey(c: Config): string {
  const x = structuredClone(c) as unknown as Record<string, unknown>;
  for (const key of ITERATION0_FREE_KEYS) {
    const parts = key.split('.');
    let o = x as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) o = o[p] as Record<string, unknown>;
    o[parts.at(-1)!] = null;
  }
  return JSON.stringify(x);
}

/** First differing key path of two plain objects (for the error message), or null when equal. */
function firstDifference(a: unknown, b: unknown, at = ''): string | null {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
      if (d !== null) return d;
    }
    return null;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? null : at || '(root)';
}

/**
 * The run dir to seed a run starting from SFT epoch `startEpoch` from: the donor itself, or its
 * sft-epochs/<startEpoch>/ when the donor went further (null when it kept no such epoch).
 */
export function sftDonorDir(donor: string, donorConfig: Config, startEpoch: number): string | null {
  if (startEpoch === donorConfig.sft.startEpoch) return donor;
  return donorConfig.sft.epochCheckpoints.includes(startEpoch) ? sftEpochDir(donor, startEpoch) : null;
}

/** True when the donor run dir has finished iteration 0 (checkpoint 0 complete). */
export function hasIterationZero(dir: string): boolean {
  return existsSync(path.join(dir, RUN_FILES.config)) && RunDir.open(dir).checkpoints().includes(0);
}

/**
 * Creates run dir `target` for config `c` from the finished iteration 0 of run dir `donor` (same
 * config up to ITERATION0_FREE_KEYS, else a RunDirError naming the first differing key). Written
 * into a temp dir and renamed, so a killed seeding leaves no half run dir. Refuses an existing target.
 */
export function seedFromSharedSft(donor: string, target: string, c: Config): void {
  if (existsSync(target)) throw new RunDirError(`${target}: already exists; a shared-SFT run is only seeded into a new directory`);
  if (!hasIterationZero(donor)) throw new RunDirError(`${donor}: no complete checkpoints/0 to share (run it with --stop-after 0 first)`);
  const d = RunDir.open(donor);
  const dc = loadConfig({ file: d.file(RUN_FILES.config), taskNames: taskNames() });
  if (iterationZeroKey(dc) !== iterationZeroKey(c)) {
    const key = firstDifference(JSON.parse(iterationZeroKey(dc)), JSON.parse(iterationZeroKey(c)));
    throw new RunDirError(`${d.file(RUN_FILES.config)}: cannot share its iteration 0 with ${target}: config key ${key} differs (only ${ITERATION0_FREE_KEYS.join(', ')} may)`);
  }
  const metricsFile = d.file(RUN_FILES.metrics);
  const text = readFileSync(metricsFile, 'utf8');
  const rows = metricsRows(text, metricsFile, 'error').rows;
  if (!runRecordsOf(rows, metricsFile).records.some((r) => r.iteration === 0 && r.phase === 'eval')) throw new RunDirError(`${metricsFile}: no iteration-0 eval record`);
  // iteration 0's lines in file order: its SFT step records and its phase records
  const zero = rows.map((r) => r.value).filter((r) => r.iteration === 0);
  const name = path.basename(path.resolve(target));
  const tmp = `${target}${SEEDING_SUFFIX}${process.pid}`;
  // leftovers of a seeding that was killed before its rename
  const parent = path.dirname(path.resolve(target));
  for (const f of readdirSync(parent)) if (f.startsWith(`${name}${SEEDING_SUFFIX}`)) rmSync(path.join(parent, f), { recursive: true, force: true });
  const t = RunDir.create(tmp);
  t.writeFile(RUN_FILES.config, serializeConfig(c));
  t.writeFile(RUN_FILES.metrics, zero.map((r) => JSON.stringify({ ...r, run: name, method: c.method }) + '\n').join(''));
  cpSync(d.iterationDir(0), t.iterationDir(0), { recursive: true });
  cpSync(d.checkpointDir(0), t.checkpointDir(0), { recursive: true });
  writeManifest(t, 0, c); // this run's own config and metrics (the donor's manifest describes the donor)
  renameSync(tmp, target);
}
