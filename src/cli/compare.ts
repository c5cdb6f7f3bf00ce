// `bstar compare runs/a runs/b …`: final monitors of each run and per-iteration curves.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { compareTable, curveTable, type RunRecords } from '../run/compare.js';
import { parseMetricsJsonl } from '../run/records.js';
import { RunDir, RUN_FILES } from '../run/runDir.js';
import { SEEDING_SUFFIX } from '../run/shareSft.js';

export function readRun(dir: string): RunRecords {
  const d = RunDir.open(dir);
  const records = parseMetricsJsonl(readFileSync(d.file(RUN_FILES.metrics), 'utf8'), d.file(RUN_FILES.metrics));
  if (records.length === 0) throw new Error(`${d.file(RUN_FILES.metrics)}: no records yet`);
  return { name: path.basename(path.resolve(dir)), method: records[0].method, seed: records[0].seed, records };
}

/**
 * The run dirs named on the command line, an experiment dir (no config.yaml of its own) standing for
 * the run dirs in it, in name order.
 */
export function expandRunDirs(dirs: readonly string[]): string[] {
  return dirs.flatMap((d) => {
    if (existsSync(path.join(d, RUN_FILES.config)) || !existsSync(d)) return [d];
    const inner = readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.includes(SEEDING_SUFFIX) && existsSync(path.join(d, e.name, RUN_FILES.config)))
      .map((e) => path.join(d, e.name))
      .sort();
    return inner.length ? inner : [d];
  });
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('compare runs: final monitors and per-iteration curves (example: bstar compare runs/a runs/b)')
    .argument('<runs...>', 'run directories (an experiment directory stands for all the runs in it)')
    .action((dirs: string[]) => {
      const runs = expandRunDirs(dirs).map(readRun);
      console.log(compareTable(runs));
      for (const [title, key] of [['Pass@1 (greedy)', 'pass1'], ['Pass@K', 'passK'], ['Pass@K-S', 'passKS'], ['distinct equations', 'distinct'], ['chosen T', 'temperature'], ['τ', 'threshold'], ['query effect (selection)', 'queryEffect'], ['selected', 'selected']] as const) {
        console.log(`\n${title}:`);
        console.log(curveTable(runs, key, key === 'selected' ? 0 : key === 'temperature' || key === 'threshold' ? 2 : 3));
      }
    });
}
