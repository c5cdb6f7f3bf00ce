// The run report from a tiny real run: written by the run after each phase (the iteration in
// progress from progress.json) and each iteration, one plot per monitor
// with one point per evaluated iteration, one heatmap per search; a run killed mid-write still gives
// a report of what is complete (with a visible note); a non-run directory is a clear error; the
// comparison page's per-method means and CIs; `bstar report` and `--serve`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serveReport } from '../../src/cli/report.js';
import { parseMetricsTolerant, readRunData, ReportError } from '../../src/report/data.js';
import { buildReport, iterationBoundaries, MAX_STEP_POINTS, methodSeries, thin, writeRunReport } from '../../src/report/report.js';
import { selectedFlags } from '../../src/report/data.js';
import { runLiveness, STATUS_FILE } from '../../src/run/status.js';
import { MONITORS } from '../../src/metrics/summary.js';
import { defaultPairs, finalTable, readExperimentRun, summarizeExperiment } from '../../src/run/experimentReport.js';
import { parseMetricsJsonl, parseRunRecords, RecordsError, type MetricsRecord, type StepRecord } from '../../src/run/records.js';
import type { Sample } from '../../src/util/sample.js';
import { startRun } from '../../src/run/run.js';
import { refreshReport } from '../../src/report/live.js';
import { tinyConfig } from '../run/tiny.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-report-'));
after(() => rmSync(root, { recursive: true, force: true }));
const runA = path.join(root, 'bstar-a');
const runB = path.join(root, 'star-b');

/** report.html as it was when the run logged "iter i done" (after iteration i's checkpoint). */
const duringRun = new Map<number, string>();
/** When the run logged iteration i's search choice (after its search phase, before its sampling and checkpoint). */
const afterSearch = new Map<number, { html: string; progress: string | null; checkpointed: boolean; metricsIterations: number[] }>();

before(async () => {
  const log = (l: string) => {
    const m = /^iter (\d+) done/.exec(l);
    if (m) duringRun.set(Number(m[1]), readFileSync(path.join(runA, 'report.html'), 'utf8'));
    const s = /^iter (\d+): search chose/.exec(l);
    if (s) {
      const pf = path.join(runA, 'progress.json');
      afterSearch.set(Number(s[1]), {
        html: readFileSync(path.join(runA, 'report.html'), 'utf8'),
        progress: existsSync(pf) ? readFileSync(pf, 'utf8') : null,
        checkpointed: existsSync(path.join(runA, 'checkpoints', s[1])),
        metricsIterations: [...new Set(recordsOf(runA).map((r) => r.iteration))],
      });
    }
  };
  await startRun(tinyConfig(['method=bstar', 'iterations=2']), runA, { log, report: refreshReport });
  await startRun(tinyConfig(['method=star', 'iterations=2', 'seed=3']), runB, { log: () => {}, report: refreshReport });
});

const recordsOf = (dir: string) => parseMetricsTolerant(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'), 'm').records;
/** The <figure data-plot=id> element's text. */
function figureOf(html: string, id: string): string | null {
  const i = html.indexOf(`data-plot="${id}"`);
  if (i < 0) return null;
  return html.slice(i, html.indexOf('</figure>', i));
}
/** Point marks (vega symbols) in an SVG: one <path> per point inside the role-mark group of symbols. */
function symbolCount(fig: string): number {
  const m = fig.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s);
  return m ? (m[1].match(/<path /g) ?? []).length : 0;
}

