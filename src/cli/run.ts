// `bstar run [config] [--preset p] [--name n] [--set k=v …] [--method m] [--iterations n]` and
// `bstar run --resume runs/<name>`: the self-improvement loop (src/run/run.ts).
//   bstar run --preset demo --method bstar --iterations 4 --set train.lr=5e-4
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../run/config.js';
import { loadConfig } from '../run/configLoad.js';
import { PRESETS, presetModelNote } from '../run/presets.js';
import { makeProgress } from '../run/progress.js';
import { defaultRunName, resumeRun, startRun } from '../run/run.js';
import { taskNames } from '../tasks/index.js';
import { refreshReport, reportLine } from '../report/live.js';

export interface RunCliOptions {
  preset?: string;
  name?: string;
  set: string[];
  method?: string;
  iterations?: string;
  seed?: string;
  dataset?: string;
  model?: string;
  resume?: string;
  stopAfter?: string;
  allowConfigChange?: string;
  runsDir: string;
  reportTo?: string;
  microBatch?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** The config of `bstar run` from its arguments (file, preset, flags as overrides, in that order). */
export function configFromArgs(file: string | undefined, o: RunCliOptions): Config {
  const overrides = [...o.set];
  if (o.method !== undefined) overrides.push(`method=${o.method}`);
  if (o.iterations !== undefined) overrides.push(`iterations=${o.iterations}`);
  if (o.seed !== undefined) overrides.push(`seed=${o.seed}`);
  if (o.dataset !== undefined) overrides.push(`task.file=${JSON.stringify(o.dataset)}`);
  if (o.model !== undefined) overrides.push(`model.checkpoint=${JSON.stringify(o.model)}`);
  if (o.reportTo !== undefined) overrides.push(`reportTo=${o.reportTo}`);
  const c = loadConfig({ file, preset: o.preset, overrides, taskNames: taskNames() });
  if (o.microBatch === undefined) return c;
  // --micro-batch (TRL's per_device_train_batch_size): sequences per micro-batch, whatever gradAccum is
  const micro = Number(o.microBatch);
  if (!Number.isSafeInteger(micro) || micro < 1) throw new Error(`--micro-batch expects an integer ≥ 1, found "${o.microBatch}"`);
  return loadConfig({ file, preset: o.preset, overrides: [...overrides, `train.batchSize=${micro * c.train.gradAccum}`], taskNames: taskNames() });
}

export function register(program: Command): void {
  program
    .command('run')
    .description('self-improve a model: SFT, then iterations of sample → reward → select → train, evaluated (example: bstar run --preset demo --method bstar)')
    .argument('[config]', 'YAML or JSON config file (keys: docs/config.md)')
    .option('--preset <name>', `start from a preset (${Object.keys(PRESETS).join(', ')}; the paper presets want --model)`)
    .option('--name <name>', 'run directory name under --runs-dir (default: <method>-<task>-<UTC time>)')
    .option('--set <key=value>', 'override a config key (repeatable), e.g. --set train.lr=1e-4', collect, [])
    .option('--method <m>', 'sft | star | iterative-rft | online-rft | bstar')
    .option('--iterations <n>', 'self-improvement iterations (integer ≥ 1)')
    .option('--seed <n>', 'run seed (integer ≥ 0)')
    .option('--dataset <path|org/name>', 'your dataset for the task: .jsonl/.json/.parquet, a folder <name>/data/<split>-*.parquet, or a hub id (= --set task.file=…; columns: --set task.fields.question=…)')
    .option('--model <dir|org/name>', 'start from this checkpoint: a local HF folder or a hub id fetched into the HF cache (= --set model.checkpoint=…)')
    .option('--resume <dir>', 'continue the run in this directory from its last checkpoint')
    .option('--runs-dir <dir>', 'where run directories go', 'runs')
    .option('--allow-config-change <keys>', 'with --resume: accept these edited config.yaml keys (comma-separated, e.g. train.lr,eval.every); the change is recorded in metrics.jsonl')
    .option('--report-to <where>', 'none | tensorboard: also write TensorBoard event files to <run>/tensorboard/ (config reportTo)')
    .option('--micro-batch <n>', 'sequences per micro-batch of self-training: train.batchSize = n × train.gradAccum')
    .option('--stop-after <i>', 'pause after iteration i is checkpointed (integer ≥ 0; 0 = after SFT and its evaluation); --resume continues')
    .action(async (file: string | undefined, o: RunCliOptions) => {
      const log = (l: string) => console.log(l);
      const stopAfter = o.stopAfter === undefined ? undefined : Number(o.stopAfter);
      if (stopAfter !== undefined && !(Number.isInteger(stopAfter) && stopAfter >= 0)) throw new Error(`--stop-after expects an integer ≥ 0, found "${o.stopAfter}"`);
      const progress = makeProgress(log);
      if (o.resume !== undefined) {
        if (file !== undefined || o.preset || o.set.length || o.method || o.iterations || o.name || o.seed || o.dataset || o.model || o.reportTo || o.microBatch) {
          throw new Error('--resume takes the run directory only (its config.yaml is the config); drop the other arguments');
        }
        const allowConfigChange = o.allowConfigChange?.split(',').map((k) => k.trim()).filter((k) => k !== '');
        await resumeRun(o.resume, { log, progress, stopAfter, allowConfigChange, report: refreshReport, started: (d) => log(reportLine(d)) });
        return;
      }
      if (o.allowConfigChange !== undefined) throw new Error('--allow-config-change goes with --resume (it accepts edits of a run\'s config.yaml)');
      const c = configFromArgs(file, o);
      const note = presetModelNote(c);
      if (note !== null) log(note);
      const dir = path.join(o.runsDir, o.name ?? defaultRunName(c));
      await startRun(c, dir, { log, progress, stopAfter, report: refreshReport, started: (d) => log(reportLine(d)) });
    });
}
