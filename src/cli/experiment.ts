// `bstar experiment --methods sft,star,iterative-rft,online-rft,bstar --seeds 3 [--grid]`: every
// method (or, with --grid, every fixed (T, τ) of the search grids with Online RFT — paper App. D — next
// to B-STaR) with the same budget and config, for each seed; then a comparison table of the final
// monitors with bootstrap CIs over seeds. Each run is an ordinary run dir under runs/<name>/; runs
// execute as child `bstar run` processes, up to --parallel at a time (threads split between them).
// Re-running the same command skips finished runs and resumes interrupted ones.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { gridOf, METHODS } from '../run/config.js';
import { compareTable, methodTable } from '../run/compare.js';
import { configFromArgs } from './run.js';
import { readRun } from './compare.js';

const collect = (v: string, prev: string[]) => [...prev, v];

interface ExperimentOptions {
  methods: string;
  seeds: string;
  grid?: boolean;
  preset?: string;
  set: string[];
  name?: string;
  runsDir: string;
  parallel: string;
}

interface PlannedRun {
  name: string;
  overrides: string[];
}

export class ExperimentError extends Error {
  override readonly name = 'ExperimentError';
}

function posInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ExperimentError(`${flag} expects an integer ≥ 1, found "${v}"`);
  return n;
}

/** The runs of an experiment (validated configs; nothing written). */
export function planExperiment(file: string | undefined, o: ExperimentOptions): PlannedRun[] {
  const seeds = posInt('--seeds', o.seeds);
  const methods = o.methods.split(',').map((m) => m.trim()).filter((m) => m);
  if (methods.length === 0) throw new ExperimentError('--methods: expected a comma-separated list of methods, found none');
  for (const m of methods) if (!(METHODS as readonly string[]).includes(m)) throw new ExperimentError(`--methods: unknown method "${m}"; known: ${METHODS.join(', ')}`);
  const base = configFromArgs(file, { ...o, set: o.set });
  const variants: { label: string; overrides: string[] }[] = [];
  if (o.grid) {
    const Ts = gridOf(base.search.temperatures);
    const taus = gridOf(base.search.thresholds);
    if (Ts.length === 0 || taus.length === 0) throw new ExperimentError('--grid: search.temperatures and search.thresholds must be non-empty');
    for (const T of Ts) for (const tau of taus) variants.push({ label: `fixed-T${T}-tau${tau}`, overrides: ['method=online-rft', `sampling.temperature=${T}`, `selection.threshold=${tau}`] });
    variants.push({ label: 'bstar', overrides: ['method=bstar'] });
  } else {
    for (const m of methods) variants.push({ label: m, overrides: [`method=${m}`] });
  }
  const runs: PlannedRun[] = [];
  for (let s = 0; s < seeds; s++) {
    for (const v of variants) {
      const overrides = [...o.set, ...v.overrides, `seed=${base.seed + s}`];
      configFromArgs(file, { ...o, set: overrides }); // validate every run's config up front
      runs.push({ name: `${v.label}-s${base.seed + s}`, overrides });
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

export function register(program: Command): void {
  program
    .command('experiment')
    .description('run several methods (or the fixed-(T, τ) grid) × seeds with the same budget and compare them with CIs (example: bstar experiment --preset demo --methods online-rft,bstar --seeds 3)')
    .argument('[config]', 'YAML or JSON config shared by all runs')
    .option('--methods <list>', `comma-separated methods (${METHODS.join(', ')})`, METHODS.join(','))
    .option('--seeds <n>', 'seeds per method (integer ≥ 1): seed, seed+1, …', '3')
    .option('--grid', 'App. D ablation: Online RFT at every fixed (T, τ) of search.temperatures × search.thresholds, plus B-STaR')
    .option('--preset <name>', 'start from a preset')
    .option('--set <key=value>', 'override a config key for every run (repeatable)', collect, [])
    .option('--name <name>', 'experiment directory under --runs-dir (default: experiment-<UTC time>)')
    .option('--runs-dir <dir>', 'where run directories go', 'runs')
    .option('--parallel <n>', 'runs at a time (threads are split between them)', '1')
    .action(async (file: string | undefined, o: ExperimentOptions) => {
      const runs = planExperiment(file, o);
      const parallel = Math.min(posInt('--parallel', o.parallel), runs.length);
      const threads = Math.max(1, Math.floor(availableParallelism() / parallel));
      const name = o.name ?? `experiment-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
      const dir = path.join(o.runsDir, name);
      const cli = fileURLToPath(new URL('./main.js', import.meta.url));
      const log = (l: string) => console.log(l);
      log(`bstar experiment ${dir}: ${runs.length} runs, ${parallel} at a time, ${threads} thread(s) each`);
      let next = 0;
      const failed: string[] = [];
      const worker = async () => {
        while (next < runs.length) {
          const r = runs[next++];
          const runDir = path.join(dir, r.name);
          if (existsSync(path.join(runDir, 'summary.json'))) {
            log(`[${r.name}] finished earlier; skipped`);
            continue;
          }
          const args = existsSync(path.join(runDir, 'config.yaml'))
            ? ['run', '--resume', runDir]
            : ['run', ...(file ? [file] : []), ...(o.preset ? ['--preset', o.preset] : []), ...[...r.overrides, `threads=${threads}`].flatMap((s) => ['--set', s]), '--runs-dir', dir, '--name', r.name];
          const code = await runChild(cli, args, log, r.name);
          if (code !== 0) failed.push(r.name);
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
      if (failed.length) throw new ExperimentError(`runs failed: ${failed.join(', ')} (logs above; re-run the same command to resume them)`);
      const recs = runs.map((r) => readRun(path.join(dir, r.name)));
      const byMethod = recs.map((r) => ({ ...r, method: r.name.replace(/-s\d+$/, '') }));
      const table = methodTable(byMethod, ['pass1', 'passK', 'passKS', 'bestOfK', 'distinct']);
      const text = `# ${name}\n\nFinal monitors, mean over seeds [90% bootstrap CI over seeds]:\n\n${table}\n\nRuns:\n\n${compareTable(recs)}\n`;
      writeFileSync(path.join(dir, 'comparison.txt'), text);
      log('');
      log(text);
    });
}
