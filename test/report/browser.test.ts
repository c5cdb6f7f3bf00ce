// The report as a user sees it: a tiny real run's report.html opened from disk in headless Chromium
// (Debian `chromium`, driven by playwright-core; no browser download). Every plot has drawn data
// marks, the sample browser works, there are no console errors and no request other than the file
// itself; a run in progress reloads itself. A screenshot is saved under the run dir.
// Skipped (with the reason) only when /usr/bin/chromium is absent; .ci/run installs it.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeRunReport } from '../../src/report/report.js';
import type { StepRecord } from '../../src/run/records.js';
import type { Sample } from '../../src/util/sample.js';
import { hostname } from 'node:os';
import { spawnSync } from 'node:child_process';
import { startRun } from '../../src/run/run.js';
import { refreshReport } from '../../src/report/live.js';
import { tinyConfig } from '../run/tiny.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run the browser test`;

const root = mkdtempSync(path.join(tmpdir(), 'bstar-report-browser-'));
let browser: Browser | null = null;
after(async () => {
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Opens a file in a fresh page, recording console errors, page errors and every request URL. */
async function open(file: string, before?: (p: Page) => Promise<void>) {
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  if (before) await before(page);
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests, url };
}

test('report.html of a tiny real run in headless Chromium: every plot drawn, sample browser, no errors, no network', { skip, timeout: 60_000 }, async () => {
  const dir = path.join(root, 'run');
  await startRun(tinyConfig(['method=bstar', 'iterations=2', 'reward.prm.enabled=true', 'reward.prm.scorer=equations']), dir, { log: () => {}, report: refreshReport });
  const file = path.join(dir, 'report.html');
  const { page, errors, requests, url } = await open(file);

  const plots = await page.$$eval('figure[data-plot]', (figs) =>
    figs.map((f) => {
      const svg = f.querySelector('svg');
      const marks = svg ? [...svg.querySelectorAll('g[class*="role-mark"] > *')] : [];
      const drawn = marks.filter((m) => {
        const b = (m as SVGGraphicsElement).getBBox();
        return b.width > 0 || b.height > 0;
      });
      const box = svg?.getBoundingClientRect();
      return { id: f.getAttribute('data-plot'), marks: marks.length, drawn: drawn.length, w: box?.width ?? 0, h: box?.height ?? 0 };
    }),
  );
  const ids = plots.map((p) => p.id);
  // the step curves: the training loop's per-step records (kind "step") in metrics.jsonl
  assert.ok(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').includes('"kind":"step"'), 'the run wrote step records');
  const stepPlots = ['step-loss', 'step-lr', 'step-grad-norm'];
  for (const want of ['pass1', 'passk', 'passks', 'distinct', 'bestofk', 'rewardks', ...stepPlots, 'config', 'heatmap-1', 'heatmap-2', 'counts', 'time', 'throughput']) assert.ok(ids.includes(want), `plot ${want} in ${ids.join(', ')}`);
  for (const p of plots) {
    assert.ok(p.drawn > 0, `plot ${p.id}: ${p.marks} data marks, ${p.drawn} with a visible extent`);
    assert.ok(p.w > 100 && p.h > 50, `plot ${p.id} laid out at ${p.w}×${p.h}`);
  }
  assert.equal(await page.locator('figure.empty').count(), 0, 'no empty plot placeholders for a finished bstar run');

  // sample browser: the last iteration is shown; switching iteration shows that iteration's pool
  const cards = await page.locator('#sb-list .sample').count();
  assert.ok(cards > 0, 'samples shown');
  const iters = await page.$$eval('#sb-iter option', (os) => os.map((o) => o.textContent));
  assert.deepEqual(iters, ['0 (eval)', '1', '2']);
  await page.selectOption('#sb-iter', '1');
  // the query shown first: the first (in pool order) with a sample in selected.jsonl, else with a correct one
  const read = (f: string) => readFileSync(path.join(dir, 'iterations/1', f), 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l) as { queryId: string; reward: number; temperature: number; correct: boolean; prmSteps?: number[] });
  const pool = read('samples.jsonl');
  const chosen = new Set(read('selected.jsonl').map((x) => x.queryId));
  const order = [...new Set(pool.map((x) => x.queryId))];
  const want = order.find((q) => chosen.has(q)) ?? order.find((q) => pool.some((x) => x.queryId === q && x.correct)) ?? order[0];
  const shown = await page.$eval('#sb-query', (e) => (e as HTMLSelectElement).selectedOptions[0].textContent ?? '');
  assert.equal(shown.split(' ')[0], want);
  const first = pool.find((x) => x.queryId === want)!;
  const firstMeta = await page.locator('#sb-list .sample .meta').first().textContent();
  assert.match(firstMeta ?? '', new RegExp(`reward ${first.reward.toFixed(3)}.*T ${first.temperature}`));
  assert.equal(await page.locator('#sb-list .sample').count(), pool.filter((x) => x.queryId === want).length);
  // the process reward's step scores: one chip per step on every card
  const chips = await page.$$eval('#sb-list .sample', (cs) => cs.map((c) => c.querySelectorAll('.step').length));
  assert.deepEqual(chips, pool.filter((x) => x.queryId === want).map((x) => x.prmSteps?.length ?? 0));
  assert.ok(chips.every((n) => n > 0), 'the equation-check PRM scored every sample');

  await page.screenshot({ path: path.join(dir, 'report.png'), fullPage: true });
  assert.ok(statSync(path.join(dir, 'report.png')).size > 10_000, 'screenshot saved under the run dir');
  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((r) => r !== url && !r.startsWith('data:')), [], 'no network requests');
  await page.close();
});

