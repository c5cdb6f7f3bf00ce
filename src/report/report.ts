// The run report: one self-contained HTML page (inline SVG plots, inline CSS and a little inline JS,
// no network) per run directory, or a comparison page for several runs (methods × seeds).
//   single run   monitors over iterations (paper Fig. 1/3), exploration and exploitation (Fig. 4),
//                training curves per optimizer step (loss, LR, grad norm; iteration boundaries marked),
//                chosen T and τ (Table 2), the query-effect heatmap of each iteration's search,
//                selection counts, time and tokens/s per phase, the final table, a sample browser
//   several runs the same monitors with one line per method (mean over seeds, two-level bootstrap CI
//                band over seeds and test queries, as `bstar experiment` reports) or per run, the
//                final table of `bstar compare`, per-method CIs and paired differences
// While a run is going (no summary.json yet, and its process alive: status.ts) the page reloads
// itself every REFRESH_SECONDS; the run rewrites it after each phase, and the figures include the
// iteration in progress (progress.json). A run that stopped without finishing (paused, failed, or its
// process gone) says so instead.
import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bootstrapCI } from '../metrics/aggregate.js';
import { MONITORS as MONITOR_NAMES, type Monitor } from '../metrics/summary.js';
import { finalRow } from '../run/compare.js';
import { ciNote, defaultPairs, finalTable, iterationTable, readEvalPerQuery, summarizeExperiment, type ExperimentRun, type ExperimentSummary } from '../run/experimentReport.js';
import type { MetricsRecord, Phase, StepRecord } from '../run/records.js';
import { summaryRows, type SummaryRow } from '../run/summary.js';
import { deriveSeed } from '../util/rng.js';
import { readRunData, ReportError, BROWSER_QUERIES, BROWSER_SAMPLES, BROWSER_TEXT, type RunData } from './data.js';
import { barSpec, escapeHtml as esc, heatmapSpec, lineSpec, renderSvg, stepSpec, type SeriesPoint } from './plots.js';
import { PAGE_CSS, PAGE_SCRIPT } from './page.js';

export const REPORT_FILE = 'report.html';
export const REFRESH_SECONDS = 10;
const CI_LEVEL = 0.9;
/** At most this many points per step curve (longer series are thinned to every n-th step, the last kept). */
export const MAX_STEP_POINTS = 2000;
/** The comparison page's bootstrap resamples (at most; fewer when the runs' eval.bootstrapResamples is lower). */
const COMPARE_RESAMPLES = 1000;

/** The value of a metric key at each iteration (the first record of the iteration that has it). */
export function metricByIteration(records: readonly MetricsRecord[], key: string): Map<number, { value: number | null; ci: [number, number] | null }> {
  const out = new Map<number, { value: number | null; ci: [number, number] | null }>();
  for (const r of records) {
    if (!(key in r.metrics) || out.has(r.iteration)) continue;
    out.set(r.iteration, { value: r.metrics[key], ci: r.ci?.[key] ?? null });
  }
  return out;
}

interface Plot {
  id: string;
  svg: string | null;
  /** Shown instead of the plot when there is nothing to draw. */
  empty?: string;
}

async function plot(id: string, label: string, spec: Parameters<typeof renderSvg>[0], hasData: boolean, empty: string): Promise<Plot> {
  if (!hasData) return { id, svg: null, empty };
  return { id, svg: await renderSvg(spec, label) };
}

function figure(p: Plot): string {
  if (p.svg === null) return `<figure class="plot empty" data-empty="${esc(p.id)}"><div class="nodata">${esc(p.empty ?? 'no data yet')}</div></figure>`;
  return `<figure class="plot" data-plot="${esc(p.id)}">${p.svg}</figure>`;
}