test('the run writes report.html: finished, one point per evaluation in every monitor, one heatmap per search', () => {
  const html = readFileSync(path.join(runA, 'report.html'), 'utf8');
  assert.match(html, /data-live="0"/, 'a finished run does not reload');
  const recs = recordsOf(runA);
  const evals = recs.filter((r) => r.phase === 'eval').length;
  assert.equal(evals, 3);
  for (const id of ['pass1', 'passk', 'passks', 'bestofk', 'rewardks']) {
    const fig = figureOf(html, id);
    assert.ok(fig, `plot ${id}`);
    assert.equal(symbolCount(fig), evals, `plot ${id}: one point per evaluated iteration`);
  }
  const searches = recs.filter((r) => r.phase === 'search');
  assert.equal(searches.length, 2);
  for (const s of searches) {
    const fig = figureOf(html, `heatmap-${s.iteration}`);
    assert.ok(fig, `heatmap of iteration ${s.iteration}`);
    // the tiny config's grid is 2 temperatures × 2 thresholds: 4 cells plus the outline of the chosen one
    const rects = fig.match(/<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)<\/g>/gs) ?? [];
    assert.deepEqual(rects.map((g) => (g.match(/<path /g) ?? []).length), [s.searchTable!.length, 1]);
    assert.match(fig, new RegExp(`chose T=${(s.metrics['search/temperature'] as number).toFixed(2)}, τ=${(s.metrics['search/threshold'] as number).toFixed(2)}`));
  }
  for (const id of ['config', 'counts', 'time', 'throughput']) assert.ok(figureOf(html, id), `plot ${id}`);
  // the sample browser's embedded data: the last iteration's pool, selected flags from selected.jsonl
  const data = JSON.parse(html.match(/<script type="application\/json" id="sb-data">(.*?)<\/script>/s)![1]) as { iteration: number; queries: { samples: { selected: boolean }[] }[] }[];
  assert.deepEqual(data.map((d) => d.iteration), [0, 1, 2]);
  const selectedInFile = readFileSync(path.join(runA, 'iterations/2/selected.jsonl'), 'utf8').split('\n').filter((l) => l).length;
  const flagged = data[2].queries.flatMap((q) => q.samples).filter((s) => s.selected).length;
  // every pool sample is embedded (6 queries × 3 samples, under the caps): one flag per selected line, duplicates or not
  assert.equal(flagged, selectedInFile, `selected flags ${flagged} vs ${selectedInFile} lines in selected.jsonl`);
  assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/, 'no network references (other than SVG namespaces)');
});

test('while the run goes, report.html is rewritten after each iteration and reloads itself; the last one does not', () => {
  assert.deepEqual([...duringRun.keys()], [0, 1, 2]);
  assert.match(duringRun.get(0)!, /in progress: iteration 0 of 2 done/);
  assert.match(duringRun.get(1)!, /in progress: iteration 1 of 2 done/);
  for (const i of [0, 1]) assert.match(duringRun.get(i)!, /data-live="10"/);
  assert.equal(symbolCount(figureOf(duringRun.get(1)!, 'pass1')!), 2);
  assert.match(duringRun.get(2)!, /data-live="0"/);
  assert.match(duringRun.get(2)!, /finished: 2 iteration\(s\)/);
});

test('report.html is rewritten after each phase: the search heatmap shows before the iteration is checkpointed', () => {
  assert.deepEqual([...afterSearch.keys()], [1, 2]);
  for (const [i, at] of afterSearch) {
    assert.equal(at.checkpointed, false, `iteration ${i} not checkpointed yet`);
    assert.deepEqual(at.metricsIterations, [...Array(i).keys()], `metrics.jsonl holds iterations before ${i} only`);
    const p = JSON.parse(at.progress!) as { iteration: number; phase: string; records: MetricsRecord[] };
    assert.equal(p.iteration, i);
    assert.equal(p.phase, 'search');
    assert.deepEqual(p.records.map((r) => r.phase), ['search']);
    const fig = figureOf(at.html, `heatmap-${i}`);
    assert.ok(fig, `heatmap of iteration ${i} while it runs`);
    assert.match(fig, new RegExp(`chose T=${(p.records[0].metrics['search/temperature'] as number).toFixed(2)}, τ=${(p.records[0].metrics['search/threshold'] as number).toFixed(2)}`));
    assert.equal(figureOf(at.html, `heatmap-${i + 1}`), null);
    assert.match(at.html, new RegExp(`iteration ${i} in progress: phase search done`));
    assert.match(at.html, new RegExp(`<td>${i} \\(in progress\\)</td>`));
    assert.match(at.html, new RegExp(`in progress: iteration ${i - 1} of 2 done`));
    assert.match(at.html, /data-live="10"/);
  }
  // the search record in progress.json is the one metrics.jsonl got at the end of the iteration (but timing)
  const final = recordsOf(runA).find((r) => r.iteration === 2 && r.phase === 'search')!;
  const inProgress = (JSON.parse(afterSearch.get(2)!.progress!) as { records: MetricsRecord[] }).records[0];
  assert.deepEqual({ ...inProgress, timing: null }, { ...final, timing: null });
  assert.ok(!existsSync(path.join(runA, 'progress.json')), 'progress.json removed once the iteration is checkpointed');
  assert.doesNotMatch(readFileSync(path.join(runA, 'report.html'), 'utf8'), /in progress:/);
});

