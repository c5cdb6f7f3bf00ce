// A self-checking run directory. After each checkpoint i, checkpoints/<i>/manifest.json records what a
// resume from i needs and what it held then: the resolved config and the hash of config.yaml,
// metrics.jsonl (lines, bytes, SHA-256 of exactly those bytes), and every file of iterations/0…i,
// checkpoints/0 (the base the loop returns to) and checkpoints/i, each with its size and SHA-256.
//
// On resume (planResume, read-only; then applyResumePlan):
//   - the newest checkpoint whose manifest verifies is the resume point. A newer one that does not (a
//     torn or changed file, a missing or damaged manifest: the run stopped between the checkpoint and its
//     manifest, or a file was damaged since) is discarded: moved to discarded/<time>/, with a warning
//     naming the checkpoint and the file. With none left, the run starts over (same seed, same result);
//   - config.yaml must still be the config of the resume point. A damaged config.yaml (not YAML, or not a
//     valid config) is restored from the manifest (the damaged copy is kept in discarded/). An edited one
//     is refused, naming the changed keys, unless `--allow-config-change key1,key2` lists them; then the
//     run continues with the new values and metrics.jsonl records the change (a config-change event);
//   - a run directory from before manifests (none at all) resumes from its newest checkpoint unverified,
//     with a warning.
// Files written after the last checkpoint (summary.json, progress.json, report.html, an interrupted
// iteration's files) are rewritten by the resumed run and are not part of any manifest.

import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import { loadConfig, serializeConfig } from './configLoad.js';
import { RECORDS_VERSION, type RunEvent } from './records.js';
import { RunDir, RunDirError, RUN_FILES } from './runDir.js';

export const MANIFEST = 'manifest.json';
export const MANIFEST_VERSION = 1;

export interface FileSum {
  bytes: number;
  sha256: string;
}

export interface Manifest {
  v: typeof MANIFEST_VERSION;
  iteration: number;
  /** The resolved config of the run at this checkpoint. */
  config: Config;
  /** config.yaml's own hash (a comment or formatting change is not a config change). */
  configFile: FileSum;
  metrics: FileSum & { lines: number };
  /** Run-dir-relative path → size and hash (config.yaml and metrics.jsonl are above). */
  files: Record<string, FileSum>;
}

// ---------------------------------------------------------------------------------------------------
// Hashing

function sha256File(file: string, bytes = Infinity): FileSum {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let total = 0;
  try {
    for (;;) {
      const want = Math.min(buf.length, bytes - total);
      if (want <= 0) break;
      const n = readSync(fd, buf, 0, want, total);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      total += n;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes: total, sha256: h.digest('hex') };
}

/** Every regular file under `rel` (run-dir-relative), sorted; temp files of atomic writes left out. */
function filesUnder(dir: RunDir, rel: string): string[] {
  const root = dir.file(rel);
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (r: string) => {
    for (const e of readdirSync(dir.file(r)).sort()) {
      const p = `${r}/${e}`;
      const st = lstatSync(dir.file(p));
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && !/\.tmp-\d+$/.test(e) && !(p === `${rel}/${MANIFEST}`)) out.push(p);
    }
  };
  walk(rel);
  return out;
}

/** The files manifest i covers besides config.yaml and metrics.jsonl. */
function coveredFiles(dir: RunDir, iteration: number): string[] {
  const its = existsSync(dir.file('iterations'))
    ? readdirSync(dir.file('iterations')).filter((f) => /^\d+$/.test(f) && Number(f) <= iteration).sort((a, b) => Number(a) - Number(b))
    : [];
  const cps = iteration === 0 ? [0] : [0, iteration];
  return [...its.flatMap((i) => filesUnder(dir, `iterations/${i}`)), ...cps.flatMap((i) => filesUnder(dir, `checkpoints/${i}`))];
}

// ---------------------------------------------------------------------------------------------------
// Writing

/** Writes checkpoints/<i>/manifest.json for the run directory as it is now (right after checkpoint i). */
export function writeManifest(dir: RunDir, iteration: number, config: Config): Manifest {
  const files: Record<string, FileSum> = {};
  for (const f of coveredFiles(dir, iteration)) files[f] = sha256File(dir.file(f));
  const metricsSum = sha256File(dir.file(RUN_FILES.metrics));
  const m: Manifest = {
    v: MANIFEST_VERSION,
    iteration,
    config,
    configFile: sha256File(dir.file(RUN_FILES.config)),
    metrics: { ...metricsSum, lines: dir.metricsLines() },
    files,
  };
  dir.writeFile(`checkpoints/${iteration}/${MANIFEST}`, JSON.stringify(m, null, 1) + '\n');
  return m;
}

// ---------------------------------------------------------------------------------------------------
// Verifying

