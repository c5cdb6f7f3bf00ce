// How much a run moved its monitors: the last evaluated iteration against the first (iteration 0,
// the starting model), as a paired difference over the test queries both evaluated, with a bootstrap
// CI. Printed under the final table so that "Pass@1 rose" is a checked statement, not a reading of
// two numbers whose CIs overlap. Pure over the run dir's eval.json files.
import type { Monitor } from '../metrics/summary.js';
import { readExperimentRun } from './experimentReport.js';
import { pairedDifferenceCI, type PairedDifference } from './experimentStats.js';

export interface RunChange {
  monitor: Monitor;
  from: number;
  to: number;
  diff: PairedDifference;
}

const LABEL: Partial<Record<Monitor, string>> = { 'pass@1': 'greedy Pass@1', 'pass@k': 'Pass@K', 'pass@k-s': 'Pass@K-S' };

/** Paired last − first differences of `monitors`; empty when fewer than two iterations were evaluated. */
export function runChanges(dir: string, monitors: readonly Monitor[], o: { level: number; resamples: number; seed: number }): RunChange[] {
  const run = readExperimentRun(dir, 'run');
  const its = [...run.evals.keys()].sort((a, b) => a - b);
  if (its.length < 2) return [];
  const from = its[0];
  const to = its[its.length - 1];
  const side = (i: number, m: Monitor) => [{ seed: run.seed, values: new Map([...run.evals.get(i)!].map(([id, v]) => [id, v[m]])) }];
  const out: RunChange[] = [];
  for (const m of monitors) {
    const diff = pairedDifferenceCI(side(to, m), side(from, m), o);
    if (diff) out.push({ monitor: m, from, to, diff });
  }
  return out;
}

/** One line per change, e.g. "greedy Pass@1, iteration 3 − 0: +0.062 [+0.031, +0.093] (90 % CI, 500 paired queries): up beyond the CI". */
export function formatRunChange(c: RunChange, k: number, s: number): string {
  const label = (LABEL[c.monitor] ?? c.monitor).replace('@K-S', `@${k}-${s}`).replace('@K', `@${k}`);
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  const d = c.diff;
  const pct = `${+(d.level * 100).toFixed(2)} %`;
  const verdict = d.verdict === 'beyond' ? `${d.mean > 0 ? 'up' : 'down'} beyond the CI` : 'within the CI (no change shown)';
  return `${label}, iteration ${c.to} − ${c.from}: ${sign(d.mean)} [${sign(d.lo)}, ${sign(d.hi)}] (${pct} CI, ${d.pairs} paired queries): ${verdict}`;
}
