// `bstar experiment --methods sft,star,iterative-rft,online-rft,bstar --seeds 3 [--grid]`: every
// method (or, with --grid, every fixed (T, τ) of the search grids with Online RFT — paper App. D — next
// to B-STaR) with the same budget and config, for each seed; then a comparison table of the final
// monitors with bootstrap CIs over seeds. Each run is an ordinary run dir under runs/<name>/; runs
// execute as child `bstar run` processes, up to --parallel at a time (threads split between them).
// Re-running the same command skips finished runs and resumes interrupted ones (and rewrites the
// comparison). --share-sft runs iteration 0 (SFT + its evaluation) once per seed and seeds the other
// runs of that seed from it (src/run/shareSft.ts). The write-up (comparison.txt/.md/.json, plot-*.svg)
// comes from src/run/experimentReport.ts.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { gridOf, METHODS } from '../run/config.js';
import type { Config } from '../run/config.js';
import { loadConfig, serializeConfig } from '../run/configLoad.js';
import { lineSpec, renderSvg } from '../report/plots.js';
import { defaultPairs, formatExperimentMarkdown, formatExperimentText, readExperimentRun, summarizeExperiment, writeExperimentPlots } from '../run/experimentReport.js';
import { hasIterationZero, ITERATION0_FREE_KEYS, iterationZeroKey, seedFromSharedSft, sftDonorDir } from '../run/shareSft.js';
import { RunDir, RUN_FILES } from '../run/runDir.js';
import { writeManifest } from '../run/manifest.js';
import { taskNames } from '../tasks/index.js';
import { configFromArgs } from './run.js';

const collect = (v: string, prev: string[]) => [...prev, v];

interface ExperimentOptions {
  methods: string;
  seeds: string;
  grid?: boolean;
  fixed?: string;
  sftBaseline?: boolean;
  sftBaselineEpochs?: string;
  seedsOf?: string;
  preset?: string;
  set: string[];
  name?: string;
  runsDir: string;
  parallel: string;
  shareSft?: boolean;
  pair?: string[];
}

export interface PlannedRun {
  name: string;
  /** The method, or the grid point (`fixed-T…-tau…`): what the comparison groups by. */
  label: string;
  seed: number;
  overrides: string[];
  /** The SFT baseline: SFT for sft.epochs, evaluated; the run stops after iteration 0. */
  sftOnly?: boolean;
}

/** The label of the SFT-baseline runs (`--sft-baseline`). */
export const SFT_BASELINE = 'sft-baseline';

export class ExperimentError extends Error {
  override readonly name = 'ExperimentError';
}

function posInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ExperimentError(`${flag} expects an integer ≥ 1, found "${v}"`);
  return n;
}

/** `--pair a,b` flags as [a, b] pairs of labels that the experiment runs. */
export function parsePairs(flags: readonly string[], labels: readonly string[]): [string, string][] {
  return flags.map((p) => {
    const parts = p.split(',').map((x) => x.trim());
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new ExperimentError(`--pair: expected two methods "a,b", found "${p}"`);
    for (const x of parts) if (!labels.includes(x)) throw new ExperimentError(`--pair ${p}: "${x}" is not a method of this experiment (${labels.join(', ')})`);
    return parts as [string, string];
  });
}

/** `--fixed 0.5:1.5,0.8:1.5` as [T, τ] points. */
export function parseFixed(v: string): [number, number][] {
  return v.split(',').map((x) => x.trim()).filter((x) => x).map((p) => {
    const parts = p.split(':').map(Number);
    if (parts.length !== 2 || parts.some((n) => !Number.isFinite(n))) throw new ExperimentError(`--fixed: expected T:τ points such as 0.8:1.5, found "${p}"`);
    return parts as [number, number];
  });
}

/** `--seeds-of star=3,iterative-rft=3`: fewer seeds (the first N) for some labels. */
export function parseSeedsOf(v: string | undefined, labels: readonly string[], seeds: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of (v ?? '').split(',').map((x) => x.trim()).filter((x) => x)) {
    const [label, n] = p.split('=');
    if (!labels.includes(label)) throw new ExperimentError(`--seeds-of ${p}: "${label}" is not a method of this experiment (${labels.join(', ')})`);
    const k = posInt('--seeds-of', n ?? '');
    if (k > seeds) throw new ExperimentError(`--seeds-of ${p}: at most --seeds (${seeds})`);
    out.set(label, k);
  }
  return out;
}

