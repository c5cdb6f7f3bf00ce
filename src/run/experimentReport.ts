// The write-up of an experiment (methods × seeds): from its run dirs' metrics.jsonl and per-query
// evaluations (iterations/<i>/eval.json), every number in one JSON object — per method the final and
// per-iteration monitors, mean over seeds with a two-level bootstrap CI over seeds and test queries;
// the chosen T and τ; paired differences of chosen method pairs with a plain "beyond / within the CI"
// — then the same as plain text (comparison.txt), as markdown tables to paste into docs/results.md
// (comparison.md), and one SVG per monitor across methods (mean over seeds, CI band), drawn by the
// renderer the caller hands in (the CLI passes report/plots': run/ never imports report/).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { meanOf } from '../metrics/aggregate.js';
import { MONITORS, type Monitor } from '../metrics/summary.js';
import { deriveSeed } from '../util/rng.js';
import { compareTable, methodTable, type RunRecords } from './compare.js';
import { differenceStatement, pairedDifferenceCI, seedQueryCI, type PairedDifference, type SeedValues } from './experimentStats.js';
import { parseMetricsJsonl, RecordsError } from './records.js';
import { RunDir, RUN_FILES } from './runDir.js';
import { formatTable, summaryRows } from './summary.js';

/** One run of an experiment with its per-query evaluation values by iteration. */
export interface ExperimentRun extends RunRecords {
  /** iteration → query id → monitor values. */
  evals: Map<number, Map<string, Record<Monitor, number | null>>>;
}

/** Reads a run dir: its records and every iterations/<i>/eval.json named by an eval record. */
export function readExperimentRun(dir: string, method: string): ExperimentRun {
  const d = RunDir.open(dir);
  const mf = d.file(RUN_FILES.metrics);
  const records = parseMetricsJsonl(readFileSync(mf, 'utf8'), mf);
  if (records.length === 0) throw new RecordsError(`${mf}: no records yet`);
  const evals = new Map<number, Map<string, Record<Monitor, number | null>>>();
  for (const r of records) {
    if (r.phase !== 'eval') continue;
    const f = path.join(d.iterationDir(r.iteration), 'eval.json');
    if (!existsSync(f)) throw new RecordsError(`${f}: missing (metrics.jsonl has an eval record for iteration ${r.iteration})`);
    evals.set(r.iteration, readEvalPerQuery(f));
  }
  return { name: path.basename(path.resolve(dir)), method, seed: records[0].seed, records, evals };
}

