// The run report: one self-contained HTML page (inline SVG plots, inline CSS and a little inline JS,
// no network) per run directory, or a comparison page for several runs (methods × seeds).
//   single run   monitors over iterations (paper Fig. 1/3), exploration and exploitation (Fig. 4),
//                chosen T and τ (Table 2), the query-effect heatmap of each iteration's search,
//                selection counts, time and tokens/s per phase, the final table, a sample browser
//   several runs the same monitors with one line per method (mean over seeds, bootstrap CI band over
//                seeds) or per run, and the final table of `bstar compare`
// While a run is going (no summary.json yet) the page reloads itself every REFRESH_SECONDS; the run
// rewrites it after each phase, and the figures include the iteration in progress (progress.json).
import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bootstrapCI } from '../metrics/aggregate.js';
import { finalRow, methodStats, type RunRecords } from '../run/compare.js';
import type { MetricsRecord, Phase } from '../run/records.js';
import { summaryRows, type SummaryRow } from '../run/summary.js';
import { deriveSeed } from '../util/rng.js';
import { readRunData, ReportError, BROWSER_QUERIES, BROWSER_SAMPLES, BROWSER_TEXT, type RunData } from './data.js';
import { barSpec, escapeHtml as esc, heatmapSpec, lineSpec, renderSvg, type SeriesPoint } from './plots.js';
import { PAGE_CSS, PAGE_SCRIPT } from './page.js';

export const REPORT_FILE = 'report.html';
export const REFRESH_SECONDS = 10;
const CI_LEVEL = 0.9;

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