test('sample browser: the steps of a solution are coloured by their PRM score', { skip, timeout: 60_000 }, async () => {
  const dir = path.join(root, 'steps');
  cpSync(path.join(root, 'run'), dir, { recursive: true });
  const sample = { queryId: 'q-made-up', iteration: 2, temperature: 0.8, text: 'Ann has <<3+4=7>>7 pens, then <<7*2=15>>15.\n#### 15', tokens: 30, logprob: -3, answer: '15', correct: false, prmSteps: [1, 0, 0.5], reward: -1 };
  writeFileSync(path.join(dir, 'iterations/2/samples.jsonl'), JSON.stringify(sample) + '\n');
  writeFileSync(path.join(dir, 'iterations/2/selected.jsonl'), '');
  const { page, errors } = await open(await writeRunReport(dir));
  assert.equal(await page.inputValue('#sb-iter'), '2');
  const marks = await page.$$eval('#sb-list .stepmark', (ms) => ms.map((m) => [m.textContent, getComputedStyle(m).backgroundColor]));
  // hsl(120·p, 70%, 82%): chroma (1 − |2·0.82 − 1|)·0.7 = 0.252, so the channels are 0.82 ± 0.126 → 177 and 241 (of 255)
  assert.deepEqual(marks, [['<<3+4=7>>', 'rgb(177, 241, 177)'], ['<<7*2=15>>', 'rgb(241, 177, 177)'], ['#### 15', 'rgb(241, 241, 177)']]);
  assert.equal(await page.locator('#sb-list .sample .badge.sel').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a run in progress: the page reloads itself, keeps the chosen iteration, and stops on request', { skip, timeout: 60_000 }, async () => {
  const src = path.join(root, 'run');
  const dir = path.join(root, 'live');
  cpSync(src, dir, { recursive: true });
  rmSync(path.join(dir, 'summary.json'));
  const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n');
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.slice(0, lines.findIndex((l) => l.includes('"iteration":2'))).join('\n') + '\n');
  // its process (this one) is alive: the run is going
  writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 'running', pid: process.pid, host: hostname(), updated: new Date().toISOString() }));
  const file = await writeRunReport(dir);
  let loads = 0;
  const { page, errors } = await open(file, async (p) => {
    await p.clock.install();
    p.on('load', () => loads++);
  });
  assert.match((await page.locator('#live').textContent()) ?? '', /Run in progress/);
  await page.selectOption('#sb-iter', '0');
  await page.clock.runFor(11_000);
  await page.waitForFunction(() => document.readyState === 'complete');
  await page.waitForTimeout(200);
  assert.ok(loads >= 2, `reloaded (${loads} loads)`);
  assert.equal(await page.inputValue('#sb-iter'), '0', 'the chosen iteration survives the reload');
  await page.click('#stop-refresh');
  await page.waitForLoadState('load');
  const before = loads;
  await page.clock.runFor(30_000);
  await page.waitForTimeout(200);
  assert.equal(loads, before, 'no reload after "stop reloading"');
  assert.match((await page.locator('#stop-refresh').textContent()) ?? '', /stopped/);
  assert.deepEqual(errors, []);
  await page.close();
});

