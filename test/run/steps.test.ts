// Per-step training records and divergence in a run: metrics.jsonl gets one "kind": "step" record per
// optimizer step of SFT and self-training (exactly the agreed shape), just before the phase record of
// its training, with a run-wide globalStep and the optimizer's own step; readers of phase records skip
// them; stepRecords thins them after allUpTo. A diverging LR stops the run with one line and a
// non-zero exit, and a fresh model's init follows model.initializer_range.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LocalBackend } from '../../src/policy/local.js';
import { deterministicPart, parseMetricsJsonl, parseRunRecords, STEP_KEYS } from '../../src/run/records.js';
import { buildContext, startRun } from '../../src/run/run.js';
import { TINY_OVERRIDES, tinyConfig } from './tiny.js';

const root = mkdtempSync(path.join(tmpdir(), 'bstar-steps-'));
after(() => rmSync(root, { recursive: true, force: true }));
const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function bstar(argv: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env.BSTAR_KILL_AT;
  return spawnSync(process.execPath, [cli, ...argv], { env, encoding: 'utf8' });
}
const sets = (extra: string[]) => [...TINY_OVERRIDES, ...extra].flatMap((o) => ['--set', o]);

async function run(name: string, extra: string[]) {
  const dir = path.join(root, name);
  await startRun(tinyConfig(extra), dir, { log: () => {} });
  const text = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
  return { dir, text, ...parseRunRecords(text) };
}

test('one step record per optimizer step, in the agreed shape, before its phase record; phase readers skip them', async () => {
  const { text, records, steps } = await run('online', ['method=online-rft', 'iterations=2', 'selection.injectGold=true']);
  // SFT: ceil(24 gold / batch 8) = 3 steps; then 2 iterations × train.stepsPerIteration 2
  assert.equal(steps.length, 3 + 2 * 2);
  assert.deepEqual(steps.map((s) => s.globalStep), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(steps.map((s) => [s.phase, s.iteration, s.step]), [['sft', 0, 1], ['sft', 0, 2], ['sft', 0, 3], ['train', 1, 1], ['train', 1, 2], ['train', 2, 3], ['train', 2, 4]], 'online RFT: one optimizer across iterations');
  for (const s of steps) {
    assert.deepEqual(Object.keys(s), ['v', 'kind', 'run', 'method', 'seed', 'iteration', 'phase', 'step', 'globalStep', 'metrics']);
    assert.equal(s.v, 1);
    assert.equal(s.kind, 'step');
    assert.equal(s.run, 'online');
    assert.equal(s.method, 'online-rft');
    assert.deepEqual(Object.keys(s.metrics), [...STEP_KEYS]);
    const m = s.metrics;
    assert.ok(m['step/loss']! > 0 && m['step/lr']! >= 0 && m['step/grad-norm']! > 0 && m['step/tokens-per-second']! > 0, JSON.stringify(m));
    assert.ok(m['step/padding']! >= 0 && m['step/padding']! < 1);
  }
  // each training's steps sit just before its phase record; the phase record agrees with them
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { kind?: string; phase: string; iteration: number; metrics: Record<string, number> });
  const trainRec = lines.findIndex((l) => l.kind === undefined && l.phase === 'train' && l.iteration === 1);
  assert.deepEqual(lines.slice(trainRec - 2, trainRec).map((l) => [l.kind, l.phase]), [['step', 'train'], ['step', 'train']]);
  assert.equal(lines[trainRec].metrics['train/loss-last'], steps[4].metrics['step/loss']);
  assert.equal(lines[trainRec].metrics['train/lr-last'], steps[4].metrics['step/lr']);
  const sft = records.find((r) => r.phase === 'sft')!;
  assert.equal(sft.metrics['sft/loss-first'], steps[0].metrics['step/loss']);
  // phase readers see exactly the phase records
  assert.deepEqual(parseMetricsJsonl(text), records);
  assert.ok(records.every((r) => 'timing' in r));
  // exact resume compares steps without the wall-clock tokens/s
  assert.deepEqual(Object.keys(deterministicPart(steps[0]).metrics), ['step/loss', 'step/lr', 'step/grad-norm', 'step/padding']);
});

