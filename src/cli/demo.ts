// `bstar demo` = `npm start`: the embedded demo. SFT a tiny model (hidden 192) on the arith task's gold
// solutions, then B-STaR for a few iterations, evaluating each, and print the before/after table
// (Pass@1, Pass@K, Pass@K-S, distinct equations, chosen T and τ, query effect). Settings: the `demo`
// preset (src/run/presets.ts); any `--set` override applies on top.
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../run/configLoad.js';
import { makeProgress } from '../run/progress.js';
import { defaultRunName, startRun } from '../run/run.js';
import { taskNames } from '../tasks/index.js';
import { refreshReport, reportLine } from '../report/live.js';
import { REPORT_FILE } from '../report/report.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  program
    .command('demo')
    .description('the embedded demo: SFT a tiny model on arith, then B-STaR iterations, with a before/after table (example: bstar demo --set iterations=3)')
    .option('--set <key=value>', 'override a key of the demo preset (repeatable)', collect, [])
    .option('--name <name>', 'run directory name under --runs-dir (default: demo-<UTC time>)')
    .option('--runs-dir <dir>', 'where run directories go', 'runs')
    .action(async (o: { set: string[]; name?: string; runsDir: string }) => {
      const t0 = performance.now();
      const c = loadConfig({ preset: 'demo', overrides: o.set, taskNames: taskNames() });
      const log = (l: string) => console.log(l);
      const dir = path.join(o.runsDir, o.name ?? defaultRunName(c).replace(/^[^-]+-[^-]+/, 'demo'));
      const out = await startRun(c, dir, { log, progress: makeProgress(log), report: refreshReport, started: (d) => log(reportLine(d)) });
      const first = out.rows[0];
      const last = out.rows[out.rows.length - 1];
      const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
      log('');
      log(`before (SFT) → after ${c.iterations} ${c.method} iterations: Pass@1 ${pct(first.pass1)} → ${pct(last.pass1)}, Pass@${c.eval.k} ${pct(first.passK)} → ${pct(last.passK)}, Pass@${c.eval.k}-${c.eval.s} ${pct(first.passKS)} → ${pct(last.passKS)}`);
      log(`T chosen by the search per iteration: ${out.rows.slice(1).map((r) => r.temperature ?? '—').join(', ')}; τ: ${out.rows.slice(1).map((r) => r.threshold ?? '—').join(', ')}`);
      log(`run directory: ${out.dir} (metrics.jsonl, iterations/, checkpoints/); ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      log(`report: ${path.resolve(out.dir, REPORT_FILE)} (open it in a browser)`);
    });
}
