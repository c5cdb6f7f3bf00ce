#!/usr/bin/env node
// Replays a cheaper B-STaR search (search.strategy, src/methods/searchStrategy.ts) on the full-grid
// searches logged by real B-STaR runs, and says how often it makes the grid's choice (or one whose
// query effect is inside the grid's CI) and what it costs; also what the search costs against the rest
// of each iteration's sampling (from metrics.jsonl timings).
//
//   node experiments/search-replay.mjs [--strategy halving] [--budget 0.4] [--out FILE.json] RUN_OR_EXPERIMENT_DIR…
//
// Every run dir under the given dirs whose iterations/<i>/search.json comes from the grid is replayed.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const imp = (p) => import(path.join(root, 'dist/src', p));
const { loadConfig } = await imp('run/configLoad.js');
const { gridOf, selectionOptions } = await imp('run/config.js');
const { getTask, taskNames } = await imp('tasks/index.js');
const { devSubset } = await imp('methods/queries.js');
const { replaySearch } = await imp('methods/searchReplay.js');
const { parseMetricsJsonl } = await imp('run/records.js');
const { readJsonlLines } = await imp('util/jsonl.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const strategy = opt('--strategy', 'halving');
const budget = Number(opt('--budget', '0.4'));
const out = opt('--out', null);
if (args.length === 0) {
  console.error('usage: node experiments/search-replay.mjs [--strategy halving] [--budget 0.4] [--out FILE.json] RUN_OR_EXPERIMENT_DIR…');
  process.exit(2);
}

const runDirs = [];
for (const a of args) {
  if (!existsSync(a)) {
    console.error(`search-replay: ${a}: no such directory`);
    process.exit(2);
  }
  if (existsSync(path.join(a, 'config.yaml'))) runDirs.push(a);
  else for (const d of readdirSync(a).sort()) if (existsSync(path.join(a, d, 'config.yaml'))) runDirs.push(path.join(a, d));
}

// the project's readers: metrics.jsonl's iteration records (not its step records), the samples file's rows
const readJsonl = (f) => readJsonlLines(f).rows.map((r) => r.value);
const rows = [];
for (const dir of runDirs) {
  const c = loadConfig({ file: path.join(dir, 'config.yaml'), taskNames: taskNames() });
  const itDir = path.join(dir, 'iterations');
  if (!existsSync(itDir)) continue;
  const its = readdirSync(itDir).map(Number).filter((i) => existsSync(path.join(itDir, String(i), 'search.json'))).sort((a, b) => a - b);
  if (its.length === 0) continue;
  const task = getTask(c.task.name);
  let trainIds = null;
  const mf = path.join(dir, 'metrics.jsonl');
  const metrics = parseMetricsJsonl(readFileSync(mf, 'utf8'), mf);
  for (const i of its) {
    const search = JSON.parse(readFileSync(path.join(itDir, String(i), 'search.json'), 'utf8'));
    if (search.strategy && search.strategy !== 'grid') continue;
    let devIds = search.devIds;
    if (!devIds) {
      trainIds ??= (await task.load('train', { ...c.task.options, ...(c.task.trainSize !== null ? { limit: c.task.trainSize } : {}) })).map((q) => q.id);
      devIds = devSubset(trainIds, c.search.devSize, c.seed);
    }
    const dev = readJsonl(path.join(itDir, String(i), 'dev-samples.jsonl'));
    const so = { ...selectionOptions(c, 'dev'), equations: c.selection.uniqueBy === 'equations' ? task.equations?.bind(task) : undefined };
    if (c.selection.injectGold) throw new Error(`${dir}: selection.injectGold runs are not replayed (the gold map is not logged)`);
    const r = await replaySearch(strategy, devIds, gridOf(c.search.temperatures), dev, so, { budget, level: 0.9, resamples: 2000, seed: c.seed });
    if (r.grid.temperature !== search.temperature || r.grid.threshold !== search.threshold) throw new Error(`${dir} iteration ${i}: the replayed grid chose T ${r.grid.temperature} τ ${r.grid.threshold}, the run T ${search.temperature} τ ${search.threshold}`);
    const tok = (phase) => metrics.filter((m) => m.iteration === i && m.phase === phase).reduce((a, m) => a + m.timing.tokens, 0);
    const ms = (phase) => metrics.filter((m) => m.iteration === i && m.phase === phase).reduce((a, m) => a + m.timing.ms, 0);
    rows.push({ run: path.basename(dir), iteration: i, ...r, phases: { search: { tokens: tok('search'), ms: ms('search') }, sample: { tokens: tok('sample'), ms: ms('sample') }, train: { ms: ms('train') }, eval: { tokens: tok('eval'), ms: ms('eval') } } });
  }
}
if (rows.length === 0) {
  console.error('search-replay: no grid searches found under ' + args.join(', '));
  process.exit(1);
}

const f = (x, d = 3) => x.toFixed(d);
const pct = (x) => `${(100 * x).toFixed(1)} %`;
console.log(`strategy ${strategy}, budget ${budget}: ${rows.length} logged grid searches`);
console.log('run\titer\tgrid T,τ (qe [90 % CI])\tchosen T,τ (grid qe)\tsame\twithin CI\tpaired gap [CI]\tsamplings\ttokens\tcells in CI\tsubset grid T,τ (same, in CI)');
for (const r of rows) {
  console.log(`${r.run}\t${r.iteration}\t${r.grid.temperature},${r.grid.threshold} (${f(r.grid.meanQueryEffect)} [${f(r.grid.lo)}, ${f(r.grid.hi)}])\t${r.chosen.temperature},${r.chosen.threshold} (${f(r.chosen.gridQueryEffect)})\t${r.same ? 'yes' : 'no'}\t${r.withinCI ? 'yes' : 'no'}\t${f(r.gap.mean)} [${f(r.gap.lo)}, ${f(r.gap.hi)}]\t${r.queriesSampled}/${r.gridQueries}\t${r.tokens}/${r.gridTokens}\t${pct(r.cellsWithinCI)}\t${r.subset.temperature},${r.subset.threshold} (${r.subset.same ? 'yes' : 'no'}, ${r.subset.withinCI ? 'yes' : 'no'})`);
}
const n = rows.length;
const sum = (k) => rows.reduce((a, r) => a + k(r), 0);
const summary = {
  strategy,
  budget,
  searches: n,
  same: sum((r) => +r.same) / n,
  withinCI: sum((r) => +(r.same || r.withinCI)) / n,
  pairedWithin: sum((r) => +r.pairedWithin) / n,
  samplingRatio: sum((r) => r.queriesSampled) / sum((r) => r.gridQueries),
  tokenRatio: sum((r) => r.tokens) / sum((r) => r.gridTokens),
  // yardsticks: what a random (T, τ) scores on withinCI, and the grid on a dev subset of equal cost
  cellsWithinCI: sum((r) => r.cellsWithinCI) / n,
  subsetSame: sum((r) => +r.subset.same) / n,
  subsetWithinCI: sum((r) => +(r.subset.same || r.subset.withinCI)) / n,
  // the grid search against the iteration's other sampling (tokens generated)
  searchShareOfSelfTrainingSampling: sum((r) => r.phases.search.tokens) / sum((r) => r.phases.search.tokens + r.phases.sample.tokens),
  searchShareOfAllSampling: sum((r) => r.phases.search.tokens) / sum((r) => r.phases.search.tokens + r.phases.sample.tokens + r.phases.eval.tokens),
  searchShareOfIterationTime: sum((r) => r.phases.search.ms) / sum((r) => r.phases.search.ms + r.phases.sample.ms + r.phases.train.ms + r.phases.eval.ms),
};
console.log('');
console.log(`same (T, τ) as the grid: ${pct(summary.same)}; same or inside the grid best's CI: ${pct(summary.withinCI)}; paired gap CI contains 0: ${pct(summary.pairedWithin)}`);
console.log(`yardsticks: a random (T, τ) is inside the CI ${pct(summary.cellsWithinCI)} of the time; the grid on ${rows[0].subset.queries} dev queries (the same cost) picks the same (T, τ) ${pct(summary.subsetSame)}, the same or inside the CI ${pct(summary.subsetWithinCI)}`);
console.log(`cost: ${pct(summary.samplingRatio)} of the grid's query samplings, ${pct(summary.tokenRatio)} of its generated tokens`);
console.log(`the full grid search: ${pct(summary.searchShareOfSelfTrainingSampling)} of the tokens sampled for search + pool, ${pct(summary.searchShareOfAllSampling)} with the evaluation's too; ${pct(summary.searchShareOfIterationTime)} of the iteration's time (search + sample + train + eval)`);
if (out) writeFileSync(out, JSON.stringify({ summary, rows }, null, 1) + '\n');