async function monitorPlots(runs: readonly RunData[], compare: boolean): Promise<string> {
  const { k, s } = evalKS(runs[0].records);
  const bySeeds = compare && new Set(runs.map((r) => r.method)).size < runs.length;
  const plots: string[] = [];
  for (const m of MONITORS) {
    const rows = compare ? (bySeeds ? methodSeries(runs, m.key) : runs.flatMap((r) => runSeries(r, m.key))) : runSeries(runs[0], m.key, 'this run');
    const domain: [number, number] | undefined = PROB_KEYS.has(m.key) ? [0, 1] : undefined;
    const has = rows.some((r) => r.y !== null);
    const evaluated = runs.some((r) => r.records.some((x) => x.phase === 'eval'));
    const why = evaluated ? 'undefined at every evaluation so far (e.g. distinct equations need a correct sample)' : 'no evaluation yet';
    plots.push(figure(await plot(m.id, m.title(k, s), lineSpec(m.title(k, s), m.y, rows, { yDomain: domain }), has, `${m.title(k, s)}: ${why}`)));
  }
  const band = compare ? (bySeeds ? `Bands: ${CI_LEVEL * 100}% bootstrap CI over seeds.` : 'One line per run.') : `Bands: ${(runs[0].records.find((r) => r.ciLevel)?.ciLevel ?? CI_LEVEL) * 100}% bootstrap CI over test queries.`;
  return `<section id="monitors"><h2>Monitors over iterations</h2><p class="hint">Paper Fig. 1/3 (Pass@1, Pass@K, Pass@K-S), exploration (distinct equations) and exploitation (Best-of-K, Reward@K-S, Fig. 4), on the test queries. Iteration 0 is the SFT model. ${band}</p><div class="grid">${plots.join('')}</div></section>`;
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

function summaryTable(rows: readonly SummaryRow[], k: string, s: string, inProgress?: number): string {
  return table(
    ['iter', 'T', 'τ', 'selected', 'query effect', 'zero-signal', 'train loss', 'Pass@1', `Pass@${k}`, `Pass@${k}-${s}`, `Best-of-${k}`, `Reward@${k}-${s}`, 'distinct eqs', 'seconds'],
    rows.map((r) => [r.iteration === inProgress ? `${r.iteration} (in progress)` : String(r.iteration), fmt(r.temperature, 2), fmt(r.threshold, 2), fmt(r.selected, 0), fmt(r.queryEffect), fmt(r.zeroSignal, 0), fmt(r.trainLoss), fmt(r.pass1), fmt(r.passK), fmt(r.passKS), fmt(r.bestOfK), fmt(r.rewardKS), fmt(r.distinct), r.seconds.toFixed(1)]),
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

function header(title: string, sub: string, live: boolean, notes: readonly string[], progress: string | null = null): string {
  const refresh = live ? `<p class="live" id="live">Run in progress: this page reloads every ${REFRESH_SECONDS} s (rewritten after each phase). <button type="button" id="stop-refresh">stop reloading</button></p>` : '';
  const prog = progress ? `<p class="live" id="progress">${esc(progress)}</p>` : '';
  const noteBox = notes.length ? `<div class="notes" role="note"><strong>Note</strong><ul>${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></div>` : '';
  return `<header><h1>${esc(title)}</h1><p class="sub">${sub}</p>${refresh}${prog}${noteBox}</header>`;
}

function page(title: string, body: string, live: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bstar report">
<title>${esc(title)}</title>
<style>${PAGE_CSS}</style></head>
<body data-live="${live ? REFRESH_SECONDS : 0}">
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
  if (last === undefined) return 'started: no iteration finished yet';
  return `in progress (or interrupted): iteration ${last}${total !== null ? ` of ${total}` : ''} done, last written ${run.updated ?? '?'}`;
}

/** The line about the iteration in progress (progress.json), or null. */
export function progressLine(run: RunData): string | null {
  const p = run.progress;
  if (!p) return null;
  return `iteration ${p.iteration} in progress: phase ${p.phase} done (phases so far: ${p.records.map((r) => r.phase).join(', ')}); its partial figures are shown and it is marked “(in progress)” in the summary table.`;
}

/** The report page of one run. The figures include the iteration in progress (its phases so far). */
export async function runReportHtml(complete: RunData): Promise<string> {
  const run: RunData = complete.progress ? { ...complete, records: [...complete.records, ...complete.progress.records] } : complete;
  const { k, s } = evalKS(run.records);
  const sub = `method <b>${esc(run.method)}</b> · task <b>${esc(run.task)}</b> · seed ${run.seed} · ${esc(status(complete))} · <code>${esc(path.resolve(run.dir))}</code>`;
  const rows = summaryRows(run.records);
  const pl = progressLine(complete);
  const body = [
    header(`Run ${run.name}`, sub, !run.finished, run.notes, pl),
    '<main>',
    await monitorPlots([run], false),
    await configPlots([run], false),
    await heatmaps(run),
    `<section id="selection"><h2>Selection, time and throughput</h2><p class="hint">Per iteration: selected samples, unique correct ones, queries without any correct sample (zero signal) and queries sampled; wall-clock seconds per phase; tokens per second of each phase's main work.</p><div class="grid">${await countPlots(run)}${await timingPlots(run)}</div></section>`,
    `<section id="summary"><h2>Summary table</h2>${rows.length ? summaryTable(rows, k, s, complete.progress?.iteration) : '<p class="nodata">no records yet</p>'}</section>`,
    sampleBrowser(run),
    `<section id="config-file"><h2>Config</h2><details><summary>config.yaml</summary><pre>${esc(run.configText)}</pre></details></section>`,
    '</main>',
  ].join('\n');
  return page(`bstar run ${run.name}`, body, !run.finished);
}

function asRecords(r: RunData): RunRecords {
  return { name: r.name, method: r.method, seed: r.seed, records: r.records };
}

/** The comparison page of several runs (methods × seeds). */
export async function compareReportHtml(runs: readonly RunData[]): Promise<string> {
  const { k, s } = evalKS(runs[0].records);
  const finals = runs.map((r) => {
    const rows = summaryRows(r.records);
    const last = rows.length ? finalRow(rows) : null;
    return [r.name, r.method, String(r.seed), r.finished ? 'finished' : 'in progress', last ? String(last.iteration) : '—', fmt(rows[0]?.pass1), fmt(last?.pass1), fmt(last?.passK), fmt(last?.passKS), fmt(last?.bestOfK), fmt(last?.rewardKS), fmt(last?.distinct)];
  });
  const withRecords = runs.filter((r) => r.records.length > 0).map(asRecords);
  const keys = ['pass1', 'passK', 'passKS', 'bestOfK', 'rewardKS', 'distinct'] as const;
  const stats = keys.map((key) => methodStats(withRecords, key, CI_LEVEL));
  const methods = stats[0].map((st) => st.method);
  const methodRows = methods.map((m, i) => [m, String(stats[0][i].runs), ...stats.map((st) => (st[i].mean === null ? '—' : `${fmt(st[i].mean)} [${fmt(st[i].lo)}, ${fmt(st[i].hi)}]`))]);
  const notes = runs.flatMap((r) => r.notes.map((n) => `${r.name}: ${n}`));
  const live = runs.some((r) => !r.finished);
  const sub = `${runs.length} runs · methods ${[...new Set(runs.map((r) => r.method))].map(esc).join(', ')} · task ${[...new Set(runs.map((r) => r.task))].map(esc).join(', ')}`;
  const body = [
    header('Comparison of runs', sub, live, notes),
    '<main>',
    `<section id="final"><h2>Final monitors</h2><p class="hint">As <code>bstar compare</code>: the last evaluated iteration of each run.</p>${table(['run', 'method', 'seed', 'status', 'iter', 'Pass@1 (start)', 'Pass@1', `Pass@${k}`, `Pass@${k}-${s}`, `Best-of-${k}`, `Reward@${k}-${s}`, 'distinct eqs'], finals, 'numeric')}
<h3>Per method (mean over seeds [${CI_LEVEL * 100}% bootstrap CI])</h3>${table(['method', 'runs', 'Pass@1', `Pass@${k}`, `Pass@${k}-${s}`, `Best-of-${k}`, `Reward@${k}-${s}`, 'distinct eqs'], methodRows, 'numeric')}</section>`,
    await monitorPlots(runs, true),
    await configPlots(runs, true),
    `<section id="runs"><h2>Runs</h2><ul>${runs.map((r) => `<li><code>${esc(path.join(path.resolve(r.dir), REPORT_FILE))}</code> — ${esc(r.method)}, seed ${r.seed}</li>`).join('')}</ul></section>`,
    '</main>',
  ].join('\n');
  return page('bstar comparison', body, live);
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