test('a report that cannot be written does not stop the run: it is logged, the run ends as usual', async () => {
  const dir = path.join(root, 'unwritable');
  const lines: string[] = [];
  const log = (l: string) => void lines.push(l);
  // once the run directory exists, a directory where report.html goes: every rename onto it fails
  const started = () => mkdirSync(path.join(dir, 'report.html', 'blocker'), { recursive: true });
  const out = await startRun(tinyConfig(['method=bstar', 'iterations=1']), dir, { log, report: refreshReport, started });
  assert.deepEqual(out.rows.map((r) => r.iteration), [0, 1]);
  const failed = lines.filter((l) => /^report: .*report\.html not updated/.test(l));
  // iteration 0: sft, eval, checkpoint; iteration 1: search, sample, select, train, eval, checkpoint
  assert.equal(failed.length, 9, lines.join('\n'));
  assert.ok(!existsSync(path.join(dir, 'progress.json')));
});

test('a stale or unreadable progress.json: ignored, or a visible note', async () => {
  const dir = path.join(root, 'stale');
  cpSync(runA, dir, { recursive: true });
  const search1 = recordsOf(runA).find((r) => r.iteration === 1 && r.phase === 'search')!;
  writeFileSync(path.join(dir, 'progress.json'), JSON.stringify({ v: 1, iteration: 1, phase: 'search', records: [search1] }));
  assert.equal(readRunData(dir).progress, null, 'iteration 1 is complete in metrics.jsonl: stale');
  writeFileSync(path.join(dir, 'progress.json'), '{"iteration": 3,');
  const html = await buildReport([dir]);
  assert.match(html, /progress\.json: not JSON .*the iteration in progress is not shown/);
});

test('a metrics.jsonl cut mid-line gives a report of the complete records with a visible note; the page is live', async () => {
  const dir = path.join(root, 'killed');
  cpSync(runA, dir, { recursive: true });
  rmSync(path.join(dir, 'summary.json'));
  const text = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
  const lines = text.split('\n');
  // keep iteration 0 and 1 complete, then half of the next line (iteration 2's search); step records
  // (kind "step") are lines too, but not phase records
  const parsed = lines.filter((l) => l).map((l) => JSON.parse(l) as { iteration: number; kind?: string });
  const keep = parsed.findIndex((r) => r.iteration === 2);
  const phasesBefore = parsed.slice(0, keep).filter((r) => r.kind !== 'step').length;
  const stepsBefore = keep - phasesBefore;
  assert.ok(stepsBefore > 0, 'runA has step records');
  const cut = lines.slice(0, keep).join('\n') + '\n' + lines[keep].slice(0, 40);
  writeFileSync(path.join(dir, 'metrics.jsonl'), cut);
  // the writer is this (live) process: the run counts as going
  writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 'running', pid: process.pid, host: hostname(), updated: new Date().toISOString() }));
  const html = await buildReport([dir]);
  assert.match(html, /class="notes"/);
  assert.match(html, new RegExp(`line ${keep + 1} is incomplete .* the report shows the ${phasesBefore} complete records and ${stepsBefore} step records before it`));
  assert.match(html, /data-live="10"/, 'not finished: reloads');
  assert.match(html, /in progress: iteration 1 of 2 done/);
  assert.equal(symbolCount(figureOf(html, 'pass1')!), 2, 'iterations 0 and 1 evaluated');
  assert.equal(figureOf(html, 'heatmap-2'), null);
  assert.ok(figureOf(html, 'heatmap-1'));
  // a writer killed mid-write left its temp file: the next write removes it and writes the page whole
  writeFileSync(path.join(dir, 'report.html.tmp-99999'), '<html');
  assert.equal(await writeRunReport(dir), path.join(dir, 'report.html'));
  assert.ok(!existsSync(path.join(dir, 'report.html.tmp-99999')));
  assert.match(readFileSync(path.join(dir, 'report.html'), 'utf8'), /<\/html>\n$/);
});

