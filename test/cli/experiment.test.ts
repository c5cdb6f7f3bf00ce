// `bstar experiment`: methods × seeds as ordinary run dirs, and a comparison table with CIs; --grid
// plans the fixed-(T, τ) ablation; bad input is refused before anything runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planExperiment } from '../../src/cli/experiment.js';
import { TINY_OVERRIDES } from '../run/tiny.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-exp-'));
after(() => rmSync(root, { recursive: true, force: true }));
const sets = [...TINY_OVERRIDES, 'iterations=1', 'selection.injectGold=true'];

test('two methods × two seeds, two at a time: four run dirs and a comparison with CIs', () => {
  const r = spawnSync(process.execPath, [cli, 'experiment', '--methods', 'online-rft,bstar', '--seeds', '2', '--parallel', '2', '--runs-dir', root, '--name', 'e', ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  for (const n of ['online-rft-s0', 'online-rft-s1', 'bstar-s0', 'bstar-s1']) assert.ok(existsSync(path.join(root, 'e', n, 'summary.json')), n);
  const txt = readFileSync(path.join(root, 'e', 'comparison.txt'), 'utf8');
  assert.match(txt, /online-rft\s+2 /);
  assert.match(txt, /bstar\s+2 /);
  // the same command again skips the finished runs
  const again = spawnSync(process.execPath, [cli, 'experiment', '--methods', 'online-rft,bstar', '--seeds', '2', '--runs-dir', root, '--name', 'e', ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  assert.equal(again.status, 0);
  assert.equal((again.stdout.match(/finished earlier; skipped/g) ?? []).length, 4);
});

test('--grid plans Online RFT at every fixed (T, τ) plus B-STaR, per seed', () => {
  const runs = planExperiment(undefined, { methods: 'bstar', seeds: '2', grid: true, set: [...sets], runsDir: root, parallel: '1' });
  assert.equal(runs.length, 2 * (2 * 2 + 1));
  assert.ok(runs.some((r) => r.name === 'fixed-T0.8-tau0.5-s1' && r.overrides.includes('sampling.temperature=0.8') && r.overrides.includes('selection.threshold=0.5') && r.overrides.includes('method=online-rft')));
});

test('bad experiment input: unknown method, zero seeds, empty grid', () => {
  assert.throws(() => planExperiment(undefined, { methods: 'sft,magic', seeds: '1', set: [], runsDir: root, parallel: '1' }), /unknown method "magic"/);
  assert.throws(() => planExperiment(undefined, { methods: 'sft', seeds: '0', set: [], runsDir: root, parallel: '1' }), /--seeds expects an integer ≥ 1/);
  assert.throws(() => planExperiment(undefined, { methods: 'sft', seeds: '1', grid: true, set: ['search.thresholds=[]'], runsDir: root, parallel: '1' }), /search\.thresholds\.values: expected a non-empty list/);
});
