// Comparison of finished runs: final monitors per run, and a per-iteration curve of each monitor.
// Pure over metrics records, so `bstar compare` and `bstar experiment` share it.
import { bootstrapCI } from '../metrics/aggregate.js';
import { deriveSeed } from '../util/rng.js';
import type { MetricsRecord } from './records.js';
import { summaryRows, formatTable, type SummaryRow } from './summary.js';

export interface RunRecords {
  name: string;
  method: string;
  seed: number;
  records: MetricsRecord[];
}

const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '—' : x.toFixed(d));

/** Final row (last evaluated iteration) of each run. */
export function finalRow(rows: readonly SummaryRow[]): SummaryRow {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i].pass1 !== null || rows[i].passK !== null) return rows[i];
  return rows[rows.length - 1];
}

export function compareTable(runs: readonly RunRecords[]): string {
  const rows = runs.map((r) => {
    const s = summaryRows(r.records);
    const first = s[0];
    const last = finalRow(s);
    return [r.name, r.method, String(r.seed), String(last.iteration), f(first?.pass1), f(last.pass1), f(last.passK), f(last.passKS), f(last.bestOfK), f(last.rewardKS), f(last.distinct)];
  });
  return formatTable(['run', 'method', 'seed', 'iter', 'pass@1 (start)', 'pass@1', 'pass@k', 'pass@k-s', 'best-of-k', 'reward@k-s', 'distinct-eq'], rows);
}

/** One monitor across iterations, one row per run. */
export function curveTable(runs: readonly RunRecords[], key: keyof SummaryRow, digits = 3): string {
  const all = runs.map((r) => summaryRows(r.records));
  const its = [...new Set(all.flatMap((rows) => rows.map((x) => x.iteration)))].sort((a, b) => a - b);
  return formatTable(['run', ...its.map((i) => `it ${i}`)], runs.map((r, j) => [r.name, ...its.map((i) => f(all[j].find((x) => x.iteration === i)?.[key] as number | null | undefined, digits))]));
}

export interface MethodStat {
  method: string;
  runs: number;
  mean: number | null;
  lo: number | null;
  hi: number | null;
}

/** Per method: the mean final value of a monitor over its runs (seeds) with a bootstrap CI over runs. */
export function methodStats(runs: readonly RunRecords[], key: keyof SummaryRow, level = 0.9, seed = 0): MethodStat[] {
  const methods = [...new Set(runs.map((r) => r.method))];
  return methods.map((m) => {
    const vals = runs.filter((r) => r.method === m).map((r) => finalRow(summaryRows(r.records))[key] as number | null);
    const ci = bootstrapCI(vals, { seed: deriveSeed(seed, 'compare', m, String(key)), level, resamples: 2000 });
    return { method: m, runs: vals.length, mean: ci?.mean ?? null, lo: ci?.lo ?? null, hi: ci?.hi ?? null };
  });
}

export function methodTable(runs: readonly RunRecords[], keys: (keyof SummaryRow)[], level = 0.9): string {
  const stats = keys.map((k) => methodStats(runs, k, level));
  const methods = stats[0].map((s) => s.method);
  return formatTable(
    ['method', 'runs', ...keys.map(String)],
    methods.map((m, i) => [m, String(stats[0][i].runs), ...stats.map((st) => (st[i].mean === null ? '—' : `${f(st[i].mean)} [${f(st[i].lo)}, ${f(st[i].hi)}]`))]),
  );
}