test('parseMetricsTolerant: only a partial last line is forgiven', () => {
  const rec = (i: number) => JSON.stringify({ v: 1, iteration: i, phase: 'eval', metrics: { 'eval/pass@1': i / 10 }, timing: { ms: 1, tokens: 0, tokensPerSecond: 0 } });
  assert.deepEqual(parseMetricsTolerant(`${rec(0)}\n${rec(1)}\n`, 'm').records.map((r) => r.iteration), [0, 1]);
  const cut = parseMetricsTolerant(`${rec(0)}\n${rec(1).slice(0, 20)}`, 'm');
  assert.deepEqual(cut.records.map((r) => r.iteration), [0]);
  assert.match(cut.note!, /^m: line 2 is incomplete/);
  const noNewline = parseMetricsTolerant(`${rec(0)}\n${rec(1)}`, 'm');
  assert.deepEqual(noNewline.records.map((r) => r.iteration), [0, 1]);
  assert.match(noNewline.note!, /no newline yet/);
  assert.throws(() => parseMetricsTolerant(`${rec(0)}\n{"broken\n${rec(1)}\n`, 'm'), (e: Error) => e instanceof RecordsError && /^m:2: expected one JSON object per line, found invalid JSON/.test(e.message));
  assert.throws(() => parseMetricsTolerant(`{"iteration": 0}\n`, 'm'), (e: Error) => e instanceof RecordsError && /^m:1: expected a metrics record/.test(e.message));
  assert.deepEqual(parseMetricsTolerant('', 'm'), { records: [], steps: [], note: null });
});

test('a directory that is not a run is a clear error (library and CLI)', () => {
  const plain = path.join(root, 'plain');
  mkdirSync(plain);
  writeFileSync(path.join(plain, 'notes.txt'), 'hello');
  assert.throws(() => readRunData(plain), (e: Error) => e instanceof ReportError && e.message === `${plain}: not a run directory (expected config.yaml and metrics.jsonl, made by \`bstar run\`; missing config.yaml and metrics.jsonl)`);
  assert.throws(() => readRunData(path.join(root, 'nope')), (e: Error) => e instanceof ReportError && /nope: no such directory/.test(e.message));
  const r = spawnSync(process.execPath, [cli, 'report', plain], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), `bstar: ${plain}: not a run directory (expected config.yaml and metrics.jsonl, made by \`bstar run\`; missing config.yaml and metrics.jsonl)`);
  assert.ok(!existsSync(path.join(plain, 'report.html')));
});

test('comparison: per method and iteration, the mean over seeds with a bootstrap CI inside the seeds’ range', () => {
  const fake = (method: string, seed: number, ys: number[]) => ({
    ...readRunData(runA),
    name: `${method}-${seed}`,
    method,
    seed,
    records: ys.map((y, i): MetricsRecord => ({ v: 1, run: 'x', method, seed, iteration: i, phase: 'eval', metrics: { 'eval/pass@1': y }, timing: { ms: 1, tokens: 0, tokensPerSecond: 0 } })),
  });
  const pts = methodSeries([fake('bstar', 0, [0.2, 0.5]), fake('bstar', 1, [0.4, 0.5]), fake('star', 0, [0.1, 0.3])], 'eval/pass@1');
  const b0 = pts.find((p) => p.series === 'bstar (2 seeds)' && p.x === 0)!;
  assert.ok(Math.abs(b0.y! - 0.3) < 1e-12);
  // two values: the bootstrap means are 0.2, 0.3 or 0.4
  assert.ok([0.2, 0.3, 0.4].some((v) => Math.abs(v - b0.lo!) < 1e-12) && [0.2, 0.3, 0.4].some((v) => Math.abs(v - b0.hi!) < 1e-12) && b0.lo! <= b0.hi!);
  const b1 = pts.find((p) => p.series === 'bstar (2 seeds)' && p.x === 1)!;
  assert.deepEqual([b1.y, b1.lo, b1.hi], [0.5, 0.5, 0.5]);
  const s1 = pts.find((p) => p.series === 'star (1 seed)' && p.x === 1)!;
  assert.equal(s1.y, 0.3);
  assert.equal(s1.lo, undefined, 'no band from a single seed');
});