/** A manifest, or why it cannot be used. */
export function readManifest(dir: RunDir, iteration: number): Manifest | string {
  const rel = `checkpoints/${iteration}/${MANIFEST}`;
  if (!existsSync(dir.file(rel))) return `${rel} is missing (the run stopped before it was written, or it was removed)`;
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(dir.file(rel), 'utf8')) as Manifest;
  } catch (e) {
    return `${rel} is damaged (${(e as Error).message})`;
  }
  if (m === null || typeof m !== 'object' || m.v !== MANIFEST_VERSION || m.iteration !== iteration || typeof m.files !== 'object' || typeof m.metrics !== 'object' || typeof m.config !== 'object') {
    return `${rel} is damaged (not a version-${MANIFEST_VERSION} manifest of checkpoint ${iteration})`;
  }
  return m;
}

/** The first file of the manifest that differs from what is on disk, as a sentence; null when all match. */
export function manifestProblem(dir: RunDir, m: Manifest, cache = new Map<string, FileSum>()): string | null {
  const sum = (rel: string, bytes?: number) => {
    const key = `${rel}\0${bytes ?? ''}`;
    let s = cache.get(key);
    if (!s) cache.set(key, (s = sha256File(dir.file(rel), bytes)));
    return s;
  };
  const mf = RUN_FILES.metrics;
  if (!existsSync(dir.file(mf))) return `${mf} is missing`;
  const ms = sum(mf, m.metrics.bytes);
  if (ms.bytes < m.metrics.bytes) return `${mf} is shorter (${ms.bytes} bytes) than at checkpoint ${m.iteration} (${m.metrics.bytes} bytes)`;
  if (ms.sha256 !== m.metrics.sha256) return `${mf}: its first ${m.metrics.bytes} bytes changed since checkpoint ${m.iteration}`;
  for (const [rel, want] of Object.entries(m.files)) {
    if (!existsSync(dir.file(rel))) return `${rel} is missing`;
    const got = sum(rel);
    if (got.bytes !== want.bytes) return `${rel} has ${got.bytes} bytes, ${want.bytes} at checkpoint ${m.iteration} (truncated or changed)`;
    if (got.sha256 !== want.sha256) return `${rel} changed since checkpoint ${m.iteration} (SHA-256 differs)`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Config changes

export interface ConfigChange {
  key: string;
  from: unknown;
  to: unknown;
}

function leaves(v: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, v);
    for (const [k, x] of entries) leaves(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, v);
  return out;
}

/** Keys whose values differ between two resolved configs (dotted leaves; a grid's parts are leaves). */
export function configChanges(from: Config, to: Config): ConfigChange[] {
  const a = leaves(from, '', new Map());
  const b = leaves(to, '', new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))).map((k) => ({ key: k, from: a.get(k), to: b.get(k) }));
}

const allowedBy = (allow: readonly string[], key: string) => allow.some((a) => key === a || key.startsWith(`${a}.`));
const showValue = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));

// ---------------------------------------------------------------------------------------------------
// The resume plan

export interface ResumePlan {
  /** The config to continue with. */
  config: Config;
  /** The verified checkpoint to resume from (null: start over). */
  checkpoint: number | null;
  /** Checkpoints to move to discarded/ (newer than the resume point, not verified). */
  discard: number[];
  /** config.yaml is damaged: move it to discarded/ and write this config back. */
  restoreConfig: boolean;
  /** Allowed config changes to record in metrics.jsonl. */
  changes: ConfigChange[];
  /** Warnings for the log (what was discarded and why). */
  warnings: string[];
}

export interface ResumeOptions {
  /** Keys (or sections) whose change since the resume point is accepted. */
  allowConfigChange?: readonly string[];
  taskNames?: readonly string[];
}