/** iterations/<i>/eval.json → query id → monitor values; a bad file or field throws RecordsError naming it. */
export function readEvalPerQuery(f: string): Map<string, Record<Monitor, number | null>> {
  let ev: { perQuery?: unknown };
  try {
    ev = JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    throw new RecordsError(`${f}: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(ev.perQuery)) throw new RecordsError(`${f}: expected {perQuery: [{queryId, pass@1, …}]}, found no perQuery array`);
  const m = new Map<string, Record<Monitor, number | null>>();
  ev.perQuery.forEach((q: Record<string, unknown>, i: number) => {
    if (typeof q?.queryId !== 'string') throw new RecordsError(`${f}: perQuery[${i}].queryId: expected a string, found ${JSON.stringify(q?.queryId)}`);
    const vals = {} as Record<Monitor, number | null>;
    for (const k of MONITORS) {
      const v = q[k];
      if (v !== null && v !== undefined && typeof v !== 'number') throw new RecordsError(`${f}: perQuery[${i}].${k}: expected a number or null, found ${JSON.stringify(v)}`);
      vals[k] = (v as number | null | undefined) ?? null;
    }
    m.set(q.queryId, vals);
  });
  return m;
}

export interface Ci {
  mean: number;
  lo: number;
  hi: number;
}

export interface IterationStats {
  iteration: number;
  /** Runs (seeds) evaluated at this iteration. */
  seeds: number;
  monitors: Record<Monitor, Ci | null>;
  /** Sampling temperature / selection threshold used (B-STaR: chosen), mean over seeds, and per seed. */
  temperature: { mean: number; perSeed: (number | null)[] } | null;
  threshold: { mean: number; perSeed: (number | null)[] } | null;
}

export interface MethodSummary {
  method: string;
  seeds: number[];
  /** At each run's last evaluated iteration. */
  final: Record<Monitor, Ci | null>;
  iterations: IterationStats[];
}

export interface PairedResult extends PairedDifference {
  a: string;
  b: string;
  monitor: Monitor;
  statement: string;
}

export interface ExperimentSummary {
  experiment: string;
  level: number;
  resamples: number;
  k: number | null;
  s: number | null;
  /** Each run's own means over test queries per evaluated iteration (as in its metrics.jsonl). */
  runs: { name: string; method: string; seed: number; finalIteration: number | null; means: ({ iteration: number } & Record<Monitor, number | null>)[] }[];
  methods: MethodSummary[];
  paired: PairedResult[];
  /**
   * The same pairs at every iteration a evaluated: a at iteration i − b at iteration i, or − b's final
   * evaluation when b is the SFT baseline or evaluated once (a constant reference).
   */
  pairedByIteration: (PairedResult & { iteration: number })[];
  /** The same pairs, each method at its best iteration (bestIteration): a at iterationA − b at iterationB. */
  pairedBest: (PairedResult & { iterationA: number; iterationB: number })[];
}

export interface SummaryOptions {
  level: number;
  resamples: number;
  /** Seed of every bootstrap stream (each CI derives its own from it). */
  seed: number;
  /** Method pairs [a, b] for paired differences a − b of the final monitors. */
  pairs: [string, string][];
  /** Monitors with per-iteration CIs (the rest: final only). */
  iterationMonitors?: readonly Monitor[];
}

export const PAIRED_MONITORS: readonly Monitor[] = ['pass@1', 'pass@k', 'pass@k-s', 'distinct-equations'];
export const ITERATION_MONITORS: readonly Monitor[] = ['pass@1', 'pass@k', 'pass@k-s', 'distinct-equations'];

/** The last evaluated iteration of a run, or null. */
function finalIteration(r: ExperimentRun): number | null {
  const its = [...r.evals.keys()];
  return its.length ? Math.max(...its) : null;
}

function values(r: ExperimentRun, iteration: number, m: Monitor): SeedValues | null {
  const ev = r.evals.get(iteration);
  if (!ev) return null;
  return { seed: r.seed, values: new Map([...ev].map(([q, v]) => [q, v[m]])) };
}

/**
 * The iteration a method is compared at "at its best": the highest mean Pass@1 over iterations ≥ 1 (the
 * paper's Table 1 reports each method's highest Pass@1, chosen on test as here), the earliest on a tie;
 * the SFT baseline, and a method evaluated once, at its last evaluation (its epochs were chosen on dev).
 */
export function bestIteration(m: MethodSummary): number | null {
  const its = m.iterations.filter((it) => it.monitors['pass@1'] !== null);
  if (its.length === 0) return null;
  const later = its.filter((it) => it.iteration >= 1);
  if (m.method === 'sft-baseline' || later.length === 0) return its[its.length - 1].iteration;
  return later.reduce((best, it) => (it.monitors['pass@1']!.mean > best.monitors['pass@1']!.mean ? it : best)).iteration;
}

const ci = (x: { mean: number; lo: number; hi: number } | null): Ci | null => (x ? { mean: x.mean, lo: x.lo, hi: x.hi } : null);

/**
 * Default pairs: bstar − online-rft when both ran; with a grid, bstar − every fixed (T, τ) point; with
 * the SFT baseline, every other method − sft-baseline.
 */
export function defaultPairs(methods: readonly string[]): [string, string][] {
  const out: [string, string][] = methods.includes('bstar') ? methods.filter((m) => m === 'online-rft' || m.startsWith('fixed-')).map((m) => ['bstar', m]) : [];
  if (methods.includes('sft-baseline')) for (const m of methods) if (m !== 'sft-baseline') out.push([m, 'sft-baseline']);
  return out;
}

/** Every number of the write-up (pure over the runs). */
export function summarizeExperiment(name: string, runs: readonly ExperimentRun[], o: SummaryOptions): ExperimentSummary {
  const methods = [...new Set(runs.map((r) => r.method))];
  const evalRec = runs.flatMap((r) => r.records).find((r) => r.phase === 'eval');
  // streams keyed by monitor and iteration, not by method: equal data (the shared iteration 0) gets equal CIs
  const opts = (...keys: (string | number)[]) => ({ level: o.level, resamples: o.resamples, seed: deriveSeed(o.seed, 'experiment-ci', ...keys) });
  const itMonitors = o.iterationMonitors ?? ITERATION_MONITORS;
  const methodSummaries = methods.map((method): MethodSummary => {
    const rs = runs.filter((r) => r.method === method);
    const final = {} as Record<Monitor, Ci | null>;
    for (const m of MONITORS) {
      const groups = rs.map((r) => (finalIteration(r) === null ? null : values(r, finalIteration(r)!, m))).filter((g): g is SeedValues => g !== null);
      final[m] = ci(seedQueryCI(groups, opts(m, 'final')));
    }
    const its = [...new Set(rs.flatMap((r) => [...r.evals.keys()]))].sort((a, b) => a - b);
    const iterations = its.map((i): IterationStats => {
      const present = rs.filter((r) => r.evals.has(i));
      const monitors = {} as Record<Monitor, Ci | null>;
      for (const m of MONITORS) monitors[m] = itMonitors.includes(m) ? ci(seedQueryCI(present.map((r) => values(r, i, m)!), opts(m, i))) : null;
      const cfg = (key: 'temperature' | 'threshold') => {
        const perSeed = present.map((r) => summaryRows(r.records).find((x) => x.iteration === i)?.[key] ?? null);
        const mean = meanOf(perSeed);
        return mean === null ? null : { mean, perSeed };
      };
      return { iteration: i, seeds: present.length, monitors, temperature: cfg('temperature'), threshold: cfg('threshold') };
    });
    return { method, seeds: rs.map((r) => r.seed), final, iterations };
  });
  const paired: PairedResult[] = [];
  for (const [a, b] of o.pairs) {
    for (const m of PAIRED_MONITORS) {
      const side = (method: string) =>
        runs
          .filter((r) => r.method === method && finalIteration(r) !== null)
          .map((r) => values(r, finalIteration(r)!, m)!);
      const d = pairedDifferenceCI(side(a), side(b), opts('paired', a, b, m));
      if (d) paired.push({ a, b, monitor: m, ...d, statement: differenceStatement(a, b, `final ${m}`, d) });
      else paired.push({ a, b, monitor: m, mean: NaN, lo: NaN, hi: NaN, level: o.level, seeds: [], pairs: 0, verdict: 'within', statement: differenceStatement(a, b, `final ${m}`, null) });
    }
  }
  const pairedByIteration: ExperimentSummary['pairedByIteration'] = [];
  for (const [a, b] of o.pairs) {
    const ra = runs.filter((r) => r.method === a);
    const rb = runs.filter((r) => r.method === b);
    const constant = rb.length > 0 && (b === 'sft-baseline' || rb.every((r) => r.evals.size === 1));
    const its = [...new Set(ra.flatMap((r) => [...r.evals.keys()]))].sort((x, y) => x - y);
    for (const i of its) {
      for (const m of PAIRED_MONITORS) {
        const sa = ra.filter((r) => r.evals.has(i)).map((r) => values(r, i, m)!);
        const sb = rb.flatMap((r) => {
          const at = constant ? finalIteration(r) : i;
          return at !== null && r.evals.has(at) ? [values(r, at, m)!] : [];
        });
        const d = pairedDifferenceCI(sa, sb, opts('paired', a, b, m, i));
        const what = `iteration ${i} ${m}`;
        if (d) pairedByIteration.push({ a, b, monitor: m, iteration: i, ...d, statement: differenceStatement(a, b, what, d) });
        else pairedByIteration.push({ a, b, monitor: m, iteration: i, mean: NaN, lo: NaN, hi: NaN, level: o.level, seeds: [], pairs: 0, verdict: 'within', statement: differenceStatement(a, b, what, null) });
      }
    }
  }
  const pairedBest: ExperimentSummary['pairedBest'] = [];
  for (const [a, b] of o.pairs) {
    const ma = methodSummaries.find((m) => m.method === a);
    const mb = methodSummaries.find((m) => m.method === b);
    const ia = ma ? bestIteration(ma) : null;
    const ib = mb ? bestIteration(mb) : null;
    if (ia === null || ib === null) continue;
    const side = (method: string, i: number, m: Monitor) => runs.filter((r) => r.method === method && r.evals.has(i)).map((r) => values(r, i, m)!);
    for (const m of PAIRED_MONITORS) {
      const d = pairedDifferenceCI(side(a, ia, m), side(b, ib, m), opts('paired-best', a, b, m));
      const what = `best iteration (${a} ${ia}, ${b} ${ib}) ${m}`;
      if (d) pairedBest.push({ a, b, monitor: m, iterationA: ia, iterationB: ib, ...d, statement: differenceStatement(a, b, what, d) });
    }
  }
  return {
    experiment: name,
    level: o.level,
    resamples: o.resamples,
    k: (evalRec?.metrics['eval/k'] as number | undefined) ?? null,
    s: (evalRec?.metrics['eval/s'] as number | undefined) ?? null,
    runs: runs.map((r) => ({
      name: r.name,
      method: r.method,
      seed: r.seed,
      finalIteration: finalIteration(r),
      means: r.records.filter((x) => x.phase === 'eval').map((x) => ({ iteration: x.iteration, ...(Object.fromEntries(MONITORS.map((m) => [m, x.metrics[`eval/${m}`] ?? null])) as Record<Monitor, number | null>) })),
    })),
    methods: methodSummaries,
    paired,
    pairedByIteration,
    pairedBest,
  };
}

// ---------------------------------------------------------------------------------------------
// formatting

const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
const withCi = (c: Ci | null) => (c ? `${f(c.mean)} [${f(c.lo)}, ${f(c.hi)}]` : '—');
const pct = (level: number) => `${+(level * 100).toFixed(2)}%`;

function labels(s: ExperimentSummary): Record<Monitor, string> {
  const k = s.k ?? 'K';
  const sv = s.s ?? 'S';
  return { 'pass@1': 'Pass@1', 'pass@k': `Pass@${k}`, 'pass@k-s': `Pass@${k}-${sv}`, 'best-of-k': `Best-of-${k}`, 'reward@k-s': `Reward@${k}-${sv}`, 'distinct-equations': 'distinct eqs' };
}

/** Final monitors per method: header and rows. */
export function finalTable(s: ExperimentSummary): [string[], string[][]] {
  const L = labels(s);
  return [['method', 'seeds', ...MONITORS.map((m) => L[m])], s.methods.map((m) => [m.method, String(m.seeds.length), ...MONITORS.map((k) => withCi(m.final[k]))])];
}

/** Method × iteration: Pass@1, Pass@K, Pass@K-S, distinct equations with CIs, and T, τ (mean over seeds). */
export function iterationTable(s: ExperimentSummary): [string[], string[][]] {
  const L = labels(s);
  const rows = s.methods.flatMap((m) =>
    m.iterations.map((it) => [m.method, String(it.iteration), String(it.seeds), ...ITERATION_MONITORS.map((k) => withCi(it.monitors[k])), f(it.temperature?.mean, 2), f(it.threshold?.mean, 2)]),
  );
  return [['method', 'iter', 'seeds', ...ITERATION_MONITORS.map((k) => L[k]), 'T', 'τ'], rows];
}

function markdownTable(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map((_, j) => (j < 1 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export const ciNote = (s: ExperimentSummary) => `mean over seeds of the mean over test queries [${pct(s.level)} bootstrap CI over seeds and queries: seeds resampled, then queries within each seed; ${s.resamples} resamples]`;

/** comparison.txt: the final table (seeds × queries CI), paired differences, per-iteration table, the older per-seed tables. */
export function formatExperimentText(s: ExperimentSummary, runs: readonly RunRecords[]): string {
  const [fh, fr] = finalTable(s);
  const [ih, ir] = iterationTable(s);
  return [
    `# ${s.experiment}`,
    '',
    `Final monitors, ${ciNote(s)}:`,
    '',
    formatTable(fh, fr),
    '',
    ...(s.paired.length ? ['Paired differences (final iteration; pairs by seed and test query):', '', ...s.paired.map((p) => `  ${p.statement}`), ''] : []),
    ...(s.pairedBest.length ? ['Paired differences at each method\'s best iteration (highest mean Pass@1 over iterations ≥ 1; the SFT baseline at its final):', '', ...s.pairedBest.map((p) => `  ${p.statement}`), ''] : []),
    'Per iteration (iteration 0 = the SFT model; T and τ: mean over seeds of the values used, B-STaR: chosen):',
    '',
    formatTable(ih, ir),
    '',
    `Final monitors, mean over seeds [${pct(s.level)} bootstrap CI over seeds only, from the runs' final means]:`,
    '',
    methodTable(runs, ['pass1', 'passK', 'passKS', 'bestOfK', 'distinct'], s.level),
    '',
    'Runs:',
    '',
    compareTable(runs),
    '',
  ].join('\n');
}

/** Per pair: iteration × paired monitors, "+0.012 [−0.010, +0.034]" with beyond-CI cells in bold. */
function pairedIterationTables(s: ExperimentSummary): string[] {
  const L = labels(s);
  const sign = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}` : '—');
  const pairs = [...new Set(s.pairedByIteration.map((p) => `${p.a}\u0000${p.b}`))].map((k) => k.split('\u0000'));
  return pairs.flatMap(([a, b]) => {
    const rows = s.pairedByIteration.filter((p) => p.a === a && p.b === b);
    const its = [...new Set(rows.map((p) => p.iteration))];
    const cell = (i: number, m: Monitor) => {
      const p = rows.find((x) => x.iteration === i && x.monitor === m);
      if (!p || !Number.isFinite(p.mean)) return '—';
      const t = `${sign(p.mean)} [${sign(p.lo)}, ${sign(p.hi)}]`;
      return p.verdict === 'beyond' ? `**${t}**` : t;
    };
    return [`${a} − ${b} by iteration (paired by seed and query; bold: the ${pct(s.level)} CI excludes 0):`, '', markdownTable(['iter', ...PAIRED_MONITORS.map((m) => L[m])], its.map((i) => [String(i), ...PAIRED_MONITORS.map((m) => cell(i, m))])), ''];
  });
}

/** comparison.md: the same tables as markdown, to paste into docs/results.md. */
export function formatExperimentMarkdown(s: ExperimentSummary): string {
  const [fh, fr] = finalTable(s);
  const [ih, ir] = iterationTable(s);
  const tau = s.methods.filter((m) => m.iterations.some((it) => it.temperature && new Set(it.temperature.perSeed).size > 1));
  return [
    `## ${s.experiment}`,
    '',
    `Final monitors: ${ciNote(s)}.`,
    '',
    markdownTable(fh, fr),
    '',
    ...(s.paired.length ? ['Paired differences of the final monitors (pairs by seed and test query):', '', ...s.paired.map((p) => `- ${p.statement}`), ''] : []),
    ...(s.pairedBest.length ? ['Paired differences at each method\'s best iteration (its highest mean Pass@1 over iterations ≥ 1, as the paper\'s Table 1; the SFT baseline at its final):', '', ...s.pairedBest.map((p) => `- ${p.statement}`), ''] : []),
    ...pairedIterationTables(s),
    'Per iteration (iteration 0 = the SFT model; T and τ: mean over seeds of the values used, B-STaR: chosen):',
    '',
    markdownTable(ih, ir),
    '',
    ...(tau.length ? ['Chosen T / τ per seed:', '', ...tau.flatMap((m) => m.iterations.filter((it) => it.temperature).map((it) => `- ${m.method}, iteration ${it.iteration}: T ${it.temperature!.perSeed.map((x) => f(x, 2)).join(', ')}; τ ${(it.threshold?.perSeed ?? []).map((x) => f(x, 2)).join(', ')}`)), ''] : []),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// plots

/** One point of a line plot: x = iteration, one line per series, an optional CI band. */
export interface SeriesPoint {
  x: number;
  y: number | null;
  series: string;
  /** Confidence band (drawn when present). */
  lo?: number | null;
  hi?: number | null;
}

/** Draws one line plot as SVG text (report/plots' renderSvg(lineSpec(…))). */
export type LinePlotRenderer = (title: string, yTitle: string, rows: readonly SeriesPoint[], opts: { yDomain?: [number, number] }) => Promise<string>;

const PLOTS: { monitor: Monitor; file: string; prob: boolean }[] = [
  { monitor: 'pass@1', file: 'pass1', prob: true },
  { monitor: 'pass@k', file: 'passk', prob: true },
  { monitor: 'pass@k-s', file: 'passks', prob: true },
  { monitor: 'distinct-equations', file: 'distinct', prob: false },
];

/** The series of one monitor: per method and iteration, the mean over seeds with its CI band. */
export function monitorSeries(s: ExperimentSummary, m: Monitor): SeriesPoint[] {
  return s.methods.flatMap((ms) => ms.iterations.flatMap((it) => {
    const c = it.monitors[m];
    return c ? [{ x: it.iteration, y: c.mean, lo: c.lo, hi: c.hi, series: ms.method }] : [];
  }));
}

/** Writes <dir>/plot-<monitor>.svg for each monitor with data, plus plot-temperature/threshold.svg; returns the files. */
export async function writeExperimentPlots(dir: string, s: ExperimentSummary, render: LinePlotRenderer): Promise<string[]> {
  const L = labels(s);
  const out: string[] = [];
  const write = async (file: string, title: string, y: string, rows: SeriesPoint[], domain?: [number, number]) => {
    if (!rows.some((r) => r.y !== null)) return;
    let svg = await render(title, y, rows, { yDomain: domain });
    if (!/\bxmlns=/.test(svg.slice(0, 300))) svg = svg.replace(/^<svg /, '<svg xmlns="http://www.w3.org/2000/svg" ');
    const p = path.join(dir, `plot-${file}.svg`);
    writeFileSync(p, svg + '\n');
    out.push(p);
  };
  for (const p of PLOTS) {
    await write(p.file, `${L[p.monitor]} over iterations: mean over seeds, ${pct(s.level)} CI over seeds × queries`, L[p.monitor], monitorSeries(s, p.monitor), p.prob ? [0, 1] : undefined);
  }
  for (const key of ['temperature', 'threshold'] as const) {
    const rows = s.methods.flatMap((m) => m.iterations.flatMap((it) => (it[key] ? [{ x: it.iteration, y: it[key]!.mean, series: m.method }] : [])));
    await write(key, key === 'temperature' ? 'Sampling temperature T (B-STaR: chosen), mean over seeds' : 'Reward threshold τ (B-STaR: chosen), mean over seeds', key === 'temperature' ? 'T' : 'τ', rows);
  }
  return out;
}
