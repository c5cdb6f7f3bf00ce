// The report's plots: Vega-Lite specs compiled and rendered to SVG strings in Node (no canvas, no
// browser, no network), inlined into the page. Each function takes plain rows and returns a spec;
// renderSvg turns any spec into an SVG element with ids made unique per plot.
import type { TopLevelSpec } from 'vega-lite';

import type { SeriesPoint } from '../run/experimentReport.js';

export type { SeriesPoint };

const WIDTH = 330;
const HEIGHT = 190;
const BASE_CONFIG = {
  font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', direction: 'horizontal', labelLimit: 260 },
  title: { fontSize: 13, anchor: 'start' },
} as const;

/** Lines with points per series over iterations; bands where lo/hi are given. */
export function lineSpec(title: string, yTitle: string, rows: readonly SeriesPoint[], opts: { yDomain?: [number, number]; xTitle?: string } = {}): TopLevelSpec {
  const data = rows.filter((r) => r.y !== null && Number.isFinite(r.y));
  const bands = data.filter((r) => r.lo !== undefined && r.lo !== null && r.hi !== undefined && r.hi !== null);
  const x = { field: 'x', type: 'quantitative', title: opts.xTitle ?? 'iteration', axis: { tickMinStep: 1, format: 'd' } } as const;
  const y = { field: 'y', type: 'quantitative', title: yTitle, scale: opts.yDomain ? { domain: opts.yDomain } : { zero: false }, axis: { format: ',.4~g' } } as const;
  const single = new Set(data.map((r) => r.series)).size <= 1;
  const color = { field: 'series', type: 'nominal', title: null, ...(single ? { legend: null } : {}) } as const;
  // the line layer first: the legend takes its symbols from it (the band drawn over it is faint)
  const layers: object[] = [{ data: { values: data }, mark: { type: 'line', point: { size: 36 } }, encoding: { x, y, color, tooltip: [{ field: 'series' }, { field: 'x', title: 'iteration' }, { field: 'y', format: '.3f' }] } }];
  if (bands.length) {
    layers.push({ data: { values: bands }, mark: { type: 'area', opacity: 0.15 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } });
  }
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, width: WIDTH, height: HEIGHT, config: BASE_CONFIG, layer: layers } as unknown as TopLevelSpec;
}

export interface StepPoint {
  /** Global optimizer step. */
  x: number;
  y: number | null;
  /** The training phase (sft, train, prm): one line each. */
  series: string;
}

/** Where an iteration's steps begin: a vertical rule before its first global step, labelled. */
export interface Boundary {
  x: number;
  label: string;
}

/** A per-step training curve: one line per phase over global optimizer steps, iteration boundaries as rules. */
export function stepSpec(title: string, yTitle: string, rows: readonly StepPoint[], boundaries: readonly Boundary[], opts: { log?: boolean } = {}): TopLevelSpec {
  const data = rows.filter((r) => r.y !== null && Number.isFinite(r.y) && (!opts.log || (r.y as number) > 0));
  const x = { field: 'x', type: 'quantitative', title: 'optimizer step (global)', axis: { tickMinStep: 1, format: 'd' } } as const;
  const y = { field: 'y', type: 'quantitative', title: yTitle, scale: opts.log ? { type: 'log' } : { zero: false }, axis: { format: ',.3~g' } } as const;
  const single = new Set(data.map((r) => r.series)).size <= 1;
  const color = { field: 'series', type: 'nominal', title: null, ...(single ? { legend: null } : {}) } as const;
  const layers: object[] = [
    { data: { values: data }, mark: { type: 'line', point: data.length <= 60 ? { size: 16 } : false, strokeWidth: 1.5 }, encoding: { x, y, color, tooltip: [{ field: 'series', title: 'phase' }, { field: 'x', title: 'step' }, { field: 'y', format: '.4~g' }] } },
  ];
  if (boundaries.length) {
    const bx = { field: 'x', type: 'quantitative' } as const;
    layers.push({ data: { values: boundaries }, mark: { type: 'rule', color: '#9aa3b2', strokeDash: [4, 3] }, encoding: { x: bx } });
    layers.push({ data: { values: boundaries }, mark: { type: 'text', align: 'left', baseline: 'top', dx: 2, y: 2, fontSize: 9, color: '#5b6475' }, encoding: { x: bx, text: { field: 'label' } } });
  }
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, width: WIDTH, height: HEIGHT, config: BASE_CONFIG, layer: layers } as unknown as TopLevelSpec;
}

