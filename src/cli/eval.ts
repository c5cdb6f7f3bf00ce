// `bstar eval <checkpoint> --task t`: Pass@1 (greedy), Pass@K, Pass@K-S, Best-of-K, Reward@K-S and
// distinct equations on the test split, with bootstrap CIs.
//   bstar eval runs/demo/checkpoints/4 --task arith --set eval.k=8 --set eval.testSize=200
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { evaluate } from '../methods/pieces.js';
import { loadConfig } from '../run/configLoad.js';
import { makeProgress } from '../run/progress.js';
import { buildContext } from '../run/run.js';
import { formatTable } from '../run/summary.js';
import { taskNames } from '../tasks/index.js';
import { isHubId } from '../hub/index.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  program
    .command('eval')
    .description('evaluate a checkpoint on a task\'s test split (example: bstar eval runs/demo/checkpoints/4 --task arith)')
    .argument('<checkpoint>', 'checkpoint directory (config.json, model.safetensors, tokenizer.json), or a hub id org/name')
    .option('--task <name>', 'task to evaluate on', 'arith')
    .option('--dataset <path|org/name>', "evaluate on your dataset's test split instead of the shipped data (= --set task.file=…)")
    .option('--set <key=value>', 'override a config key, e.g. eval.k=8, eval.testSize=200, task.options=… (repeatable)', collect, [])
    .option('--json', 'print the result as JSON')
    .action(async (checkpoint: string, o: { task: string; set: string[]; json?: boolean; dataset?: string }) => {
      if (!existsSync(path.join(checkpoint, 'config.json')) && (existsSync(checkpoint) || !isHubId(checkpoint))) throw new Error(`checkpoint ${checkpoint}: no config.json there (expected a checkpoint directory, e.g. runs/<name>/checkpoints/<i>)`);
      const dataset = o.dataset === undefined ? [] : [`task.file=${JSON.stringify(o.dataset)}`];
      const c = loadConfig({ overrides: [`task.name=${o.task}`, `model.checkpoint=${JSON.stringify(checkpoint)}`, ...dataset, ...o.set], taskNames: taskNames() });
      const log = (l: string) => (o.json ? process.stderr.write(l + '\n') : console.log(l));
      const ctx = await buildContext(c, { log, progress: makeProgress(log) });
      const ev = await evaluate(ctx, 0);
      if (o.json) {
        console.log(JSON.stringify({ checkpoint, task: o.task, k: ev.summary.k, s: ev.summary.s, queries: ev.summary.queries, metrics: ev.summary.metrics }));
        return;
      }
      const pct = (x: number) => (100 * x).toFixed(1);
      console.log(`${checkpoint} on ${o.task} (${ev.summary.queries} test queries, K=${ev.summary.k}, S=${ev.summary.s}, ${Math.round(c.eval.ciLevel * 100)}% bootstrap CI):`);
      console.log(formatTable(['metric', 'mean %', 'CI %'], Object.entries(ev.summary.metrics).map(([k, v]) => [k, v ? pct(v.mean) : '—', v ? `${pct(v.lo)}–${pct(v.hi)}` : '—'])));
    });
}