test('iterative RFT: a fresh optimizer per iteration restarts `step`; globalStep goes on; thinning after allUpTo', async () => {
  const { steps } = await run('iterative', ['method=iterative-rft', 'iterations=3', 'selection.injectGold=true', 'stepRecords.allUpTo=4', 'stepRecords.every=3']);
  // global steps 1–3 SFT, 4–5, 6–7, 8–9 training: kept 1–4, then multiples of 3
  assert.deepEqual(steps.map((s) => s.globalStep), [1, 2, 3, 4, 6, 9]);
  assert.deepEqual(steps.map((s) => [s.phase, s.iteration, s.step]), [['sft', 0, 1], ['sft', 0, 2], ['sft', 0, 3], ['train', 1, 1], ['train', 2, 1], ['train', 3, 2]]);
});

test('sft.lr=1e6 and sft.lr=100 stop the run with one line, a non-zero exit and no run directory', () => {
  for (const [lr, why] of [['1e6', /a weight reached \|w\| = /], ['100', /the loss jumped to /]] as const) {
    const r = bstar(['run', '--runs-dir', root, '--name', `lr-${lr}`, ...sets(['method=bstar', 'iterations=1', `sft.lr=${lr}`])]);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^bstar: divergence in sft at optimizer step \d+: /);
    assert.match(lines[0], why);
    assert.match(lines[0], new RegExp(`likely cause: sft\\.lr = ${Number(lr)} \\(far above the usual fine-tuning range`));
    assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync(path.join(root, `lr-${lr}`)), 'no run directory is left');
  }
});

test('train.lr=1e6: the run stops in iteration 1 before its checkpoint; divergence.action=warn goes on and says so', () => {
  const r = bstar(['run', '--runs-dir', root, '--name', 'train-lr', ...sets(['method=iterative-rft', 'iterations=1', 'selection.injectGold=true', 'train.lr=1e6'])]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr.trim(), /^bstar: divergence in train \(iteration 1\) at optimizer step \d+: .*likely cause: train\.lr = 1000000/);
  assert.ok(existsSync(path.join(root, 'train-lr/checkpoints/0')) && !existsSync(path.join(root, 'train-lr/checkpoints/1')), 'no collapsed checkpoint');
  const w = bstar(['run', '--runs-dir', root, '--name', 'train-lr-warn', ...sets(['method=iterative-rft', 'iterations=1', 'selection.injectGold=true', 'train.lr=1e6', 'divergence.action=warn'])]);
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /warning: divergence in train \(iteration 1\) at optimizer step 1: .*divergence\.action=warn: training goes on/);
});

test('bstar train --lr 1e6 stops with one line and a non-zero exit, writing no checkpoint', () => {
  const data = path.join(root, 'sft.jsonl');
  writeFileSync(data, '{"prompt":"1+1=","completion":"2"}\n{"prompt":"2+3=","completion":"5"}\n');
  const out = path.join(root, 'trained');
  const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
  const r = bstar(['train', '--data', data, '--init', path.join(fixtures, 'bstar_tiny'), '--out', out, '--batch', '2', '--lr', '1e6']);
  assert.equal(r.status, 1, r.stderr);
  // stderr: the memory plan (printed at start), then the one error line
  assert.match(r.stderr, /^memory plan: .*\nbstar: divergence in bstar train at optimizer step 1: a weight reached .* likely cause: --lr = 1000000 .*set --divergence warn to go on\n$/);
  assert.ok(!existsSync(out));
});

test('model.initializer_range sets the init of a fresh model', async () => {
  const std = async (range: string) => {
    const ctx = await buildContext(tinyConfig([`model.initializer_range=${range}`]), { log: () => {} });
    const w = (ctx.policy as unknown as { backend: LocalBackend }).backend.model.namedParams().get('model.layers.0.mlp.up_proj.weight')!;
    let ss = 0;
    for (const x of w) ss += x * x;
    return Math.sqrt(ss / w.length);
  };
  const [a, b] = [await std('0.02'), await std('0.2')];
  assert.ok(Math.abs(a - 0.02) < 0.002 && Math.abs(b - 0.2) < 0.02, `${a} ${b}`);
});
