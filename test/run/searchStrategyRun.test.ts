// search.strategy in a run: the halving search samples a subset of exactly the samples the full grid
// draws at the same iteration (so it can be replayed on a grid run's dev-samples.jsonl), within budget.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TINY_OVERRIDES } from './tiny.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-strategy-'));
after(() => rmSync(root, { recursive: true, force: true }));
const sets = [...TINY_OVERRIDES, 'method=bstar', 'iterations=1', 'search.temperatures=[0.6, 0.9, 1.2]', 'search.devSize=10', 'search.thresholds=[-0.5, 0.5]'];

function run(name: string, extra: string[]) {
  const r = spawnSync(process.execPath, [cli, 'run', '--runs-dir', root, '--name', name, ...[...sets, ...extra].flatMap((s) => ['--set', s])], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const it = path.join(root, name, 'iterations', '1');
  return {
    search: JSON.parse(readFileSync(path.join(it, 'search.json'), 'utf8')),
    dev: readFileSync(path.join(it, 'dev-samples.jsonl'), 'utf8').split('\n').filter((l) => l),
  };
}

test('halving draws a subset of the grid run\'s dev samples, bit for bit, within search.budget', () => {
  const grid = run('grid', []);
  const half = run('halving', ['search.strategy=halving', 'search.budget=0.5']);
  assert.equal(grid.search.strategy, 'grid');
  assert.equal(grid.search.queriesSampled, 30);
  assert.equal(half.search.strategy, 'halving');
  // 3 T, 10 queries, 50 %: 2 rounds of 7.5 → +2 for 3 T, +3 for 2 T = 6 + 6 = 12 query samplings
  assert.deepEqual(half.search.rounds.map((r: { temperatures: number[]; queries: number }) => [r.temperatures.length, r.queries]), [[3, 2], [2, 5]]);
  assert.equal(half.search.queriesSampled, 12);
  const all = new Set(grid.dev);
  assert.equal(half.dev.length, 12 * 3); // K_dev = samplesPerQuery = 3
  for (const line of half.dev) assert.ok(all.has(line), `not in the grid run: ${line.slice(0, 120)}`);
  assert.deepEqual(half.search.devIds, grid.search.devIds);
  // experiments/search-replay.mjs on the grid run makes the live halving run's choice at the same cost
  const script = path.join(path.dirname(cli), '../../../experiments/search-replay.mjs');
  const out = path.join(root, 'replay.json');
  const r = spawnSync(process.execPath, [script, '--strategy', 'halving', '--budget', '0.5', '--out', out, path.join(root, 'grid')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const rep = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(rep.rows.length, 1);
  assert.deepEqual([rep.rows[0].chosen.temperature, rep.rows[0].chosen.threshold], [half.search.temperature, half.search.threshold]);
  assert.deepEqual([rep.rows[0].grid.temperature, rep.rows[0].grid.threshold], [grid.search.temperature, grid.search.threshold]);
  assert.equal(rep.rows[0].queriesSampled, 12);
  assert.ok(rep.summary.searchShareOfSelfTrainingSampling > 0 && rep.summary.searchShareOfSelfTrainingSampling < 1);
  assert.match(r.stdout, /same \(T, τ\) as the grid: /);
});
