#!/usr/bin/env node
// The B-STaR search's query-effect tables (the search records of metrics.jsonl) of every run of one
// label in an experiment dir, averaged over seeds per iteration: one SVG heatmap per iteration with the
// cell chosen most often outlined, and a JSON/markdown summary of the choices.
//
//   node experiments/search-heatmaps.mjs EXPERIMENT_DIR [--label bstar] [--out DIR]
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { heatmapSpec, renderSvg } = await import(path.join(root, 'dist/src/report/plots.js'));
const { parseMetricsJsonl } = await import(path.join(root, 'dist/src/run/records.js'));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const label = opt('--label', 'bstar');
const dir = args[0];
const out = opt('--out', dir);
if (!dir || !existsSync(dir)) {
  console.error('usage: node experiments/search-heatmaps.mjs EXPERIMENT_DIR [--label bstar] [--out DIR]');
  process.exit(2);
}
const runs = readdirSync(dir).filter((d) => new RegExp(`^${label}-s\\d+$`).test(d) && existsSync(path.join(dir, d, 'metrics.jsonl'))).sort();
const byIt = new Map(); // iteration → [{seed, table, T, tau}]
for (const r of runs) {
  const mf = path.join(dir, r, 'metrics.jsonl');
  for (const rec of parseMetricsJsonl(readFileSync(mf, 'utf8'), mf)) {
    if (rec.phase !== 'search' || !rec.searchTable) continue;
    if (!byIt.has(rec.iteration)) byIt.set(rec.iteration, []);
    byIt.get(rec.iteration).push({ seed: rec.seed, table: rec.searchTable, T: rec.metrics['search/temperature'], tau: rec.metrics['search/threshold'] });
  }
}
mkdirSync(out, { recursive: true });
const summary = [];
for (const [it, xs] of [...byIt].sort((a, b) => a[0] - b[0])) {
  const cells = new Map();
  for (const x of xs) for (const c of x.table) {
    const k = `${c.temperature}|${c.threshold}`;
    const cur = cells.get(k) ?? { temperature: c.temperature, threshold: c.threshold, sum: 0, n: 0 };
    cur.sum += c.meanQueryEffect;
    cur.n += 1;
    cells.set(k, cur);
  }
  const counts = new Map();
  for (const x of xs) counts.set(`${x.T}|${x.tau}`, (counts.get(`${x.T}|${x.tau}`) ?? 0) + 1);
  const modal = [...counts].sort((a, b) => b[1] - a[1] || Number(a[0].split('|')[0]) - Number(b[0].split('|')[0]) || Number(b[0].split('|')[1]) - Number(a[0].split('|')[1]))[0][0];
  const heat = [...cells.values()].map((c) => ({ temperature: c.temperature, threshold: c.threshold, value: c.sum / c.n, chosen: `${c.temperature}|${c.threshold}` === modal }));
  const svg = await renderSvg(heatmapSpec(`Iteration ${it}: mean query effect over ${xs.length} seeds (outlined: chosen most often)`, heat), `heat-${it}`);
  writeFileSync(path.join(out, `heatmap-${label}-iter${it}.svg`), (/\bxmlns=/.test(svg.slice(0, 300)) ? svg : svg.replace(/^<svg /, '<svg xmlns="http://www.w3.org/2000/svg" ')) + '\n');
  summary.push({ iteration: it, seeds: xs.map((x) => x.seed), chosen: xs.map((x) => ({ seed: x.seed, temperature: x.T, threshold: x.tau })), modal: { temperature: Number(modal.split('|')[0]), threshold: Number(modal.split('|')[1]), count: counts.get(modal) } });
  console.log(`iteration ${it}: chosen (T, τ) per seed ${xs.map((x) => `${x.T}/${x.tau}`).join(', ')}; modal ${modal.replace('|', '/')} (${counts.get(modal)} of ${xs.length})`);
}
writeFileSync(path.join(out, `search-choices-${label}.json`), JSON.stringify(summary, null, 1) + '\n');
