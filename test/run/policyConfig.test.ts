// Config-selected policy backends (policy.sampling / policy.training): validation errors name the key;
// and a whole `bstar run` (startRun from a config) samples on a real `bstar serve` process on loopback,
// trains through the external trainer command (`bstar train`), and keeps the server current through
// policy.sampling.reload — a script that restarts the server on {checkpoint} at the same port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { ConfigError, loadConfig } from '../../src/run/configLoad.js';
import { optimizerSpec } from '../../src/methods/pieces.js';
import { buildContext, resumeRun, startRun } from '../../src/run/run.js';
import { taskNames } from '../../src/tasks/index.js';
import { RELOAD_SCRIPT, startServe } from '../policy/serve_procs.js';
import { TINY_OVERRIDES, tinyConfig } from './tiny.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../src/cli/main.js');
const trainCmd = [process.execPath, cli, 'train', '--data', '{data}', '--init', '{init}', '--out', '{out}', '--epochs', '2', '--batch', '4', '--lr', '0.003'];

function fails(overrides: string[], wantPath: string, expected: RegExp): void {
  assert.throws(
    () => loadConfig({ overrides, taskNames: taskNames() }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
      assert.equal(e.path, wantPath, e.message);
      assert.match(e.expected, expected, e.message);
      assert.ok(e.message.includes(wantPath), e.message);
      return true;
    },
  );
}

test('policy config: defaults are local/local; openai needs http(s) endpoints and a reload command; external needs a command and a checkpoint', () => {
  const c = loadConfig();
  assert.equal(c.policy.sampling.backend, 'local');
  assert.equal(c.policy.training.backend, 'local');
  const openai = ['policy.sampling.backend=openai'];
  const reload = 'policy.sampling.reload=["restart-fleet", "{checkpoint}"]';
  fails(openai, 'policy.sampling.endpoints', /at least one base URL/);
  fails([...openai, 'policy.sampling.endpoints=["127.0.0.1:8000"]', reload], 'policy.sampling.endpoints.0', /http\(s\) base URL/);
  fails([...openai, 'policy.sampling.endpoints=["http://127.0.0.1:8000/v1"]'], 'policy.sampling.reload', /\{checkpoint\}/);
  fails([...openai, 'policy.sampling.endpoints=["http://127.0.0.1:8000/v1"]', 'policy.sampling.reload=["restart-fleet"]'], 'policy.sampling.reload', /\{checkpoint\}/);
  fails(['policy.sampling.backend=vllm'], 'policy.sampling.backend', /local|openai/);
  fails(['policy.sampling.concurrency=0'], 'policy.sampling.concurrency', /1/);
  const ext = ['policy.training.backend=external', 'model.checkpoint=/ckpt/sft'];
  fails(ext, 'policy.training.command', /non-empty trainer argv/);
  fails([...ext, 'policy.training.command=["trainer", "--data", "{data}"]'], 'policy.training.command', /\{out\}/);
  fails(['policy.training.backend=external', 'policy.training.command=["t", "{data}", "{out}"]'], 'model.checkpoint', /starting checkpoint/);
  const ok = loadConfig({ overrides: [...openai, 'policy.sampling.endpoints=["http://127.0.0.1:8000/v1"]', reload, ...ext, 'policy.training.command=["t", "{data}", "{init}", "{out}"]'], taskNames: taskNames() });
  assert.deepEqual(ok.policy.sampling.endpoints, ['http://127.0.0.1:8000/v1']);
  assert.equal(ok.policy.sampling.retries, 5);
});

