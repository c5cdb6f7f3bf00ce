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
import { deterministicPart, parseMetricsJsonl } from '../../src/run/records.js';
import { TINY_OVERRIDES } from '../run/tiny.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-exp-'));
after(() => rmSync(root, { recursive: true, force: true }));
const sets = [...TINY_OVERRIDES, 'iterations=2', 'selection.injectGold=true'];

function experiment(name: string, methods: string, seeds: number, extra: string[] = []) {
  // --parallel 2 in every call: threads = cores / parallel, and the shared-vs-unshared comparison needs equal threads
  return spawnSync(process.execPath, [cli, 'experiment', '--methods', methods, '--seeds', String(seeds), '--parallel', '2', '--runs-dir', root, '--name', name, ...extra, ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
}

/** What must be bit-identical between two runs: final weights, optimizer state, resume state, records (timing and run name aside). */
function finalState(dir: string) {
  const ck = path.join(dir, 'checkpoints', '2');
  return {
    weights: readFileSync(path.join(ck, 'model.safetensors')),
    optimizer: readFileSync(path.join(ck, 'training_state.safetensors')),
    state: readFileSync(path.join(ck, 'training_state.json'), 'utf8'),
    metrics: parseMetricsJsonl(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).map((r) => ({ ...deterministicPart(r), run: '' })),
    eval0: readFileSync(path.join(dir, 'iterations/0/eval.json'), 'utf8'),
    selected: readFileSync(path.join(dir, 'iterations/2/selected.jsonl'), 'utf8'),
  };
}

test('two methods × two seeds, two at a time: four run dirs and a comparison with CIs', () => {
  const r = experiment('e', 'online-rft,star', 2);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  for (const n of ['online-rft-s0', 'online-rft-s1', 'star-s0', 'star-s1']) assert.ok(existsSync(path.join(root, 'e', n, 'summary.json')), n);
  const txt = readFileSync(path.join(root, 'e', 'comparison.txt'), 'utf8');
  assert.match(txt, /online-rft\s+2 /);
  assert.match(txt, /star\s+2 /);
  // the same command again skips the finished runs
  const again = experiment('e', 'online-rft,star', 2);
  assert.equal(again.status, 0);
  assert.equal((again.stdout.match(/finished earlier; skipped/g) ?? []).length, 4);
});

test('--share-sft: SFT once per seed; online-rft and star end bit-identical to unshared runs; comparison files, plots, bstar compare', () => {
  const r = experiment('shared', 'online-rft,star,bstar', 1, ['--share-sft']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const d = path.join(root, 'shared');
  // iteration 0 ran once: only the first run of the seed has an SFT phase of its own
  assert.equal((r.stdout.match(/iter 0: SFT/g) ?? []).length, 1, r.stdout);
  assert.match(r.stdout, /\[star-s0\] iteration 0 copied from online-rft-s0/);
  assert.match(r.stdout, /\[bstar-s0\] iteration 0 copied from online-rft-s0/);
  for (const m of ['online-rft', 'star']) {
    const shared = finalState(path.join(d, `${m}-s0`));
    const alone = finalState(path.join(root, 'e', `${m}-s0`));
    assert.ok(shared.weights.equals(alone.weights), `${m}: final weights`);
    assert.ok(shared.optimizer.equals(alone.optimizer), `${m}: final optimizer state`);
    assert.equal(shared.state, alone.state, `${m}: resume state`);
    assert.deepEqual(shared.metrics, alone.metrics, `${m}: metrics records (iteration 0 included)`);
    assert.equal(shared.eval0, alone.eval0, `${m}: iteration-0 eval.json`);
    assert.equal(shared.selected, alone.selected, `${m}: iteration-2 selection`);
  }
  // the write-up: every number in comparison.json, markdown tables, one SVG per monitor
  const j = JSON.parse(readFileSync(path.join(d, 'comparison.json'), 'utf8'));
  assert.deepEqual(j.methods.map((m: { method: string }) => m.method), ['online-rft', 'star', 'bstar']);
  assert.deepEqual(j.methods[0].iterations.map((it: { iteration: number }) => it.iteration), [0, 1, 2]);
  // the shared iteration 0 is the same data for every method: equal numbers, equal CIs
  assert.deepEqual(j.methods[1].iterations[0].monitors, j.methods[0].iterations[0].monitors);
  assert.equal(j.level, 0.9);
  assert.deepEqual(j.paired.map((p: { a: string; b: string; monitor: string }) => `${p.a}-${p.b}:${p.monitor}`), ['bstar-online-rft:pass@1', 'bstar-online-rft:pass@k', 'bstar-online-rft:pass@k-s', 'bstar-online-rft:distinct-equations']);
  const txt = readFileSync(path.join(d, 'comparison.txt'), 'utf8');
  assert.match(txt, /bstar − online-rft, final pass@1: .*(differ beyond|within) the 90 % CI/);
  const md = readFileSync(path.join(d, 'comparison.md'), 'utf8');
  assert.match(md, /^\| method \| iter \| seeds \| Pass@1 \| Pass@2 \| Pass@2-1 \| distinct eqs \| T \| τ \|$/m);
  assert.match(md, /^\| bstar \| 2 \| 1 \| \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] \|/m);
  for (const p of ['pass1', 'passk', 'passks', 'temperature', 'threshold']) assert.match(readFileSync(path.join(d, `plot-${p}.svg`), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, p);
  // bstar compare takes the experiment dir for its runs
  const c = spawnSync(process.execPath, [cli, 'compare', d], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  for (const n of ['online-rft-s0', 'star-s0', 'bstar-s0']) assert.match(c.stdout, new RegExp(`^\\s*${n}\\s`, 'm'));
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