/** Decides how to resume (reads only; see the top of this file). Throws RunDirError on a refused change. */
export function planResume(dir: RunDir, o: ResumeOptions = {}): ResumePlan {
  const allow = o.allowConfigChange ?? [];
  const cps = dir.checkpoints();
  const warnings: string[] = [];
  // Before manifests existed: several checkpoints, none with one. (A single checkpoint 0 without one is
  // also what a run killed before its first manifest leaves; starting over from it costs only iteration 0.)
  const legacy = cps.length >= 2 && cps.every((i) => !existsSync(dir.file(`checkpoints/${i}/${MANIFEST}`)));
  let checkpoint: number | null = null;
  let manifest: Manifest | null = null;
  const rejected: string[] = [];
  if (legacy) {
    checkpoint = cps[cps.length - 1];
    warnings.push(`warning: ${dir.dir} has no checkpoint manifests (made by an older bstar): resuming from checkpoint ${checkpoint} without verifying it`);
  } else {
    const cache = new Map<string, FileSum>();
    for (const i of [...cps].reverse()) {
      const m = readManifest(dir, i);
      const problem = typeof m === 'string' ? m : manifestProblem(dir, m, cache);
      if (problem === null && typeof m !== 'string') {
        checkpoint = i;
        manifest = m;
        break;
      }
      rejected.push(`checkpoint ${i} (${problem})`);
    }
  }
  const discard = cps.filter((i) => checkpoint === null || i > checkpoint);
  if (rejected.length > 0) {
    warnings.push(
      `warning: ${rejected.join('; ')}: not usable; ` +
        (checkpoint === null ? 'no verified checkpoint is left, so the run starts over' : `resuming from checkpoint ${checkpoint}`) +
        `; the discarded checkpoint${discard.length === 1 ? '' : 's'} ${discard.join(', ')} ${discard.length === 1 ? 'goes' : 'go'} to ${path.join(dir.dir, 'discarded')}/`,
    );
  }

  // The config
  const cfgFile = dir.file(RUN_FILES.config);
  let onDisk: Config | null = null;
  let loadError: Error | null = null;
  try {
    onDisk = loadConfig({ file: cfgFile, taskNames: o.taskNames });
  } catch (e) {
    loadError = e as Error;
  }
  if (manifest === null) {
    if (onDisk === null) throw loadError!;
    return { config: onDisk, checkpoint, discard, restoreConfig: false, changes: [], warnings };
  }
  const text = readFileSync(cfgFile, 'utf8');
  const sum = (t: string) => createHash('sha256').update(t).digest('hex');
  const original = serializeConfig(manifest.config);
  // Cut short (the start of what was written): restore. Not a config (not YAML, invalid): restore too.
  const torn = sum(text) !== manifest.configFile.sha256 && sum(original) === manifest.configFile.sha256 && original.startsWith(text);
  if (torn || onDisk === null) {
    const why = torn ? `cut short (${Buffer.byteLength(text)} of ${manifest.configFile.bytes} bytes)` : `damaged (${loadError!.message})`;
    warnings.push(`warning: ${cfgFile} is ${why}; restored from checkpoints/${checkpoint}/${MANIFEST} (the damaged copy goes to discarded/)`);
    return { config: manifest.config, checkpoint, discard, restoreConfig: true, changes: [], warnings };
  }
  const changes = configChanges(manifest.config, onDisk);
  for (const a of allow) {
    if (!changes.some((c) => allowedBy([a], c.key)) && !leaves(onDisk, '', new Map()).has(a) && ![...leaves(onDisk, '', new Map()).keys()].some((k) => k.startsWith(`${a}.`))) {
      throw new RunDirError(`--allow-config-change: ${a} is not a config key`);
    }
  }
  const refused = changes.filter((c) => !allowedBy(allow, c.key));
  if (refused.length > 0) {
    const list = refused.map((c) => `${c.key} ${showValue(c.from)} → ${showValue(c.to)}`).join(', ');
    throw new RunDirError(
      `${cfgFile}: changed since checkpoint ${checkpoint}: ${list}; a resumed run must keep its config. ` +
        `To continue with the new value${refused.length > 1 ? 's' : ''} (recorded in metrics.jsonl), resume with --allow-config-change ${refused.map((c) => c.key).join(',')}; or undo the edit`,
    );
  }
  if (changes.length > 0) warnings.push(`warning: config changed since checkpoint ${checkpoint} (allowed): ${changes.map((c) => `${c.key} ${showValue(c.from)} → ${showValue(c.to)}`).join(', ')}; recorded in metrics.jsonl`);
  return { config: onDisk, checkpoint, discard, restoreConfig: false, changes, warnings };
}

/** Carries out a resume plan's moves (discarded checkpoints, a damaged config.yaml); returns where to. */
export function applyResumePlan(dir: RunDir, p: ResumePlan, now = new Date()): string | null {
  if (p.discard.length === 0 && !p.restoreConfig) return null;
  const dest = path.join('discarded', now.toISOString().replace(/[-:]/g, '').replace('.', '-'));
  mkdirSync(dir.file(path.join(dest, 'checkpoints')), { recursive: true });
  for (const i of p.discard) renameSync(dir.checkpointDir(i), dir.file(path.join(dest, 'checkpoints', String(i))));
  if (p.restoreConfig) {
    renameSync(dir.file(RUN_FILES.config), dir.file(path.join(dest, RUN_FILES.config)));
    dir.writeFile(RUN_FILES.config, serializeConfig(p.config));
  }
  dir.syncDir('checkpoints');
  return dir.file(dest);
}

/** The metrics.jsonl line recording allowed config changes at a resume from `iteration`. */
export function configChangeEvent(dir: RunDir, iteration: number | null, changes: readonly ConfigChange[]): string {
  const e: RunEvent = { v: RECORDS_VERSION, run: dir.name, event: 'config-change', iteration: iteration ?? -1, changes: changes.map((c) => ({ key: c.key, from: c.from ?? null, to: c.to ?? null })) };
  return JSON.stringify(e);
}