/**
 * `--sft-baseline-epochs n`: the SFT baseline goes on for n more epochs of the gold solutions after
 * sft.epochs, at the SFT's final learning rate (constant, a fresh AdamW with train.warmupSteps), as n
 * iterations of the sft method over every gold problem (batches of train.batchSize), evaluated at the
 * end only. It changes only
 * keys iteration 0 never reads, so the SFT is still shared.
 */
export function sftBaselineContinuation(base: Config, epochs: number): string[] {
  const gold = base.sft.goldQueries ?? base.task.trainSize;
  if (gold === null) throw new ExperimentError('--sft-baseline-epochs: set task.trainSize (or sft.goldQueries): one epoch of gold is that many problems');
  if (base.sft.goldVariants !== 1) throw new ExperimentError('--sft-baseline-epochs: needs sft.goldVariants 1 (an iteration of the sft method trains one solution per problem)');
  return [
    `iterations=${epochs}`, `queriesPerIteration=${gold}`, `train.stepsPerIteration=${Math.ceil(gold / base.train.batchSize)}`, 'train.epochsPerIteration=null',
    `train.lr=${base.sft.minLr}`, `train.minLr=${base.sft.minLr}`, 'train.schedule=constant', `eval.every=${epochs}`,
  ];
}

const fixedVariant = (T: number, tau: number) => ({ label: `fixed-T${T}-tau${tau}`, overrides: ['method=online-rft', `sampling.temperature=${T}`, `selection.threshold=${tau}`] });

/** The runs of an experiment (validated configs; nothing written). */
export function planExperiment(file: string | undefined, o: ExperimentOptions): PlannedRun[] {
  const seeds = posInt('--seeds', o.seeds);
  const methods = o.methods.split(',').map((m) => m.trim()).filter((m) => m);
  if (methods.length === 0) throw new ExperimentError('--methods: expected a comma-separated list of methods, found none');
  for (const m of methods) if (!(METHODS as readonly string[]).includes(m)) throw new ExperimentError(`--methods: unknown method "${m}"; known: ${METHODS.join(', ')}`);
  const base = configFromArgs(file, { ...o, set: o.set });
  const variants: { label: string; overrides: string[]; sftOnly?: boolean }[] = [];
  if (o.sftBaseline) {
    // first, so that with --share-sft it is each seed's donor: its SFT also keeps the start epoch
    const keep = base.sft.startEpoch < base.sft.epochs && base.sft.startEpoch > 0 ? [base.sft.startEpoch] : [];
    const overrides = ['method=sft', `sft.startEpoch=${base.sft.epochs}`, `sft.epochCheckpoints=[${keep.join(', ')}]`];
    const more = o.sftBaselineEpochs === undefined ? 0 : Number(o.sftBaselineEpochs);
    if (!Number.isInteger(more) || more < 0) throw new ExperimentError(`--sft-baseline-epochs expects an integer ≥ 0, found "${o.sftBaselineEpochs}"`);
    if (more > 0) overrides.push(...sftBaselineContinuation(base, more));
    variants.push({ label: SFT_BASELINE, overrides, ...(more === 0 ? { sftOnly: true } : {}) });
  }
  if (o.grid) {
    const Ts = gridOf(base.search.temperatures);
    const taus = gridOf(base.search.thresholds);
    if (Ts.length === 0 || taus.length === 0) throw new ExperimentError('--grid: search.temperatures and search.thresholds must be non-empty');
    for (const T of Ts) for (const tau of taus) variants.push(fixedVariant(T, tau));
    variants.push({ label: 'bstar', overrides: ['method=bstar'] });
  } else {
    for (const m of methods) variants.push({ label: m, overrides: [`method=${m}`] });
    for (const [T, tau] of o.fixed ? parseFixed(o.fixed) : []) variants.push(fixedVariant(T, tau));
  }
  const seedsOf = parseSeedsOf(o.seedsOf, variants.map((v) => v.label), seeds);
  const runs: PlannedRun[] = [];
  for (let s = 0; s < seeds; s++) {
    for (const v of variants) {
      if (s >= (seedsOf.get(v.label) ?? seeds)) continue;
      const overrides = [...o.set, ...v.overrides, `seed=${base.seed + s}`];
      configFromArgs(file, { ...o, set: overrides }); // validate every run's config up front
      runs.push({ name: `${v.label}-s${base.seed + s}`, label: v.label, seed: base.seed + s, overrides, ...(v.sftOnly ? { sftOnly: true } : {}) });
    }
  }
  return runs;
}

