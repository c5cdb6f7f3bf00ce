// sft.startEpoch / sft.epochCheckpoints: the SFT runs on ONE cosine schedule of sft.epochs epochs and
// self-training starts from the model after sft.startEpoch of them (paper App. A: SFT 3 epochs, start
// from epoch 1); a run that keeps earlier epochs holds each as sft-epochs/<e>/, bit-identical to the
// iteration 0 of a run that stopped there; `bstar experiment --sft-baseline --share-sft` gets the SFT
// baseline row and every run's start from one SFT per seed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planExperiment } from '../../src/cli/experiment.js';
import { deterministicPart, parseMetricsJsonl } from '../../src/run/records.js';
import { lrMultiplier } from '../../src/train/schedule.js';
import { TINY_OVERRIDES } from './tiny.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-sftep-'));
after(() => rmSync(root, { recursive: true, force: true }));
const base = [...TINY_OVERRIDES, 'iterations=1', 'sft.epochs=3', 'sft.warmupSteps=0'];

function bstar(argv: string[]) {
  return spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
}
function run(name: string, extra: string[], more: string[] = ['--stop-after', '0']) {
  const r = bstar(['run', '--runs-dir', root, '--name', name, ...[...base, ...extra].flatMap((s) => ['--set', s]), ...more]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  return path.join(root, name);
}
function zero(dir: string) {
  const ck = path.join(dir, 'checkpoints', '0');
  return {
    weights: readFileSync(path.join(ck, 'model.safetensors')),
    optimizer: readFileSync(path.join(ck, 'training_state.safetensors')),
    state: readFileSync(path.join(ck, 'training_state.json'), 'utf8'),
    eval: readFileSync(path.join(dir, 'iterations/0/eval.json'), 'utf8'),
    records: parseMetricsJsonl(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).map((r) => ({ ...deterministicPart(r), run: '' })),
  };
}

test('the SFT schedule spans sft.epochs; iteration 0 is the model after sft.startEpoch epochs, mid-schedule', () => {
  const d = run('start1', ['sft.startEpoch=1']);
  const sft = parseMetricsJsonl(readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')).find((r) => r.phase === 'sft')!;
  // 24 gold problems, batch 8: 3 steps per epoch; the schedule has 9, the phase trains 3
  assert.equal(sft.metrics['sft/steps'], 3);
  assert.equal(sft.metrics['sft/epochs'], 1);
  const spec = { schedule: 'cosine' as const, warmupSteps: 0, totalSteps: 9, minLrRatio: 0.1 }; // sft.minLr / sft.lr = 3e-4 / 3e-3
  assert.ok(Math.abs((sft.metrics['sft/lr-last'] as number) - 0.003 * lrMultiplier(spec, 2)) < 1e-9, `lr after epoch 1 of 3: ${sft.metrics['sft/lr-last']}`);
  // with startEpoch = epochs the schedule ends with the phase (the demo's 5 of 5: unchanged)
  const full = parseMetricsJsonl(readFileSync(path.join(run('start3', ['sft.startEpoch=3']), 'metrics.jsonl'), 'utf8')).find((r) => r.phase === 'sft')!;
  assert.equal(full.metrics['sft/steps'], 9);
  assert.ok(Math.abs((full.metrics['sft/lr-last'] as number) - 0.003 * lrMultiplier({ ...spec, totalSteps: 9 }, 8)) < 1e-9);
});

test('sft.epochCheckpoints: sft-epochs/<e>/ equals iteration 0 of a run stopped at epoch e, and leaves the SFT unchanged', () => {
  const kept = run('kept', ['sft.startEpoch=3', 'sft.epochCheckpoints=[1, 2]']);
  const plain = zero(path.join(root, 'start3'));
  const k = zero(kept);
  assert.ok(k.weights.equals(plain.weights), 'keeping epochs does not change the epoch-3 model');
  assert.ok(k.optimizer.equals(plain.optimizer));
  assert.equal(k.eval, plain.eval);
  const e1 = zero(path.join(kept, 'sft-epochs', '1'));
  const direct = zero(path.join(root, 'start1'));
  assert.ok(e1.weights.equals(direct.weights), 'epoch-1 weights');
  assert.ok(e1.optimizer.equals(direct.optimizer), 'epoch-1 optimizer state (same schedule, same step)');
  assert.equal(e1.state, direct.state, 'resume state {iteration 0, 2 metrics lines}');
  assert.equal(e1.eval, direct.eval, 'epoch-1 evaluation');
  assert.deepEqual(e1.records, direct.records, 'sft and eval records of a run stopped at epoch 1');
  assert.ok(existsSync(path.join(kept, 'sft-epochs', '2', 'checkpoints', '0', 'model.safetensors')));
  // a run seeded from it resumes like the direct run
  const cfg = readFileSync(path.join(kept, 'sft-epochs', '1', 'config.yaml'), 'utf8');
  assert.match(cfg, /startEpoch: 1\n/);
  assert.match(cfg, /epochCheckpoints: \[\]\n/);
});

test('iteration 0 reads none of ITERATION0_FREE_KEYS: a run differing in all of them has the same iteration 0', async () => {
  const { ITERATION0_FREE_KEYS } = await import('../../src/run/shareSft.js');
  const changed = ['method=bstar', 'iterations=4', 'queriesPerIteration=5', 'samplesPerQuery=2', 'targetSamples=7', 'sampling.temperature=0.3', 'selection.threshold=0.9', 'selection.uniqueBy=equations', 'search.devSize=3', 'search.thresholds=[1]', 'search.strategy=halving', 'train.lr=0.01', 'train.minLr=0.001', 'train.schedule=linear', 'train.warmupSteps=3', 'train.stepsPerIteration=5', 'eval.every=3'];
  // every free key (or its section) is varied here
  for (const k of ITERATION0_FREE_KEYS) if (k !== 'sft.epochCheckpoints' && k !== 'train.epochsPerIteration') assert.ok(changed.some((c) => c.startsWith(k)), k);
  const other = zero(run('free', ['sft.startEpoch=1', ...changed]));
  const direct = zero(path.join(root, 'start1'));
  assert.ok(other.weights.equals(direct.weights) && other.optimizer.equals(direct.optimizer));
  assert.equal(other.eval, direct.eval);
  assert.deepEqual(other.records.map((r) => ({ ...r, method: '' })), direct.records.map((r) => ({ ...r, method: '' })));
});

test('bad sft.epochCheckpoints are refused before anything is written', () => {
  const r = bstar(['run', '--runs-dir', root, '--name', 'bad', ...[...base, 'sft.startEpoch=2', 'sft.epochCheckpoints=[2]'].flatMap((s) => ['--set', s])]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /sft\.epochCheckpoints\.0: expected an epoch < sft\.startEpoch \(2\)/);
  assert.ok(!existsSync(path.join(root, 'bad')));
});

test('experiment --sft-baseline --share-sft: one SFT per seed gives the SFT baseline row and the self-training start', () => {
  const sets = [...base, 'sft.startEpoch=1', 'iterations=2', 'selection.injectGold=true'];
  const r = bstar(['experiment', '--methods', 'online-rft', '--sft-baseline', '--share-sft', '--seeds', '1', '--parallel', '2', '--runs-dir', root, '--name', 'x', ...sets.flatMap((s) => ['--set', s])]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal((r.stdout.match(/iter 0: SFT \d/g) ?? []).length, 1, r.stdout);
  assert.match(r.stdout, /\[online-rft-s0\] iteration 0 copied from sft-baseline-s0 \(sft-epochs\/1\)/);
  const d = path.join(root, 'x');
  // the baseline: 3 epochs, iteration 0 only; the self-training run: started from epoch 1
  const bl = parseMetricsJsonl(readFileSync(path.join(d, 'sft-baseline-s0', 'metrics.jsonl'), 'utf8'));
  assert.deepEqual(bl.map((x) => `${x.iteration}:${x.phase}`), ['0:sft', '0:eval']);
  assert.equal(bl[0].metrics['sft/epochs'], 3);
  const rft = parseMetricsJsonl(readFileSync(path.join(d, 'online-rft-s0', 'metrics.jsonl'), 'utf8'));
  assert.equal(rft.find((x) => x.phase === 'sft')!.metrics['sft/epochs'], 1);
  assert.equal(readFileSync(path.join(d, 'online-rft-s0', 'iterations/0/eval.json'), 'utf8'), zero(path.join(root, 'start1')).eval, 'the start is the epoch-1 model of the plain run');
  assert.ok(existsSync(path.join(d, 'online-rft-s0', 'summary.json')));
  const j = JSON.parse(readFileSync(path.join(d, 'comparison.json'), 'utf8'));
  assert.deepEqual(j.methods.map((m: { method: string }) => m.method), ['sft-baseline', 'online-rft']);
  assert.deepEqual(j.methods[0].iterations.map((it: { iteration: number }) => it.iteration), [0]);
  // the paired difference against the (constant) baseline at every iteration of online-rft
  const pairs = j.pairedByIteration.filter((p: { monitor: string }) => p.monitor === 'pass@1');
  assert.deepEqual(pairs.map((p: { a: string; b: string; iteration: number }) => `${p.a}-${p.b}@${p.iteration}`), ['online-rft-sft-baseline@0', 'online-rft-sft-baseline@1', 'online-rft-sft-baseline@2']);
  assert.match(readFileSync(path.join(d, 'comparison.md'), 'utf8'), /^online-rft − sft-baseline by iteration/m);
  // re-running resumes: nothing runs again
  const again = bstar(['experiment', '--methods', 'online-rft', '--sft-baseline', '--share-sft', '--seeds', '1', '--parallel', '2', '--runs-dir', root, '--name', 'x', ...sets.flatMap((s) => ['--set', s])]);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /iter 0: SFT \d/);
});

test('--sft-baseline-epochs: the SFT baseline goes on over the gold at the final SFT lr; a baseline run with only iteration 0 is re-planned', () => {
  const sets = [...base, 'sft.startEpoch=1', 'iterations=2', 'selection.injectGold=true'];
  const bad = bstar(['experiment', '--methods', 'online-rft', '--sft-baseline', '--sft-baseline-epochs', '-1', '--seeds', '1', '--runs-dir', root, '--name', 'y', ...sets.flatMap((s) => ['--set', s])]);
  assert.match(bad.stderr, /--sft-baseline-epochs expects an integer ≥ 0, found "-1"/);
  const again = bstar(['experiment', '--methods', 'online-rft', '--sft-baseline', '--sft-baseline-epochs', '2', '--share-sft', '--seeds', '1', '--parallel', '2', '--runs-dir', root, '--name', 'x', ...sets.flatMap((s) => ['--set', s])]);
  assert.equal(again.status, 0, again.stderr + again.stdout);
  assert.match(again.stdout, /\[sft-baseline-s0\] config\.yaml re-planned after iteration 0: 2 more iteration\(s\) of the sft method/);
  assert.doesNotMatch(again.stdout, /iter 0: SFT \d/, 'the SFT is not redone');
  assert.match(again.stdout, /\[online-rft-s0\] finished earlier; skipped/);
  const d = path.join(root, 'x', 'sft-baseline-s0');
  const recs = parseMetricsJsonl(readFileSync(path.join(d, 'metrics.jsonl'), 'utf8'));
  // 24 gold problems, train batch 4: 6 steps per iteration at the SFT's final lr (3e-4), evaluated at 0 and 2 only
  assert.deepEqual(recs.filter((x) => x.phase === 'eval').map((x) => x.iteration), [0, 2]);
  const train = recs.filter((x) => x.phase === 'train');
  assert.deepEqual(train.map((x) => x.metrics['train/steps']), [6, 6]);
  assert.ok(train.every((x) => Math.abs((x.metrics['train/lr-last'] as number) - 3e-4) < 1e-12));
  const j = JSON.parse(readFileSync(path.join(root, 'x', 'comparison.json'), 'utf8'));
  const p = j.pairedByIteration.filter((x: { monitor: string; b: string }) => x.monitor === 'pass@1' && x.b === 'sft-baseline');
  assert.equal(p.length, 3, 'online-rft iterations 0, 1, 2 each against the baseline\'s final');
});

test('--fixed and --seeds-of plan a grid subset and fewer seeds for some methods', () => {
  const runs = planExperiment(undefined, { methods: 'online-rft,bstar,star', seeds: '3', fixed: '0.8:0.5,1.2:0', seedsOf: 'star=1,fixed-T1.2-tau0=2', sftBaseline: true, set: [...base], runsDir: root, parallel: '1' });
  const names = runs.map((r) => r.name);
  assert.deepEqual(names.filter((n) => n.endsWith('-s0')), ['sft-baseline-s0', 'online-rft-s0', 'bstar-s0', 'star-s0', 'fixed-T0.8-tau0.5-s0', 'fixed-T1.2-tau0-s0']);
  assert.ok(!names.includes('star-s1') && names.includes('fixed-T1.2-tau0-s1') && !names.includes('fixed-T1.2-tau0-s2'));
  assert.ok(runs.find((r) => r.name === 'sft-baseline-s2')!.overrides.includes('sft.startEpoch=3'));
  assert.throws(() => planExperiment(undefined, { methods: 'bstar', seeds: '2', fixed: '0.8', set: [...base], runsDir: root, parallel: '1' }), /--fixed: expected T:τ points such as 0\.8:1\.5, found "0\.8"/);
  assert.throws(() => planExperiment(undefined, { methods: 'bstar', seeds: '2', seedsOf: 'star=1', set: [...base], runsDir: root, parallel: '1' }), /--seeds-of star=1: "star" is not a method of this experiment/);
});