test('bstar report a b --out writes the comparison page; --serve serves it on 127.0.0.1', async () => {
  const out = path.join(root, 'cmp.html');
  const r = spawnSync(process.execPath, [cli, 'report', runA, runB, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<h1>Comparison of runs<\/h1>/);
  for (const n of ['bstar-a', 'star-b']) assert.match(html, new RegExp(`<td>${n}</td><td>(bstar|star)</td>`));
  // one line per run (methods differ): one point per run per evaluated iteration
  assert.equal(symbolCount(figureOf(html, 'pass1')!), 6);
  const { server, url } = await serveReport([runA], 0);
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<title>bstar run bstar-a<\/title>/);
    assert.equal((await fetch(url + 'x')).status, 404);
  } finally {
    server.close();
  }
});

// ---------------------------------------------------------------------------------------------
// per-step records (kind "step"), written by the training loop; synthetic here

/** Step records: iteration 0 SFT steps 1…5, then `perIt` train steps in each of iterations 1 and 2. */
function stepLines(perIt = 3): StepRecord[] {
  const out: StepRecord[] = [];
  let g = 0;
  const add = (iteration: number, phase: 'sft' | 'train', step: number) =>
    out.push({ v: 1, kind: 'step', run: 'bstar-a', method: 'bstar', seed: 0, iteration, phase, step, globalStep: ++g, metrics: { 'step/loss': 3 - g * 0.1, 'step/lr': 1e-3 * (1 - g / 100), 'step/grad-norm': 0.5 + (g % 3) / 10, 'step/tokens-per-second': 1000 + g, 'step/padding': 0.25 } });
  for (let s = 1; s <= 5; s++) add(0, 'sft', s);
  for (let i = 1; i <= 2; i++) for (let s = 1; s <= perIt; s++) add(i, 'train', (i - 1) * perIt + s);
  return out;
}

/** Puts step records into a copy of runA's metrics.jsonl, each iteration's steps before its phase records. */
function withSteps(name: string, steps: readonly StepRecord[]): string {
  const dir = path.join(root, name);
  cpSync(runA, dir, { recursive: true });
  // runA's own step records out, the given ones in
  const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l && (JSON.parse(l) as { kind?: string }).kind !== 'step');
  const out: string[] = [];
  for (const it of [0, 1, 2]) {
    out.push(...steps.filter((r) => r.iteration === it).map((r) => JSON.stringify(r)));
    out.push(...lines.filter((l) => (JSON.parse(l) as MetricsRecord).iteration === it));
  }
  writeFileSync(path.join(dir, 'metrics.jsonl'), out.join('\n') + '\n');
  return dir;
}

test('metrics.jsonl step records: the phase readers skip them, parseRunRecords returns them, a bad one names its line', () => {
  const steps = stepLines();
  const dir = withSteps('steps-parse', steps);
  const text = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
  assert.deepEqual(parseMetricsJsonl(text), recordsOf(runA));
  assert.deepEqual(parseRunRecords(text).steps, steps);
  assert.deepEqual(parseMetricsTolerant(text, 'm').steps, steps);
  const { globalStep: _g, ...noGlobal } = steps[1];
  const bad = `${JSON.stringify(steps[0])}\n${JSON.stringify(noGlobal)}\n`;
  assert.throws(() => parseMetricsJsonl(bad, 'm'), (e: Error) => e instanceof RecordsError && /^m:2: expected a metrics record .* or a step record/.test(e.message));
  assert.throws(() => parseMetricsTolerant(`${JSON.stringify({ ...steps[0], phase: 'eval' })}\n`, 'm'), (e: Error) => e instanceof RecordsError && /^m:1: expected a metrics record .* or a step record/.test(e.message));
});