function runChild(cli: string, args: string[], log: (l: string) => void, tag: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
    const relay = (buf: Buffer) => buf.toString().split('\n').filter((l) => l.trim()).forEach((l) => log(`[${tag}] ${l}`));
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/**
 * An SFT baseline that has only its iteration 0 (e.g. run before --sft-baseline-epochs was given, or
 * with another value) gets the planned continuation: its config.yaml is rewritten when the two differ
 * only in keys iteration 0 never reads (threads kept). Anything else is an error.
 */
export function replanSftBaseline(dir: string, planned: Config, log: (l: string) => void): void {
  const file = path.join(dir, RUN_FILES.config);
  const have = loadConfig({ file, taskNames: taskNames() }) as Config;
  const want: Config = { ...planned, threads: have.threads };
  if (serializeConfig(have) === serializeConfig(want)) return;
  const d = RunDir.open(dir);
  if (d.checkpoints().some((i) => i > 0)) throw new ExperimentError(`${file}: differs from the planned SFT baseline but has iterations after 0; remove the run dir to redo it`);
  if (iterationZeroKey(have) !== iterationZeroKey(want)) throw new ExperimentError(`${file}: its iteration 0 does not match the planned SFT baseline (only ${ITERATION0_FREE_KEYS.join(', ')} may differ)`);
  d.writeFile(RUN_FILES.config, serializeConfig(want));
  // checkpoint 0's manifest now describes the re-planned config (as a run seeded from a shared SFT gets
  // its own: shareSft.ts), so the resume verifies against it; only keys iteration 0 never reads changed
  writeManifest(d, 0, want);
  log(`[${path.basename(dir)}] config.yaml re-planned after iteration 0: ${want.iterations} more iteration(s) of the sft method`);
}

/**
 * Runs the planned runs, `parallel` at a time. With shareSft, the first run of each seed is first run
 * to the end of iteration 0 only (`--stop-after 0`); every other run of the seed is then seeded from
 * it and resumed, and the first run resumed too. Returns the names of the runs that failed.
 */
async function executeRuns(
  runs: readonly PlannedRun[],
  o: { file?: string; preset?: string; dir: string; threads: number; parallel: number; shareSft: boolean },
  log: (l: string) => void,
): Promise<string[]> {
  const cli = fileURLToPath(new URL('./main.js', import.meta.url));
  const failed: string[] = [];
  const runDir = (r: PlannedRun) => path.join(o.dir, r.name);
  const newArgs = (r: PlannedRun) => ['run', ...(o.file ? [o.file] : []), ...(o.preset ? ['--preset', o.preset] : []), ...[...r.overrides, `threads=${o.threads}`].flatMap((s) => ['--set', s]), '--runs-dir', o.dir, '--name', r.name];
  /** Finished: the whole run, or for the SFT baseline its iteration 0. */
  const finished = (r: PlannedRun) => (r.sftOnly ? hasIterationZero(runDir(r)) : existsSync(path.join(runDir(r), RUN_FILES.summary)));
  const donors = new Map<number, PlannedRun>();
  if (o.shareSft) for (const r of runs) if (!donors.has(r.seed)) donors.set(r.seed, r);
  const donorDone = new Map<number, { promise: Promise<boolean>; resolve: (ok: boolean) => void }>();
  for (const seed of donors.keys()) {
    let resolve!: (ok: boolean) => void;
    const promise = new Promise<boolean>((res) => (resolve = res));
    donorDone.set(seed, { promise, resolve });
  }
  type Job = () => Promise<void>;
  const sftJob = (d: PlannedRun): Job => async () => {
    const dir = runDir(d);
    let ok = true;
    if (finished(d) || hasIterationZero(dir)) log(`[${d.name}] iteration 0 done earlier; shared with the other runs of seed ${d.seed}`);
    else {
      log(`[${d.name}] iteration 0 (SFT + evaluation), shared with the other runs of seed ${d.seed}`);
      const args = existsSync(path.join(dir, RUN_FILES.config)) ? ['run', '--resume', dir] : newArgs(d);
      ok = (await runChild(cli, [...args, '--stop-after', '0'], log, d.name)) === 0;
      if (!ok) failed.push(d.name);
    }
    donorDone.get(d.seed)!.resolve(ok);
  };
  const fullJob = (r: PlannedRun): Job => async () => {
    const donor = donors.get(r.seed);
    if (donor && !(await donorDone.get(r.seed)!.promise)) {
      if (donor !== r) failed.push(r.name);
      return;
    }
    const dir = runDir(r);
    if (finished(r)) {
      if (donor !== r) log(`[${r.name}] finished earlier; skipped`);
      return;
    }
    let args: string[];
    if (existsSync(path.join(dir, RUN_FILES.config))) {
      if (r.label === SFT_BASELINE) {
        try {
          replanSftBaseline(dir, configFromArgs(o.file, { preset: o.preset, set: r.overrides, runsDir: o.dir }), log);
        } catch (e) {
          log(`[${r.name}] ${(e as Error).message}`);
          failed.push(r.name);
          return;
        }
      }
      args = ['run', '--resume', dir];
    } else if (donor) {
      const dDir = runDir(donor);
      let from: string | null = null;
      try {
        // the donor's threads: the shared iteration 0 was computed with them (results are exact per thread count)
        const dc = loadConfig({ file: path.join(dDir, RUN_FILES.config), taskNames: taskNames() }) as Config;
        const c = configFromArgs(o.file, { preset: o.preset, set: [...r.overrides, `threads=${dc.threads}`], runsDir: o.dir });
        from = sftDonorDir(dDir, dc, c.sft.startEpoch);
        if (from === null) throw new ExperimentError(`its SFT keeps no epoch ${c.sft.startEpoch} (sft.startEpoch of ${r.name}; the donor has sft.startEpoch ${dc.sft.startEpoch}, sft.epochCheckpoints [${dc.sft.epochCheckpoints.join(', ')}])`);
        seedFromSharedSft(from, dir, c);
      } catch (e) {
        log(`[${r.name}] not seeded from ${donor.name}: ${(e as Error).message}`);
        failed.push(r.name);
        return;
      }
      log(`[${r.name}] iteration 0 copied from ${donor.name}${from !== dDir ? ` (${path.relative(dDir, from)})` : ''}`);
      args = ['run', '--resume', dir];
    } else args = newArgs(r);
    if (r.sftOnly) args.push('--stop-after', '0');
    if ((await runChild(cli, args, log, r.name)) !== 0) failed.push(r.name);
  };
  // method by method (the order of --methods: the first methods finish first; the SFT baseline's
  // continuation after the first two), each seed's shared SFT queued one seed ahead of the first run
  // that needs it, so no worker waits on an SFT at the start
  const labels = [...new Set(runs.map((r) => r.label))];
  if (labels[0] === SFT_BASELINE) {
    labels.shift();
    labels.splice(Math.min(2, labels.length), 0, SFT_BASELINE);
  }
  const order = labels.flatMap((l) => runs.filter((r) => r.label === l));
  const seeds = [...new Set(runs.map((r) => r.seed))];
  const jobs: Job[] = [];
  const queued = new Set<number>();
  const needSft = (seed: number | undefined) => {
    if (seed === undefined || queued.has(seed) || !donors.has(seed)) return;
    queued.add(seed);
    jobs.push(sftJob(donors.get(seed)!));
  };
  for (const r of order) {
    needSft(r.seed);
    needSft(seeds[seeds.indexOf(r.seed) + 1]);
    jobs.push(fullJob(r));
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: o.parallel }, worker));
  return failed;
}