test('bstar run from config: sampling on a bstar serve process, training through the external command, the server reloaded after each round', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bstar-policycfg-'));
  const stateFile = path.join(work, 'fleet.json');
  const first = { pid: -1 };
  try {
    // the starting checkpoint: the tiny model, saved
    const base = await buildContext(tinyConfig(), { log: () => {} });
    const init = path.join(work, 'init');
    await base.policy.save(init, null);
    const server = await startServe(init, ['--grace-ms', '0']);
    first.pid = server.proc.pid!;
    const port = Number(new URL(server.baseUrl).port);
    writeFileSync(stateFile, JSON.stringify({ pid: server.proc.pid, port, served: [] }));
    const script = path.join(work, 'reload.mjs');
    writeFileSync(script, RELOAD_SCRIPT);
    const c = loadConfig({
      overrides: [
        ...TINY_OVERRIDES, 'method=bstar', 'selection.injectGold=true', 'iterations=1', `model.checkpoint=${init}`,
        'policy.sampling.backend=openai', `policy.sampling.endpoints=${JSON.stringify([server.baseUrl])}`, 'policy.sampling.model=bstar',
        'policy.sampling.concurrency=4', 'policy.sampling.timeoutMs=60000',
        `policy.sampling.reload=${JSON.stringify([process.execPath, script, stateFile, cli, '{checkpoint}'])}`,
        'policy.training.backend=external', `policy.training.command=${JSON.stringify(trainCmd)}`, 'policy.training.timeoutMs=120000',
      ],
      taskNames: taskNames(),
    });
    const lines: string[] = [];
    const runDir = path.join(work, 'run');
    const out = await startRun(c, runDir, { log: (l) => lines.push(l) });
    // iteration 0 (SFT → eval) and iteration 1 (search, sample, select, train → eval) each trained
    // externally once, and the server was restarted on each new checkpoint before sampling again
    const rounds = [1, 2].map((k) => path.join(runDir, 'policy', 'rounds', `round-${k}`, 'checkpoint'));
    const st = JSON.parse(readFileSync(stateFile, 'utf8')) as { served: string[] };
    assert.deepEqual(st.served, rounds);
    assert.equal(readFileSync(path.join(runDir, 'policy', 'rounds', 'round-1', 'data.jsonl'), 'utf8').trim().split('\n').length, c.task.trainSize);
    assert.ok(lines.some((l) => l.includes('after training bstar runs policy.sampling.reload')), lines.join('\n'));
    assert.equal(lines.filter((l) => l.startsWith('fleet: 1 endpoint(s) serve')).length, 2, lines.join('\n'));
    const phases = out.records.map((r) => `${r.iteration}:${r.phase}`);
    assert.deepEqual(phases, ['0:sft', '0:eval', '1:search', '1:sample', '1:select', '1:train', '1:eval']);
    const samples = readFileSync(path.join(runDir, 'iterations', '1', 'samples.jsonl'), 'utf8').trim().split('\n');
    assert.equal(samples.length, c.queriesPerIteration * c.samplesPerQuery);
    // the run's checkpoint is the external trainer's latest round, loadable, with the resume state
    const ck1 = path.join(runDir, 'checkpoints', '1');
    loadCheckpoint(ck1, { trainingState: false });
    assert.ok(existsSync(path.join(ck1, 'external_trainer.json')));
    const resumed = await resumeRun(runDir, { log: (l) => lines.push(l) });
    assert.equal(resumed.records.length, out.records.length);
    assert.ok(lines.some((l) => l.includes('continuing after iteration 1 of 1')));
  } finally {
    for (const pid of [first.pid, existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number }).pid : -1]) {
      if (pid > 0) try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    }
    rmSync(work, { recursive: true, force: true });
  }
});