/** The drawn data marks of each plot: [id, marks with a visible extent] per mark role (line, symbol, rule, …). */
async function drawnMarks(page: Page): Promise<Record<string, Record<string, number>>> {
  return page.$$eval('figure[data-plot]', (figs) =>
    Object.fromEntries(
      figs.map((f) => {
        const out: Record<string, number> = {};
        for (const g of f.querySelectorAll('g[class*="role-mark"]')) {
          const kind = (g.getAttribute('class') ?? '').split(' ')[0].replace('mark-', '');
          const drawn = [...g.children].filter((m) => {
            const b = (m as SVGGraphicsElement).getBBox();
            return b.width > 0 || b.height > 0;
          }).length;
          out[kind] = (out[kind] ?? 0) + drawn;
        }
        return [f.getAttribute('data-plot') ?? '', out];
      }),
    ),
  );
}

test('step curves in Chromium: loss, LR and grad norm drawn per step, a rule at each iteration boundary', { skip, timeout: 60_000 }, async () => {
  const dir = path.join(root, 'steps');
  cpSync(path.join(root, 'run'), dir, { recursive: true });
  // synthetic per-step records (the training loop writes the same shape): SFT 4 steps, then 3 per iteration
  const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l && !l.includes('"kind":"step"'));
  let g = 0;
  const steps: StepRecord[] = [];
  for (const [iteration, phase, n] of [[0, 'sft', 4], [1, 'train', 3], [2, 'train', 3]] as const) {
    for (let k = 1; k <= n; k++) {
      g++;
      steps.push({ v: 1, kind: 'step', run: 'steps', method: 'bstar', seed: 0, iteration, phase, step: phase === 'sft' ? k : g - 4, globalStep: g, metrics: { 'step/loss': 4 / g, 'step/lr': 1e-3 * g, 'step/grad-norm': 1 + (g % 2), 'step/tokens-per-second': 900, 'step/padding': 0.3 } });
    }
  }
  const byIt = (i: number) => [...steps.filter((r) => r.iteration === i).map((r) => JSON.stringify(r)), ...lines.filter((l) => JSON.parse(l).iteration === i)];
  writeFileSync(path.join(dir, 'metrics.jsonl'), [...byIt(0), ...byIt(1), ...byIt(2)].join('\n') + '\n');
  const { page, errors } = await open(await writeRunReport(dir));
  const marks = await drawnMarks(page);
  for (const id of ['step-loss', 'step-lr', 'step-grad-norm']) {
    assert.ok(marks[id], `plot ${id} in ${Object.keys(marks).join(', ')}`);
    assert.equal(marks[id].symbol, steps.length, `${id}: one visible point per step`);
    assert.equal(marks[id].line, 2, `${id}: a line per phase (sft, train)`);
    assert.equal(marks[id].rule, 2, `${id}: rules where iterations 1 and 2 begin`);
  }
  // the step section sits right after the per-iteration monitors
  const order = await page.$$eval('main > section', (ss) => ss.map((x) => x.id));
  assert.equal(order[order.indexOf('monitors') + 1], 'steps');
  assert.deepEqual(errors, []);
  await page.close();
});

