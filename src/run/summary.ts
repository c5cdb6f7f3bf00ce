// The final table of a run: one row per iteration from its metrics records.
import type { MetricsRecord } from './records.js';

export interface SummaryRow {
  iteration: number;
  temperature: number | null;
  threshold: number | null;
  selected: number | null;
  queryEffect: number | null;
  zeroSignal: number | null;
  trainLoss: number | null;
  pass1: number | null;
  passK: number | null;
  passKS: number | null;
  bestOfK: number | null;
  rewardKS: number | null;
  distinct: number | null;
  seconds: number;
}

export function summaryRows(records: readonly MetricsRecord[]): SummaryRow[] {
  const its = [...new Set(records.map((r) => r.iteration))].sort((a, b) => a - b);
  return its.map((i) => {
    const rs = records.filter((r) => r.iteration === i);
    const get = (k: string) => {
      for (const r of rs) if (k in r.metrics) return r.metrics[k];
      return null;
    };
    return {
      iteration: i,
      temperature: get('sample/temperature'),
      threshold: get('select/threshold'),
      selected: get('select/selected'),
      queryEffect: get('select/query-effect'),
      zeroSignal: get('select/zero-signal'),
      trainLoss: get('train/loss-mean') ?? get('sft/loss-last'),
      pass1: get('eval/pass@1'),
      passK: get('eval/pass@k'),
      passKS: get('eval/pass@k-s'),
      bestOfK: get('eval/best-of-k'),
      rewardKS: get('eval/reward@k-s'),
      distinct: get('eval/distinct-equations'),
      seconds: rs.reduce((a, r) => a + r.timing.ms, 0) / 1000,
    };
  });
}

const f = (x: number | null, d = 3) => (x === null ? '—' : x.toFixed(d));

/** A plain-text table (fixed-width columns). */
export function formatTable(header: string[], rows: string[][]): string {
  const w = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => c.padStart(w[j])).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

export function formatSummary(rows: readonly SummaryRow[], k: number, s: number): string {
  return formatTable(
    ['iter', 'T', 'τ', 'selected', 'query-eff', 'zero-sig', 'loss', 'pass@1', `pass@${k}`, `pass@${k}-${s}`, `best-of-${k}`, `reward@${k}-${s}`, 'distinct-eq', 'sec'],
    rows.map((r) => [String(r.iteration), f(r.temperature, 2), f(r.threshold, 2), f(r.selected, 0), f(r.queryEffect), f(r.zeroSignal, 0), f(r.trainLoss), f(r.pass1), f(r.passK), f(r.passKS), f(r.bestOfK), f(r.rewardKS), f(r.distinct), r.seconds.toFixed(0)]),
  );
}