test('local sampling with external training: after a round the local engine samples from the trained checkpoint', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bstar-policycfg-'));
  try {
    const base = await buildContext(tinyConfig(), { log: () => {} });
    const init = path.join(work, 'init');
    await base.policy.save(init, null);
    const c = tinyConfig([`model.checkpoint=${init}`, 'policy.training.backend=external', `policy.training.command=${JSON.stringify(trainCmd)}`]);
    const ctx = await buildContext(c, { log: () => {} }, path.join(work, 'policy'));
    const reqs = [...ctx.train.values()].slice(0, 3).map((q) => ({ id: q.id, prompt: ctx.task.formatPrompt(q) }));
    const params = { n: 2, temperature: 1, topP: 1, maxTokens: 12, stop: [], seed: 7 };
    const before = await ctx.policy.sample(reqs, params);
    await ctx.policy.configureOptimizer(optimizerSpec(ctx.config, 'train', 1), { reset: true });
    await ctx.policy.train([...ctx.train.values()].map((q) => ({ prompt: ctx.task.formatPrompt(q), completion: ctx.task.goldSolution(q) })));
    const after = await ctx.policy.sample(reqs, params); // syncs: runs the command, loads round-1 locally
    const round1 = path.join(work, 'policy', 'rounds', 'round-1', 'checkpoint');
    const ref = await buildContext(tinyConfig([`model.checkpoint=${round1}`]), { log: () => {} });
    assert.deepEqual(after.completions, (await ref.policy.sample(reqs, params)).completions);
    assert.notDeepEqual(after.completions.map((r) => r.map((x) => x.logprob)), before.completions.map((r) => r.map((x) => x.logprob)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('bstar run from config: sampling on a bstar serve process, local training saved and served after each phase that trained', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bstar-policycfg-'));
  const stateFile = path.join(work, 'fleet.json');
  const pids: number[] = [];
  try {
    // the fleet starts on the fresh tiny model (same seed ⇒ the same weights the run builds locally)
    const base = await buildContext(tinyConfig(), { log: () => {} });
    const init = path.join(work, 'init');
    await base.policy.save(init, null);
    const server = await startServe(init, ['--grace-ms', '0']);
    pids.push(server.proc.pid!);
    writeFileSync(stateFile, JSON.stringify({ pid: server.proc.pid, port: Number(new URL(server.baseUrl).port), served: [] }));
    const script = path.join(work, 'reload.mjs');
    writeFileSync(script, RELOAD_SCRIPT);
    const c = tinyConfig([
      'method=online-rft', 'selection.injectGold=true', 'iterations=1',
      'policy.sampling.backend=openai', `policy.sampling.endpoints=${JSON.stringify([server.baseUrl])}`, 'policy.sampling.model=bstar',
      'policy.sampling.concurrency=4', 'policy.sampling.timeoutMs=60000',
      `policy.sampling.reload=${JSON.stringify([process.execPath, script, stateFile, cli, '{checkpoint}'])}`,
    ]);
    const runDir = path.join(work, 'run');
    const out = await startRun(c, runDir, { log: () => {} });
    const st = JSON.parse(readFileSync(stateFile, 'utf8')) as { served: string[] };
    // SFT (iteration 0) and iteration 1's training each changed the local weights: saved, then served
    assert.deepEqual(st.served, [1, 2].map((k) => path.join(runDir, 'policy', `sync-${k}`)));
    const w0 = loadCheckpoint(init, { trainingState: false }).weights;
    const w1 = loadCheckpoint(st.served[0], { trainingState: false }).weights;
    const ck0 = loadCheckpoint(path.join(runDir, 'checkpoints', '0'), { trainingState: false }).weights;
    assert.ok([...w0.keys()].some((k) => w0.get(k)!.some((v, i) => v !== w1.get(k)![i])), 'the served weights are the trained ones');
    for (const k of w1.keys()) assert.deepEqual(w1.get(k), ck0.get(k), `${k}: sync-1 is the SFT model of checkpoint 0`);
    assert.deepEqual(out.records.map((r) => `${r.iteration}:${r.phase}`), ['0:sft', '0:eval', '1:sample', '1:select', '1:train', '1:eval']);
  } finally {
    if (existsSync(stateFile)) pids.push((JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number }).pid);
    for (const pid of pids) if (pid > 0) try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    rmSync(work, { recursive: true, force: true });
  }
});