test('report: step curves of loss, LR and grad norm, one point per step, a rule where each iteration begins', async () => {
  const steps = stepLines();
  const dir = withSteps('steps', steps);
  const html = await buildReport([dir]);
  for (const [id, key] of [['step-loss', 'step/loss'], ['step-lr', 'step/lr'], ['step-grad-norm', 'step/grad-norm']] as const) {
    const fig = figureOf(html, id);
    assert.ok(fig, `plot ${id}`);
    assert.equal(symbolCount(fig), steps.length, `${id}: one point per step`);
    // the rules: x of iterations 1 and 2's first global steps (6 and 9) − 0.5
    const rules = fig.match(/<g class="mark-rule role-mark[^"]*"[^>]*>(.*?)<\/g>/s);
    assert.ok(rules, `${id}: iteration rules`);
    assert.equal((rules[1].match(/<line /g) ?? []).length, 2);
    assert.match(fig, /iter 1/);
    assert.match(fig, /iter 2/);
    // the y axis spans the values (vega tick labels are formatted numbers)
    assert.ok(steps.every((r) => Number.isFinite(r.metrics[key])));
  }
  assert.deepEqual(iterationBoundaries(steps), [{ x: 5.5, label: 'iter 1' }, { x: 8.5, label: 'iter 2' }]);
  assert.match(html, /11 step records, the last global step 11 \(iteration 2\)/);
  // a run without step records says so instead of drawing empty plots
  const plain = await buildReport([withSteps('steps-none', [])]);
  assert.equal(figureOf(plain, 'step-loss'), null);
  assert.match(plain, /No per-step records in metrics\.jsonl/);
});