export interface HeatCell {
  temperature: number;
  threshold: number;
  value: number;
  chosen: boolean;
}

/** The (T, τ) grid of the B-STaR search coloured by mean query effect; the chosen cell outlined. */
export function heatmapSpec(title: string, cells: readonly HeatCell[]): TopLevelSpec {
  const nT = new Set(cells.map((c) => c.threshold)).size;
  const labels = nT <= 12;
  const enc = {
    x: { field: 'threshold', type: 'ordinal', title: 'τ (threshold)', sort: 'ascending', axis: { labelAngle: 0, labelOverlap: true } },
    y: { field: 'temperature', type: 'ordinal', title: 'T', sort: 'descending' },
  };
  const layers: object[] = [
    { mark: { type: 'rect' }, encoding: { ...enc, color: { field: 'value', type: 'quantitative', title: 'query effect', scale: { scheme: 'viridis' } }, tooltip: [{ field: 'temperature', title: 'T' }, { field: 'threshold', title: 'τ' }, { field: 'value', title: 'query effect', format: '.4f' }] } },
    { transform: [{ filter: 'datum.chosen' }], mark: { type: 'rect', fill: null, stroke: '#e4572e', strokeWidth: 3 }, encoding: enc },
  ];
  if (labels) layers.push({ mark: { type: 'text', fontSize: 9 }, encoding: { ...enc, text: { field: 'value', format: '.2f' }, color: { condition: { test: 'datum.dark', value: '#fff' }, value: '#222' } } });
  // viridis is dark at the low end: white labels on the lower half of the value range
  const vs = cells.map((c) => c.value);
  const mid = (Math.min(...vs) + Math.max(...vs)) / 2;
  const values = cells.map((c) => ({ ...c, dark: c.value < mid || Math.min(...vs) === Math.max(...vs) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: Math.max(160, Math.min(WIDTH, nT * 28)),
    height: Math.max(60, new Set(cells.map((c) => c.temperature)).size * 22),
    config: { ...BASE_CONFIG, legend: { ...BASE_CONFIG.legend, orient: 'right', direction: 'vertical' } },
    data: { values },
    layer: layers,
  } as unknown as TopLevelSpec;
}

export interface BarRow {
  x: number;
  y: number | null;
  series: string;
}

/** Bars per iteration, grouped (side by side) or stacked by series. */
export function barSpec(title: string, yTitle: string, rows: readonly BarRow[], stacked: boolean): TopLevelSpec {
  const data = rows.filter((r) => r.y !== null && Number.isFinite(r.y));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    config: BASE_CONFIG,
    data: { values: data },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'x', type: 'ordinal', title: 'iteration', axis: { labelAngle: 0 } },
      y: { field: 'y', type: 'quantitative', title: yTitle, stack: stacked ? 'zero' : null },
      ...(stacked ? {} : { xOffset: { field: 'series' } }),
      color: { field: 'series', type: 'nominal', title: null },
      tooltip: [{ field: 'series' }, { field: 'x', title: 'iteration' }, { field: 'y', format: ',.3~f' }],
    },
  } as unknown as TopLevelSpec;
}

let plotCounter = 0;

/** Renders a Vega-Lite spec to an SVG string (ids prefixed so that several SVGs share one page). */
export async function renderSvg(spec: TopLevelSpec, label: string): Promise<string> {
  // loaded on first use: every `bstar` command imports this module, few draw plots
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  let svg = await view.toSVG();
  view.finalize();
  const prefix = `p${++plotCounter}-`;
  svg = svg.replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}${id}"`).replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}${id})`);
  // an accessible name, and no XML prolog inside HTML
  return svg.replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(label)}" `);
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
