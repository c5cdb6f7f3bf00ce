// Exact resume: a run killed with SIGKILL at a named point (BSTAR_KILL_AT: during sampling, the
// search, training, and a checkpoint write) and resumed with `bstar run --resume` ends with the same
// final checkpoint (weights, optimizer state, resume state) and the same metrics (everything but the
// wall-clock timings) as an uninterrupted run with the same seed and threads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deterministicPart, parseMetricsJsonl, parseRunRecords } from '../../src/run/records.js';
import { TINY_OVERRIDES } from './tiny.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-resume-'));
after(() => rmSync(root, { recursive: true, force: true }));

const args = [...TINY_OVERRIDES, 'method=bstar', 'iterations=2', 'selection.injectGold=true'].flatMap((o) => ['--set', o]);

function bstar(argv: string[], killAt?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env.BSTAR_KILL_AT;
  if (killAt) env.BSTAR_KILL_AT = killAt;
  return spawnSync(process.execPath, [cli, ...argv], { env, encoding: 'utf8' });
}

function final(dir: string) {
  const last = Math.max(...readdirSync(path.join(dir, 'checkpoints')).filter((f) => /^\d+$/.test(f)).map(Number));
  const ck = path.join(dir, 'checkpoints', String(last));
  return {
    last,
    weights: readFileSync(path.join(ck, 'model.safetensors')),
    optimizer: readFileSync(path.join(ck, 'training_state.safetensors')),
    state: readFileSync(path.join(ck, 'training_state.json'), 'utf8'),
    metrics: parseMetricsJsonl(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).map((r) => ({ ...deterministicPart(r), run: '' })),
    steps: parseRunRecords(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).steps.map((r) => ({ ...deterministicPart(r), run: '' })),
    selected: readFileSync(path.join(dir, 'iterations/2/selected.jsonl'), 'utf8'),
  };
}

let reference: ReturnType<typeof final>;

test('uninterrupted reference run', () => {
  const r = bstar(['run', '--runs-dir', root, '--name', 'ref', ...args]);
  assert.equal(r.status, 0, r.stderr);
  reference = final(path.join(root, 'ref'));
  assert.equal(reference.last, 2);
  assert.ok(reference.steps.length >= 7, `${reference.steps.length} step records`);
});

// kill points: the n-th time the process passes them
const POINTS = ['sample:20', 'search:5', 'train:3', 'checkpoint-write:12', 'train:5'];

for (const point of POINTS) {
  test(`kill -9 at ${point}, resume: bit-identical final checkpoint and metrics`, () => {
    const name = `k-${point.replace(':', '-')}`;
    const dir = path.join(root, name);
    const killed = bstar(['run', '--runs-dir', root, '--name', name, ...args], point);
    assert.equal(killed.signal, 'SIGKILL', `the run was killed at ${point} (status ${killed.status}, ${killed.stderr})`);
    const resumed = bstar(['run', '--resume', dir]);
    assert.equal(resumed.status, 0, resumed.stderr + resumed.stdout);
    const got = final(dir);
    assert.equal(got.last, reference.last);
    assert.ok(got.weights.equals(reference.weights), 'weights');
    assert.ok(got.optimizer.equals(reference.optimizer), 'optimizer state');
    assert.equal(got.state, reference.state);
    assert.deepEqual(got.metrics, reference.metrics);
    assert.deepEqual(got.steps, reference.steps);
    assert.equal(got.selected, reference.selected);
    assert.ok(!readdirSync(path.join(dir, 'checkpoints')).some((f) => f.startsWith('.')), 'no leftover temp dirs');
  });
}

test('kill -9 right after the report of iteration 1\'s search phase: the report shows it in progress; resume is bit-identical', () => {
  const name = 'k-report-search';
  const dir = path.join(root, name);
  const killed = bstar(['run', '--runs-dir', root, '--name', name, ...args], 'report-search:1');
  assert.equal(killed.signal, 'SIGKILL', `the run was killed (status ${killed.status}, ${killed.stderr})`);
  assert.ok(!existsSync(path.join(dir, 'checkpoints', '1')), 'iteration 1 was not checkpointed');
  assert.deepEqual([...new Set(parseMetricsJsonl(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).map((r) => r.iteration))], [0]);
  const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
  assert.match(html, /iteration 1 in progress: phase search done/);
  assert.match(html, /data-plot="heatmap-1"/);
  const resumed = bstar(['run', '--resume', dir]);
  assert.equal(resumed.status, 0, resumed.stderr + resumed.stdout);
  const got = final(dir);
  assert.ok(got.weights.equals(reference.weights), 'weights');
  assert.ok(got.optimizer.equals(reference.optimizer), 'optimizer state');
  assert.equal(got.state, reference.state);
  assert.deepEqual(got.metrics, reference.metrics);
  assert.deepEqual(got.steps, reference.steps);
  assert.equal(got.selected, reference.selected);
  assert.ok(!existsSync(path.join(dir, 'progress.json')));
  assert.doesNotMatch(readFileSync(path.join(dir, 'report.html'), 'utf8'), /in progress:/);
});

test('resume of a finished run changes nothing', () => {
  const dir = path.join(root, 'ref');
  const r = bstar(['run', '--resume', dir]);
  assert.equal(r.status, 0, r.stderr);
  const got = final(dir);
  assert.ok(got.weights.equals(reference.weights));
  assert.deepEqual(got.metrics, reference.metrics);
  assert.ok(existsSync(path.join(dir, 'summary.json')));
});