test('report: long step series are thinned to every n-th step (the last kept)', async () => {
  const xs = Array.from({ length: 5003 }, (_, i) => i);
  const t = thin(xs, 2000);
  assert.deepEqual(t.slice(0, 3), [0, 3, 6]);
  assert.equal(t.at(-1), 5002);
  assert.ok(t.length <= 2002);
  assert.deepEqual(thin([1, 2, 3], 2000), [1, 2, 3]);
  const steps = stepLines(MAX_STEP_POINTS); // 5 + 2 × 2000 steps
  const html = await buildReport([withSteps('steps-long', steps)]);
  assert.match(html, /drawn at every n-th step/);
  const fig = figureOf(html, 'step-loss')!;
  // one line mark per phase; the train series (4000 steps) thinned to every 2nd (2000) plus its last step
  const lines = [...fig.matchAll(/<g class="mark-line role-mark[^"]*"[^>]*><path [^>]*d="([^"]+)"/g)];
  const vertices = lines.map((m) => (m[1].match(/[ML]/g) ?? []).length).sort((a, b) => a - b);
  assert.deepEqual(vertices, [5, 2001]);
});

// ---------------------------------------------------------------------------------------------
// the sample browser's selected flags

test('sample browser: selection is matched by sample id, so identical duplicates are not all marked', () => {
  const s = (id: string | undefined, text: string): Sample => ({ ...(id ? { id } : {}), queryId: 'q', iteration: 1, temperature: 1, text, tokens: 3, logprob: -1, answer: '7', correct: true, reward: 1 });
  const pool = [s('sample/1/q/0', 'A'), s('sample/1/q/1', 'A'), s('sample/1/q/2', 'B'), s('sample/1/q/3', 'A'), s('sample/1/q/4', 'A')];
  assert.deepEqual(selectedFlags(pool, [pool[3]]), [false, false, false, true, false]);
  assert.deepEqual(selectedFlags(pool, [pool[2], pool[0]]), [true, false, true, false, false]);
  // runs written before samples had ids: each selected line marks one pool sample with its content
  const old = pool.map((x) => ({ ...x, id: undefined }));
  assert.deepEqual(selectedFlags(old, [old[1]]), [true, false, false, false, false]);
  assert.deepEqual(selectedFlags(old, [old[1], old[0], old[2]]), [true, true, true, false, false]);
  assert.deepEqual(selectedFlags(old, []), [false, false, false, false, false]);
});

test('the run gives every sample an id, unique in its file, and selected.jsonl names pool samples', () => {
  for (const it of [1, 2]) {
    const read = (f: string) => readFileSync(path.join(runA, `iterations/${it}`, f), 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l) as Sample);
    const pool = read('samples.jsonl');
    const ids = pool.map((x) => x.id);
    assert.ok(ids.every((id) => typeof id === 'string' && id.startsWith(`sample/${it}/`)), ids.join(' '));
    assert.equal(new Set(ids).size, ids.length);
    const byId = new Map(pool.map((x) => [x.id, x]));
    // selected.jsonl keeps the prompt ids and token logprobs the trainer needs; samples.jsonl only the completion ids
    for (const { promptIds, tokenLogprobs, ...x } of read('selected.jsonl')) {
      assert.ok(promptIds && tokenLogprobs && x.completionIds && tokenLogprobs.length === x.completionIds.length, `selected ${x.id} carries its ids`);
      assert.deepEqual(byId.get(x.id), x, `selected ${x.id} is that pool sample`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// a run that stopped without finishing

test('a paused run (--stop-after) and a failed one say so; neither reloads', async () => {
  const paused = path.join(root, 'paused');
  await startRun(tinyConfig(['method=star', 'iterations=2']), paused, { log: () => {}, stopAfter: 1, report: refreshReport });
  const html = readFileSync(path.join(paused, 'report.html'), 'utf8');
  assert.match(html, /data-live="0"/);
  assert.match(html, /id="stopped"/);
  assert.match(html, /Paused after iteration 1 \(--stop-after\)/);
  assert.match(html, /stopped without finishing: iteration 1 of 2 done/);
  assert.doesNotMatch(html, /Run in progress/);
  assert.equal(JSON.parse(readFileSync(path.join(paused, STATUS_FILE), 'utf8')).state, 'paused');

  // a run whose training fails part-way (the policy's train throws): recorded as failed, with the message
  const failed = path.join(root, 'failed');
  const { startRun: start } = await import('../../src/run/run.js');
  await assert.rejects(start(tinyConfig(['method=star', 'iterations=2', 'policy.training.backend=external', 'policy.training.command=["/nonexistent/trainer", "{data}", "{out}"]', `model.checkpoint=${path.join(runA, 'checkpoints/0')}`]), failed, { log: () => {}, report: refreshReport }));
  const st = JSON.parse(readFileSync(path.join(failed, STATUS_FILE), 'utf8'));
  assert.equal(st.state, 'failed');
  const fh = readFileSync(path.join(failed, 'report.html'), 'utf8');
  assert.match(fh, /data-live="0"/);
  assert.match(fh, /Stopped with an error at [^:]+:[^:]+:[^:]+: /);
  assert.doesNotMatch(fh, /Run in progress/);
});

test('a run whose process is gone (killed) is reported stopped, not in progress; one on another host counts as going', async () => {
  const dir = path.join(root, 'gone');
  cpSync(runA, dir, { recursive: true });
  rmSync(path.join(dir, 'summary.json'));
  const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n');
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.slice(0, lines.findIndex((l) => l.includes('"iteration":2'))).join('\n') + '\n');
  // a pid that has exited: a child that ran and was reaped
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(dead.stdout);
  const status = (p: number, host = hostname()) => writeFileSync(path.join(dir, STATUS_FILE), JSON.stringify({ state: 'running', pid: p, host, updated: '2026-01-01T00:00:00.000Z' }));
  status(pid);
  const html = await buildReport([dir]);
  assert.match(html, /data-live="0"/);
  assert.match(html, new RegExp(`Stopped without finishing: its process \\(pid ${pid} on ${hostname()}, last status 2026-01-01T00:00:00.000Z\\) is gone`));
  assert.match(html, /bstar run --resume/);
  assert.doesNotMatch(html, /Run in progress/);
  status(pid, 'some-other-host');
  assert.match(await buildReport([dir]), /data-live="10"/);
  // the liveness rule itself
  const st = { state: 'running' as const, pid: 1234, host: hostname(), updated: 't' };
  assert.deepEqual(runLiveness('d', false, st, () => true), { live: true, stopped: null });
  assert.equal(runLiveness('d', false, st, () => false).live, false);
  assert.deepEqual(runLiveness('d', true, st, () => false), { live: false, stopped: null });
  assert.deepEqual(runLiveness('d', false, null), { live: true, stopped: null });
});

// ---------------------------------------------------------------------------------------------
// the comparison page's two-level CIs

test('comparison page: per method the two-level (seeds × queries) CIs of `bstar experiment`, and CI bands', async () => {
  // a second seed of each method: copies with their seed rewritten (and their per-query values shifted)
  const reseed = (src: string, name: string, seed: number) => {
    const dir = path.join(root, name);
    cpSync(src, dir, { recursive: true });
    const mf = path.join(dir, 'metrics.jsonl');
    writeFileSync(mf, readFileSync(mf, 'utf8').split('\n').filter((l) => l).map((l) => JSON.stringify({ ...JSON.parse(l), seed })).join('\n') + '\n');
    return dir;
  };
  const dirs = [runA, reseed(runA, 'bstar-a-s7', 7), runB, reseed(runB, 'star-b-s9', 9)];
  const html = await buildReport(dirs);
  const methodOf = (d: string) => (d.includes('star-b') ? 'star' : 'bstar');
  const xs = dirs.map((d) => readExperimentRun(d, methodOf(d)));
  const summary = summarizeExperiment('comparison', xs, { level: 0.9, resamples: 50, seed: 0, pairs: defaultPairs(['bstar', 'star']), iterationMonitors: MONITORS });
  const [, rows] = finalTable(summary);
  for (const row of rows) assert.ok(html.includes(`<tr>${row.map((c) => `<td>${c.replace(/&/g, '&amp;')}</td>`).join('')}</tr>`), `row ${row.join(' | ')} on the page`);
  assert.match(html, /bootstrap CI over seeds and queries: seeds resampled, then queries within each seed; 50 resamples/);
  // methods with two seeds each: one line per method, with a band
  const fig = figureOf(html, 'pass1')!;
  assert.match(fig, /mark-area role-mark/);
  assert.match(html, /two-level bootstrap CI over seeds and test queries/);
});

test('report: the iteration in progress draws its step records from progress.json', async () => {
  const steps = stepLines();
  const dir = withSteps('steps-progress', steps);
  // iteration 2 is in progress: its lines leave metrics.jsonl, its search record and steps go to progress.json
  rmSync(path.join(dir, 'summary.json'));
  const mf = path.join(dir, 'metrics.jsonl');
  const lines = readFileSync(mf, 'utf8').split('\n').filter((l) => l);
  writeFileSync(mf, lines.filter((l) => JSON.parse(l).iteration !== 2).join('\n') + '\n');
  const search2 = recordsOf(runA).find((r) => r.iteration === 2 && r.phase === 'search')!;
  const steps2 = steps.filter((r) => r.iteration === 2);
  writeFileSync(path.join(dir, 'progress.json'), JSON.stringify({ v: 1, iteration: 2, phase: 'train', records: [search2], steps: steps2 }));
  writeFileSync(path.join(dir, STATUS_FILE), JSON.stringify({ state: 'running', pid: process.pid, host: hostname(), updated: new Date().toISOString() }));
  const html = await buildReport([dir]);
  assert.equal(symbolCount(figureOf(html, 'step-loss')!), steps.length);
  assert.match(html, /11 step records, the last global step 11 \(iteration 2\)/);
  // a progress.json whose steps are not step records is refused with a note
  writeFileSync(path.join(dir, 'progress.json'), JSON.stringify({ v: 1, iteration: 2, phase: 'train', records: [search2], steps: [{ kind: 'step' }] }));
  assert.match(await buildReport([dir]), /progress\.json: expected \{iteration, phase, records: .*steps\?/);
});