const fmt = (x: number | null | undefined, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

function table(header: string[], rows: string[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** K and S of the run's evaluation (from its records), for labels. */
function evalKS(records: readonly MetricsRecord[]): { k: string; s: string } {
  const e = records.find((r) => r.phase === 'eval');
  const k = e?.metrics['eval/k'];
  const s = e?.metrics['eval/s'];
  return { k: typeof k === 'number' ? String(k) : 'K', s: typeof s === 'number' ? String(s) : 'S' };
}

const MONITORS = [
  { key: 'eval/pass@1', id: 'pass1', title: (k: string, s: string) => 'Pass@1 (greedy)', y: 'Pass@1' },
  { key: 'eval/pass@k', id: 'passk', title: (k: string) => `Pass@${k}`, y: 'Pass@K' },
  { key: 'eval/pass@k-s', id: 'passks', title: (k: string, s: string) => `Pass@${k}-${s}`, y: 'Pass@K-S' },
  { key: 'eval/distinct-equations', id: 'distinct', title: () => 'Distinct equations (exploration)', y: 'distinct eqs / query' },
  { key: 'eval/best-of-k', id: 'bestofk', title: (k: string) => `Best-of-${k} (exploitation)`, y: 'Best-of-K' },
  { key: 'eval/reward@k-s', id: 'rewardks', title: (k: string, s: string) => `Reward@${k}-${s} (exploitation)`, y: 'Reward@K-S' },
] as const;

const PROB_KEYS = new Set(['eval/pass@1', 'eval/pass@k', 'eval/pass@k-s', 'eval/best-of-k']);

/** One run's series of a metric with its per-query CI (as logged). */
function runSeries(run: RunData, key: string, series = run.name): SeriesPoint[] {
  return [...metricByIteration(run.records, key).entries()].map(([x, v]) => ({ x, y: v.value, series, lo: v.ci?.[0] ?? null, hi: v.ci?.[1] ?? null }));
}

/** Per method and iteration: mean over the method's runs (seeds) with a bootstrap CI over seeds. */
export function methodSeries(runs: readonly RunData[], key: string): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  const methods = [...new Set(runs.map((r) => r.method))];
  for (const m of methods) {
    const rs = runs.filter((r) => r.method === m);
    const maps = rs.map((r) => metricByIteration(r.records, key));
    const its = [...new Set(maps.flatMap((mp) => [...mp.keys()]))].sort((a, b) => a - b);
    for (const i of its) {
      const vals = maps.map((mp) => mp.get(i)?.value ?? null);
      const ci = bootstrapCI(vals, { seed: deriveSeed(0, 'report', m, key, String(i)), level: CI_LEVEL, resamples: 1000 });
      if (!ci) continue;
      const p: SeriesPoint = { x: i, y: ci.mean, series: `${m} (${ci.count} seed${ci.count === 1 ? '' : 's'})` };
      if (ci.count > 1) Object.assign(p, { lo: ci.lo, hi: ci.hi });
      out.push(p);
    }
  }
  return out;
}

/** Per method and iteration: the two-level (seeds × test queries) mean and CI of `bstar experiment`. */
export function twoLevelSeries(summary: ExperimentSummary, monitor: Monitor): SeriesPoint[] {
  return summary.methods.flatMap((m) =>
    m.iterations.flatMap((it): SeriesPoint[] => {
      const c = it.monitors[monitor];
      return c ? [{ x: it.iteration, y: c.mean, lo: c.lo, hi: c.hi, series: `${m.method} (${it.seeds} seed${it.seeds === 1 ? '' : 's'})` }] : [];
    }),
  );
}

async function monitorPlots(runs: readonly RunData[], compare: boolean, summary: ExperimentSummary | null = null): Promise<string> {
  const { k, s } = evalKS(runs[0].records);
  const bySeeds = compare && new Set(runs.map((r) => r.method)).size < runs.length;
  const plots: string[] = [];
  for (const m of MONITORS) {
    const monitor = m.key.slice('eval/'.length) as Monitor;
    const seeds = summary ? twoLevelSeries(summary, monitor) : methodSeries(runs, m.key);
    const rows = compare ? (bySeeds ? seeds : runs.flatMap((r) => runSeries(r, m.key))) : runSeries(runs[0], m.key, 'this run');
    const domain: [number, number] | undefined = PROB_KEYS.has(m.key) ? [0, 1] : undefined;
    const has = rows.some((r) => r.y !== null);
    const evaluated = runs.some((r) => r.records.some((x) => x.phase === 'eval'));
    const why = evaluated ? 'undefined at every evaluation so far (e.g. distinct equations need a correct sample)' : 'no evaluation yet';
    plots.push(figure(await plot(m.id, m.title(k, s), lineSpec(m.title(k, s), m.y, rows, { yDomain: domain }), has, `${m.title(k, s)}: ${why}`)));
  }
  const band = compare ? (bySeeds ? (summary ? `Bands: ${CI_LEVEL * 100}% two-level bootstrap CI over seeds and test queries (seeds resampled, then queries within each seed; ${summary.resamples} resamples), as \`bstar experiment\` reports.` : `Bands: ${CI_LEVEL * 100}% bootstrap CI over seeds.`) : 'One line per run.') : `Bands: ${(runs[0].records.find((r) => r.ciLevel)?.ciLevel ?? CI_LEVEL) * 100}% bootstrap CI over test queries.`;
  return `<section id="monitors"><h2>Monitors over iterations</h2><p class="hint">Paper Fig. 1/3 (Pass@1, Pass@K, Pass@K-S), exploration (distinct equations) and exploitation (Best-of-K, Reward@K-S, Fig. 4), on the test queries. Iteration 0 is the SFT model. ${band}</p><div class="grid">${plots.join('')}</div></section>`;
}

const STEP_CURVES = [
  { key: 'step/loss', id: 'step-loss', title: 'Training loss per step', y: 'loss', log: false },
  { key: 'step/lr', id: 'step-lr', title: 'Learning rate per step', y: 'learning rate', log: false },
  { key: 'step/grad-norm', id: 'step-grad-norm', title: 'Gradient norm per step', y: 'grad norm', log: false },
] as const;

/** Every n-th of `xs` (n = ⌈len / max⌉) and the last: a series of at most about `max` points. */
export function thin<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const n = Math.ceil(xs.length / max);
  const out = xs.filter((_, i) => i % n === 0);
  if ((xs.length - 1) % n !== 0) out.push(xs[xs.length - 1]);
  return out;
}

/** Where each iteration's steps begin (iterations after the first with step records). */
export function iterationBoundaries(steps: readonly StepRecord[]): { x: number; label: string }[] {
  const first = new Map<number, number>();
  for (const r of steps) first.set(r.iteration, Math.min(first.get(r.iteration) ?? Infinity, r.globalStep));
  const its = [...first.keys()].sort((a, b) => a - b);
  return its.slice(1).map((i) => ({ x: first.get(i)! - 0.5, label: `iter ${i}` }));
}

/** The per-step training curves (loss, LR, grad norm) over global optimizer steps, iteration boundaries marked. */
async function stepCurves(run: RunData): Promise<string> {
  const head = `<section id="steps"><h2>Training curves per optimizer step</h2>`;
  if (run.steps.length === 0) {
    return `${head}<p class="nodata">No per-step records in metrics.jsonl (records of kind "step"): runs written before them, or a training backend that reports none. The per-phase loss is in the summary table.</p></section>`;
  }
  const phases = [...new Set(run.steps.map((r) => r.phase))];
  const perPhase = phases.map((ph) => run.steps.filter((r) => r.phase === ph));
  const shown = perPhase.flatMap((xs) => thin(xs, MAX_STEP_POINTS));
  const thinned = perPhase.some((xs) => xs.length > MAX_STEP_POINTS);
  const bounds = iterationBoundaries(run.steps);
  const figs: string[] = [];
  for (const c of STEP_CURVES) {
    const rows = shown.map((r) => ({ x: r.globalStep, y: r.metrics[c.key] ?? null, series: r.phase }));
    figs.push(figure(await plot(c.id, c.title, stepSpec(c.title, c.y, rows, bounds, { log: c.log }), rows.some((r) => r.y !== null && Number.isFinite(r.y)), `${c.title}: no values recorded`)));
  }
  const last = run.steps[run.steps.length - 1];
  const hint = `One point per optimizer step (x: the run's global step; one line per phase: ${phases.map(esc).join(', ')}); dashed rules mark where each iteration's training begins. ${run.steps.length} step records, the last global step ${last.globalStep} (iteration ${last.iteration}).${thinned ? ` Series longer than ${MAX_STEP_POINTS} steps are drawn at every n-th step.` : ''}`;
  return `${head}<p class="hint">${hint}</p><div class="grid">${figs.join('')}</div></section>`;
}

async function configPlots(runs: readonly RunData[], compare: boolean): Promise<string> {
  const rows: SeriesPoint[] = [];
  for (const r of runs) {
    const lbl = compare ? `${r.name} ` : '';
    for (const [x, v] of metricByIteration(r.records, 'sample/temperature')) rows.push({ x, y: v.value, series: `${lbl}T` });
    for (const [x, v] of metricByIteration(r.records, 'select/threshold')) rows.push({ x, y: v.value, series: `${lbl}τ` });
  }
  const p = await plot('config', 'chosen T and τ', lineSpec('Sampling temperature T and reward threshold τ', 'value', rows), rows.some((r) => r.y !== null), 'no self-improvement iteration yet');
  const tbl = runs.map((r) => {
    const its = summaryRows(r.records).filter((x) => x.iteration > 0);
    const name = compare ? `<h3>${esc(r.name)}</h3>` : '';
    return `${name}${table(['iteration', ...its.map((x) => String(x.iteration))], [['T', ...its.map((x) => fmt(x.temperature, 2))], ['τ', ...its.map((x) => fmt(x.threshold, 2))], ['query effect', ...its.map((x) => fmt(x.queryEffect))]], 'table2')}`;
  });
  return `<section id="configuration"><h2>Chosen configuration per iteration (Table 2)</h2><p class="hint">T used for the iteration's sampling and τ used for its selection (B-STaR chooses both by the search below; the other methods keep them fixed).</p><div class="grid">${figure(p)}<div class="tables">${tbl.join('')}</div></div></section>`;
}

async function heatmaps(run: RunData): Promise<string> {
  const out: string[] = [];
  for (const r of run.records) {
    if (r.phase !== 'search' || !r.searchTable?.length) continue;
    const T = r.metrics['search/temperature'];
    const tau = r.metrics['search/threshold'];
    const cells = r.searchTable.map((c) => ({ temperature: c.temperature, threshold: c.threshold, value: c.meanQueryEffect, chosen: c.temperature === T && c.threshold === tau }));
    const title = `Iteration ${r.iteration}: chose T=${fmt(T as number, 2)}, τ=${fmt(tau as number, 2)}`;
    out.push(figure(await plot(`heatmap-${r.iteration}`, `query effect over (T, τ), iteration ${r.iteration}`, heatmapSpec(title, cells), cells.length > 0, '')));
  }
  const body = out.length ? `<div class="grid">${out.join('')}</div>` : `<p class="nodata">No search in this run (only B-STaR searches (T, τ)).</p>`;
  return `<section id="query-effect"><h2>Query effect over the (T, τ) grid</h2><p class="hint">Mean query effect (paper Eq. 4) of each configuration on the dev queries; outlined: the argmax, used for the iteration.</p>${body}</section>`;
}

async function countPlots(run: RunData): Promise<string> {
  const rows = [
    ['select/selected', 'selected'],
    ['select/unique-correct', 'unique correct'],
    ['select/zero-signal', 'zero-signal queries'],
    ['sample/queries', 'queries sampled'],
  ].flatMap(([key, series]) => [...metricByIteration(run.records, key).entries()].map(([x, v]) => ({ x, y: v.value, series })));
  const p = await plot('counts', 'selection counts per iteration', barSpec('Selection per iteration', 'count', rows, false), rows.some((r) => r.y !== null), 'no selection yet');
  return figure(p);
}

async function timingPlots(run: RunData): Promise<string> {
  const secs = run.records.map((r) => ({ x: r.iteration, y: r.timing.ms / 1000, series: r.phase }));
  const tps = run.records.filter((r) => r.timing.tokens > 0).map((r) => ({ x: r.iteration, y: r.timing.tokensPerSecond, series: r.phase as Phase }));
  const a = await plot('time', 'seconds per phase', barSpec('Time per phase', 'seconds', secs, true), secs.length > 0, 'no phase finished yet');
  const b = await plot('throughput', 'tokens per second per phase', lineSpec('Throughput per phase', 'tokens/s', tps), tps.length > 0, 'no tokens processed yet');
  return figure(a) + figure(b);
}

function summaryTable(rows: readonly SummaryRow[], k: string, s: string, inProgress?: number, partial = 'in progress'): string {
  return table(
    ['iter', 'T', 'τ', 'selected', 'query effect', 'zero-signal', 'train loss', 'Pass@1', `Pass@${k}`, `Pass@${k}-${s}`, `Best-of-${k}`, `Reward@${k}-${s}`, 'distinct eqs', 'seconds'],
    rows.map((r) => [r.iteration === inProgress ? `${r.iteration} (${partial})` : String(r.iteration), fmt(r.temperature, 2), fmt(r.threshold, 2), fmt(r.selected, 0), fmt(r.queryEffect), fmt(r.zeroSignal, 0), fmt(r.trainLoss), fmt(r.pass1), fmt(r.passK), fmt(r.passKS), fmt(r.bestOfK), fmt(r.rewardKS), fmt(r.distinct), r.seconds.toFixed(1)]),
    'numeric',
  );
}

/** JSON safe inside <script>: no `</script>` or `<!--` can end it early. */
function scriptJson(x: unknown): string {
  return JSON.stringify(x).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function sampleBrowser(run: RunData): string {
  if (run.browser.length === 0) return `<section id="samples"><h2>Samples</h2><p class="nodata">No samples written yet.</p></section>`;
  return `<section id="samples"><h2>Sample browser</h2><p class="hint">The samples of one query at one iteration with their reward, verdict, PRM step scores (when a PRM scored them; coloured red → green per step) and whether selection kept them for training. Iteration 0 shows evaluation samples. To keep this file small it embeds at most ${BROWSER_QUERIES} queries per iteration, ${BROWSER_SAMPLES} samples per query and ${BROWSER_TEXT} characters per sample; all samples are in <code>iterations/&lt;i&gt;/samples.jsonl</code>.</p>
<div class="controls"><label>iteration <select id="sb-iter"></select></label> <label>query <select id="sb-query"></select></label> <span id="sb-info"></span></div>
<div id="sb-list"></div>
<script type="application/json" id="sb-data">${scriptJson(run.browser)}</script></section>`;
}

function header(title: string, sub: string, live: boolean, notes: readonly string[], progress: string | null = null, stopped: readonly string[] = []): string {
  const refresh = live ? `<p class="live" id="live">Run in progress: this page reloads every ${REFRESH_SECONDS} s (rewritten after each phase). <button type="button" id="stop-refresh">stop reloading</button> <span id="stale"></span></p>` : '';
  const stop = stopped.length ? `<div class="stopped" id="stopped" role="status">${stopped.map((x) => `<p>${esc(x)}</p>`).join('')}</div>` : '';
  const prog = progress ? `<p class="live" id="progress">${esc(progress)}</p>` : '';
  const noteBox = notes.length ? `<div class="notes" role="note"><strong>Note</strong><ul>${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></div>` : '';
  return `<header><h1>${esc(title)}</h1><p class="sub">${sub}</p>${stop}${refresh}${prog}${noteBox}</header>`;
}

/**
 * The page. A live page reloads itself; `staleAfterMs` is how long without a rewrite makes its script
 * say the run has probably stopped (a killed run cannot rewrite its page).
 */
function page(title: string, body: string, live: boolean, staleAfterMs = 0): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bstar report">
<title>${esc(title)}</title>
<style>${PAGE_CSS}</style></head>
<body data-live="${live ? REFRESH_SECONDS : 0}" data-written="${Date.now()}" data-stale-after="${Math.round(staleAfterMs)}">
${body}
<footer>Written by <code>bstar report</code> at ${new Date().toISOString()}. Self-contained: no network access.</footer>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

function status(run: RunData): string {
  const its = summaryRows(run.records);
  const last = its.at(-1)?.iteration;
  const total = run.iterations;
  if (run.finished) return `finished: ${total ?? last} iteration(s)`;
  const done = last === undefined ? 'no iteration finished' : `iteration ${last}${total !== null ? ` of ${total}` : ''} done`;
  if (run.stopped) return `stopped without finishing: ${done}, last written ${run.updated ?? '?'}`;
  if (last === undefined) return 'started: no iteration finished yet';
  return `in progress: ${done}, last written ${run.updated ?? '?'}`;
}

/**
 * How long a live page may go without a rewrite before its script says the run has probably stopped:
 * twice the longest phase so far, at least 10 minutes.
 */
export function staleAfterMs(run: RunData): number {
  const longest = Math.max(0, ...run.records.map((r) => r.timing?.ms ?? 0), ...(run.progress?.records ?? []).map((r) => r.timing?.ms ?? 0));
  return Math.max(10 * 60_000, 2 * longest);
}

/** The line about the iteration in progress (progress.json), or null. */
export function progressLine(run: RunData): string | null {
  const p = run.progress;
  if (!p) return null;
  return `iteration ${p.iteration} in progress: phase ${p.phase} done (phases so far: ${p.records.map((r) => r.phase).join(', ')}); its partial figures are shown and it is marked “(in progress)” in the summary table.`;
}

/** The report page of one run. The figures include the iteration in progress (its phases so far). */
export async function runReportHtml(complete: RunData): Promise<string> {
  const p = complete.progress;
  const run: RunData = p ? { ...complete, records: [...complete.records, ...p.records], steps: [...complete.steps, ...(p.steps ?? [])] } : complete;
  const { k, s } = evalKS(run.records);
  const sub = `method <b>${esc(run.method)}</b> · task <b>${esc(run.task)}</b> · seed ${run.seed} · ${esc(status(complete))} · <code>${esc(path.resolve(run.dir))}</code>`;
  const rows = summaryRows(run.records);
  const pl = progressLine(complete);
  const body = [
    header(`Run ${run.name}`, sub, run.live, run.notes, run.stopped ? null : pl, run.stopped ? [run.stopped] : []),
    '<main>',
    await monitorPlots([run], false),
    await stepCurves(run),
    await configPlots([run], false),
    await heatmaps(run),
    `<section id="selection"><h2>Selection, time and throughput</h2><p class="hint">Per iteration: selected samples, unique correct ones, queries without any correct sample (zero signal) and queries sampled; wall-clock seconds per phase; tokens per second of each phase's main work.</p><div class="grid">${await countPlots(run)}${await timingPlots(run)}</div></section>`,
    `<section id="summary"><h2>Summary table</h2>${rows.length ? summaryTable(rows, k, s, complete.progress?.iteration, complete.stopped ? 'interrupted' : 'in progress') : '<p class="nodata">no records yet</p>'}</section>`,
    sampleBrowser(run),
    `<section id="config-file"><h2>Config</h2><details><summary>config.yaml</summary><pre>${esc(run.configText)}</pre></details></section>`,
    '</main>',
  ].join('\n');
  return page(`bstar run ${run.name}`, body, run.live, staleAfterMs(complete));
}

/**
 * A run as `bstar experiment` reads it (records + per-query evaluations), tolerantly: an
 * iterations/<i>/eval.json that is missing or unreadable leaves that iteration out, with a note.
 */
export function experimentRunOf(r: RunData, notes: string[]): ExperimentRun {
  const evals: ExperimentRun['evals'] = new Map();
  for (const rec of r.records) {
    if (rec.phase !== 'eval') continue;
    const f = path.join(r.dir, 'iterations', String(rec.iteration), 'eval.json');
    try {
      evals.set(rec.iteration, readEvalPerQuery(f));
    } catch (e) {
      notes.push(`${r.name}: ${(e as Error).message.startsWith(f) ? (e as Error).message : `${f}: ${(e as Error).message}`}; iteration ${rec.iteration} is left out of the CIs over test queries.`);
    }
  }
  return { name: r.name, method: r.method, seed: r.seed, records: r.records, evals };
}

/** The two-level statistics of `bstar experiment` over the runs that have per-query evaluations, or null. */
export function compareSummary(runs: readonly RunData[], notes: string[]): ExperimentSummary | null {
  const xs = runs.map((r) => experimentRunOf(r, notes)).filter((r) => r.evals.size > 0);
  if (xs.length === 0) return null;
  const configured = runs.map((r) => (r.config.eval as { bootstrapResamples?: unknown } | undefined)?.bootstrapResamples).filter((x): x is number => typeof x === 'number' && x >= 1);
  const resamples = Math.min(COMPARE_RESAMPLES, ...configured);
  const methods = [...new Set(xs.map((r) => r.method))];
  return summarizeExperiment('comparison', xs, { level: CI_LEVEL, resamples, seed: 0, pairs: defaultPairs(methods), iterationMonitors: MONITOR_NAMES });
}

function runState(r: RunData): string {
  return r.finished ? 'finished' : r.stopped ? 'stopped' : 'in progress';
}

/** The comparison page of several runs (methods × seeds). */
export async function compareReportHtml(runs: readonly RunData[]): Promise<string> {
  const { k, s } = evalKS(runs[0].records);
  const finals = runs.map((r) => {
    const rows = summaryRows(r.records);
    const last = rows.length ? finalRow(rows) : null;
    return [r.name, r.method, String(r.seed), runState(r), last ? String(last.iteration) : '—', fmt(rows[0]?.pass1), fmt(last?.pass1), fmt(last?.passK), fmt(last?.passKS), fmt(last?.bestOfK), fmt(last?.rewardKS), fmt(last?.distinct)];
  });
  const notes = runs.flatMap((r) => r.notes.map((n) => `${r.name}: ${n}`));
  const summary = compareSummary(runs, notes);
  let methodPart = '<p class="nodata">No run has a per-query evaluation (iterations/&lt;i&gt;/eval.json) yet.</p>';
  if (summary) {
    const [fh, fr] = finalTable(summary);
    const [ih, ir] = iterationTable(summary);
    const paired = summary.paired.length ? `<h3>Paired differences (final iteration; pairs by seed and test query)</h3><ul class="paired">${summary.paired.map((p) => `<li>${esc(p.statement)}</li>`).join('')}</ul>` : '';
    methodPart = `<h3>Per method: ${esc(ciNote(summary))}</h3>${table(fh, fr, 'numeric')}${paired}<h3>Per iteration (T and τ: mean over seeds of the values used)</h3>${table(ih, ir, 'numeric')}`;
  }
  const live = runs.some((r) => r.live);
  const stopped = runs.filter((r) => r.stopped).map((r) => `${r.name}: ${r.stopped}`);
  const sub = `${runs.length} runs · methods ${[...new Set(runs.map((r) => r.method))].map(esc).join(', ')} · task ${[...new Set(runs.map((r) => r.task))].map(esc).join(', ')}`;
  const body = [
    header('Comparison of runs', sub, live, notes, null, stopped),
    '<main>',
    `<section id="final"><h2>Final monitors</h2><p class="hint">As <code>bstar compare</code>: the last evaluated iteration of each run. Per method, the statistics of <code>bstar experiment</code> (comparison.txt): the mean over seeds of each seed's mean over test queries, with a two-level bootstrap CI (seeds resampled, then queries within each seed).</p>${table(['run', 'method', 'seed', 'status', 'iter', 'Pass@1 (start)', 'Pass@1', `Pass@${k}`, `Pass@${k}-${s}`, `Best-of-${k}`, `Reward@${k}-${s}`, 'distinct eqs'], finals, 'numeric')}
${methodPart}</section>`,
    await monitorPlots(runs, true, summary),
    await configPlots(runs, true),
    `<section id="runs"><h2>Runs</h2><ul>${runs.map((r) => `<li><code>${esc(path.join(path.resolve(r.dir), REPORT_FILE))}</code> — ${esc(r.method)}, seed ${r.seed}</li>`).join('')}</ul></section>`,
    '</main>',
  ].join('\n');
  return page('bstar comparison', body, live, Math.max(...runs.map(staleAfterMs)));
}

/** The page for one run directory, or the comparison page for several. */
export async function buildReport(dirs: readonly string[]): Promise<string> {
  if (dirs.length === 0) throw new ReportError('bstar report: give at least one run directory');
  const runs = dirs.map(readRunData);
  return runs.length === 1 ? runReportHtml(runs[0]) : compareReportHtml(runs);
}

/** Writes `file` atomically (temp + rename): a reader (or a reloading browser) never sees half a page. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Writes <dir>/report.html (removing temp files a killed writer left); returns its path. */
export async function writeRunReport(dir: string): Promise<string> {
  const file = path.join(dir, REPORT_FILE);
  const html = await buildReport([dir]);
  for (const f of readdirSync(dir)) if (f.startsWith(`${REPORT_FILE}.tmp-`)) rmSync(path.join(dir, f), { force: true });
  writeAtomic(file, html);
  return file;
}