test('sample browser: identical duplicates are told apart by sample id; only the selected one is marked', { skip, timeout: 60_000 }, async () => {
  const dir = path.join(root, 'dups');
  cpSync(path.join(root, 'run'), dir, { recursive: true });
  const s = (j: number): Sample => ({ id: `sample/2/q-dup/${j}`, queryId: 'q-dup', iteration: 2, temperature: 1, text: '3 + 4 = 7\n#### 7', tokens: 12, logprob: -2, answer: '7', correct: true, reward: 1 });
  const pool = [0, 1, 2, 3, 4].map(s);
  writeFileSync(path.join(dir, 'iterations/2/samples.jsonl'), pool.map((x) => JSON.stringify(x)).join('\n') + '\n');
  writeFileSync(path.join(dir, 'iterations/2/selected.jsonl'), JSON.stringify(pool[3]) + '\n');
  const { page, errors } = await open(await writeRunReport(dir));
  await page.selectOption('#sb-iter', '2');
  assert.match(await page.$eval('#sb-query', (e) => (e as HTMLSelectElement).selectedOptions[0].textContent ?? ''), /^q-dup \(5 correct, 1 selected\)$/);
  assert.equal(await page.locator('#sb-list .sample').count(), 5);
  assert.equal(await page.locator('#sb-list .sample .badge.sel').count(), 1);
  const selectedIndex = await page.$$eval('#sb-list .sample', (cs) => cs.findIndex((c) => c.classList.contains('selected')));
  assert.equal(selectedIndex, 3);
  assert.equal(await page.locator('#sb-list .sample.selected .meta span').first().getAttribute('title'), 'sample sample/2/q-dup/3');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a run whose process was killed: the page says it stopped, and does not reload', { skip, timeout: 60_000 }, async () => {
  const dir = path.join(root, 'killed');
  cpSync(path.join(root, 'run'), dir, { recursive: true });
  rmSync(path.join(dir, 'summary.json'));
  const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n');
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.slice(0, lines.findIndex((l) => l.includes('"iteration":2'))).join('\n') + '\n');
  const pid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 'running', pid, host: hostname(), updated: new Date().toISOString() }));
  let loads = 0;
  const { page, errors } = await open(await writeRunReport(dir), async (p) => {
    await p.clock.install();
    p.on('load', () => loads++);
  });
  assert.equal(await page.locator('#live').count(), 0, 'no "Run in progress" line');
  assert.match((await page.locator('#stopped').textContent()) ?? '', /Stopped without finishing: its process \(pid \d+ .*\) is gone/);
  assert.ok(await page.locator('#stopped').isVisible());
  await page.clock.runFor(30_000);
  await page.waitForTimeout(200);
  assert.equal(loads, 1, 'the page does not reload');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a live page that has not been rewritten for longer than twice any phase took says the run has probably stopped', { skip, timeout: 60_000 }, async () => {
  const dir = path.join(root, 'stale');
  cpSync(path.join(root, 'run'), dir, { recursive: true });
  rmSync(path.join(dir, 'summary.json'));
  const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n');
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.slice(0, lines.findIndex((l) => l.includes('"iteration":2'))).join('\n') + '\n');
  rmSync(path.join(dir, 'status.json'), { force: true });
  const file = await writeRunReport(dir);
  const written = Number(/data-written="(\d+)"/.exec(readFileSync(file, 'utf8'))![1]);
  const after = Number(/data-stale-after="(\d+)"/.exec(readFileSync(file, 'utf8'))![1]);
  assert.equal(after, 10 * 60_000, 'the tiny run\'s phases are short: the 10 min floor');
  const { page: fresh } = await open(file);
  assert.equal(await fresh.locator('#stale').textContent(), '');
  await fresh.close();
  const { page, errors } = await open(file, async (p) => {
    await p.clock.install({ time: written + after + 60_000 });
  });
  assert.match((await page.locator('#stale').textContent()) ?? '', /Not rewritten for 11 min.*probably stopped/);
  assert.deepEqual(errors, []);
  await page.close();
});