/**
 * Reads the finished runs of an experiment dir and writes comparison.txt, comparison.md,
 * comparison.json and plot-*.svg there; returns the text.
 */
export async function writeComparison(dir: string, runs: readonly PlannedRun[], opts: { level: number; resamples: number; seed: number; pairs: [string, string][] }): Promise<string> {
  const recs = runs.map((r) => readExperimentRun(path.join(dir, r.name), r.label));
  const name = path.basename(path.resolve(dir));
  const summary = summarizeExperiment(name, recs, opts);
  const text = formatExperimentText(summary, recs);
  writeFileSync(path.join(dir, 'comparison.txt'), text);
  writeFileSync(path.join(dir, 'comparison.md'), formatExperimentMarkdown(summary));
  writeFileSync(path.join(dir, 'comparison.json'), JSON.stringify(summary, null, 1) + '\n');
  await writeExperimentPlots(dir, summary, (title, y, rows, opts) => renderSvg(lineSpec(title, y, rows, opts), title));
  return text;
}

export function register(program: Command): void {
  program
    .command('experiment')
    .description('run several methods (or the fixed-(T, τ) grid) × seeds with the same budget and compare them with CIs (example: bstar experiment --preset demo --methods online-rft,bstar --seeds 3 --share-sft)')
    .argument('[config]', 'YAML or JSON config shared by all runs')
    .option('--methods <list>', `comma-separated methods (${METHODS.join(', ')})`, METHODS.join(','))
    .option('--seeds <n>', 'seeds per method (integer ≥ 1): seed, seed+1, …', '3')
    .option('--grid', 'App. D ablation: Online RFT at every fixed (T, τ) of search.temperatures × search.thresholds, plus B-STaR')
    .option('--fixed <points>', 'App. D on a subset of the grid: Online RFT at these fixed T:τ points besides --methods (e.g. 0.5:1.5,1.1:1.5)')
    .option('--sft-baseline', 'add the SFT baseline: per seed, SFT for all sft.epochs, evaluated (the run stops after iteration 0); with --share-sft its SFT also keeps the sft.startEpoch model that every other run of the seed starts from')
    .option('--sft-baseline-epochs <n>', 'with --sft-baseline: n more epochs of gold after sft.epochs at the final SFT learning rate, evaluated at the end (the SFT to its dev plateau)', '0')
    .option('--seeds-of <label=n,…>', 'fewer seeds (the first n) for some methods, e.g. star=3,iterative-rft=3')
    .option('--share-sft', 'run iteration 0 (SFT + its evaluation) once per seed and start every method of that seed from it (same results, less time)')
    .option('--pair <a,b>', 'paired difference a − b of the final monitors (repeatable; default: bstar,online-rft when both run, with --grid bstar against every grid point)', collect, [])
    .option('--preset <name>', 'start from a preset')
    .option('--set <key=value>', 'override a config key for every run (repeatable)', collect, [])
    .option('--name <name>', 'experiment directory under --runs-dir (default: experiment-<UTC time>)')
    .option('--runs-dir <dir>', 'where run directories go', 'runs')
    .option('--parallel <n>', 'runs at a time (threads are split between them)', '1')
    .action(async (file: string | undefined, o: ExperimentOptions) => {
      const runs = planExperiment(file, o);
      const labels = [...new Set(runs.map((r) => r.label))];
      const pairs = o.pair?.length ? parsePairs(o.pair, labels) : defaultPairs(labels);
      const base = configFromArgs(file, { ...o, set: o.set });
      const parallel = Math.min(posInt('--parallel', o.parallel), runs.length);
      const threads = Math.max(1, Math.floor(availableParallelism() / parallel));
      const name = o.name ?? `experiment-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
      const dir = path.join(o.runsDir, name);
      const log = (l: string) => console.log(l);
      log(`bstar experiment ${dir}: ${runs.length} runs, ${parallel} at a time, ${threads} thread(s) each${o.shareSft ? ', iteration 0 shared per seed' : ''}`);
      const failed = await executeRuns(runs, { file, preset: o.preset, dir, threads, parallel, shareSft: !!o.shareSft }, log);
      if (failed.length) throw new ExperimentError(`runs failed: ${failed.join(', ')} (logs above; re-run the same command to resume them)`);
      const text = await writeComparison(dir, runs, { level: base.eval.ciLevel, resamples: base.eval.bootstrapResamples, seed: base.seed, pairs });
      log('');
      log(text);
      log(`written: ${['comparison.txt', 'comparison.md', 'comparison.json', 'plot-*.svg'].map((f) => path.join(dir, f)).join(', ')}`);
    });
}
