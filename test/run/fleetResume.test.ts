// Exact resume with sampling on a fleet: `bstar run` sampling through a `bstar serve` process on
// loopback (policy.sampling.backend = openai; local training; after each phase that trained, the
// weights are saved and policy.sampling.reload restarts the server on them) is SIGKILLed mid-run and
// resumed with `bstar run --resume`. The server is stateless and seeds per request, and resume makes
// it serve the restored weights before sampling again (even when the killed run had already moved it
// on to newer ones), so the final checkpoint, metrics and selection equal an uninterrupted run's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildContext } from '../../src/run/run.js';
import { deterministicPart, parseMetricsJsonl, parseRunRecords } from '../../src/run/records.js';
import { RELOAD_SCRIPT, startServe } from '../policy/serve_procs.js';
import { TINY_OVERRIDES, tinyConfig } from './tiny.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-fleet-resume-'));
const init = path.join(root, 'init');
const script = path.join(root, 'reload.mjs');
const pids = new Set<number>();

before(async () => {
  // the fleet starts on the fresh tiny model (same seed ⇒ the weights the run builds locally)
  await (await buildContext(tinyConfig(), { log: () => {} })).policy.save(init, null);
  writeFileSync(script, RELOAD_SCRIPT);
});

after(() => {
  for (const name of readdirSync(root).filter((f) => f.endsWith('.fleet.json'))) pids.add((JSON.parse(readFileSync(path.join(root, name), 'utf8')) as { pid: number }).pid);
  for (const pid of pids) if (pid > 0) try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  rmSync(root, { recursive: true, force: true });
});

/** Starts this run's server on the initial checkpoint; the run's --set arguments that sample on it. */
async function fleet(name: string): Promise<{ args: string[]; stateFile: string }> {
  const server = await startServe(init, ['--grace-ms', '0']);
  pids.add(server.proc.pid!);
  server.proc.unref();
  const stateFile = path.join(root, `${name}.fleet.json`);
  writeFileSync(stateFile, JSON.stringify({ pid: server.proc.pid, port: Number(new URL(server.baseUrl).port), served: [] }));
  const overrides = [
    ...TINY_OVERRIDES, 'method=bstar', 'iterations=2', 'selection.injectGold=true',
    'policy.sampling.backend=openai', `policy.sampling.endpoints=${JSON.stringify([server.baseUrl])}`, 'policy.sampling.model=bstar',
    'policy.sampling.concurrency=4', 'policy.sampling.timeoutMs=60000',
    `policy.sampling.reload=${JSON.stringify([process.execPath, script, stateFile, cli, '{checkpoint}'])}`,
  ];
  return { args: overrides.flatMap((o) => ['--set', o]), stateFile };
}

/** Runs the CLI without blocking this process (which must reap the first server when the reload script stops it). */
function bstar(argv: string[], killAt?: string): Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env.BSTAR_KILL_AT;
  if (killAt) env.BSTAR_KILL_AT = killAt;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

function final(dir: string) {
  const ck = path.join(dir, 'checkpoints', '2');
  return {
    weights: readFileSync(path.join(ck, 'model.safetensors')),
    optimizer: readFileSync(path.join(ck, 'training_state.safetensors')),
    metrics: parseMetricsJsonl(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).map((r) => ({ ...deterministicPart(r), run: '' })),
    steps: parseRunRecords(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).steps.map((r) => ({ ...deterministicPart(r), run: '' })),
    selected: [1, 2].map((i) => readFileSync(path.join(dir, `iterations/${i}/selected.jsonl`), 'utf8')),
    samples: [1, 2].map((i) => readFileSync(path.join(dir, `iterations/${i}/samples.jsonl`), 'utf8')),
  };
}

let reference: ReturnType<typeof final>;

test('uninterrupted run sampling on the fleet', async () => {
  const { args, stateFile } = await fleet('ref');
  const r = await bstar(['run', '--runs-dir', root, '--name', 'ref', ...args]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  reference = final(path.join(root, 'ref'));
  // SFT (iteration 0), iteration 1 and iteration 2 each trained: three reloads
  assert.equal((JSON.parse(readFileSync(stateFile, 'utf8')) as { served: string[] }).served.length, 3);
});

// fleet calls pass the 'sample' kill point once per request: each eval makes 10 (5 greedy, 5 with n = 3), each
// sample phase 6: iteration 0's eval is calls 1–10, iteration 1's sample 11–16 and eval 17–26, iteration 2's sample
// 27–32 and eval 33–42. sample:29 is mid-sampling in iteration 2; sample:36 is in iteration 2's eval, after the server was moved to iteration 2's
// trained weights — resume restarts iteration 2 from checkpoint 1 and must move the server back.
for (const point of ['sample:29', 'sample:36']) {
  test(`fleet run killed -9 at ${point}, resumed: identical final checkpoint, metrics, samples and selections`, async () => {
    const name = `k-${point.replace(':', '-')}`;
    const { args, stateFile } = await fleet(name);
    const killed = await bstar(['run', '--runs-dir', root, '--name', name, ...args], point);
    assert.equal(killed.signal, 'SIGKILL', `killed at ${point} (status ${killed.status}, ${killed.stderr})`);
    const servedBefore = (JSON.parse(readFileSync(stateFile, 'utf8')) as { served: string[] }).served.length;
    assert.ok(!existsSync(path.join(root, name, 'checkpoints', '2')));
    const resumed = await bstar(['run', '--resume', path.join(root, name)]);
    assert.equal(resumed.status, 0, resumed.stderr + resumed.stdout);
    assert.match(resumed.stdout + resumed.stderr, /continuing after iteration 1 of 2/);
    const served = (JSON.parse(readFileSync(stateFile, 'utf8')) as { served: string[] }).served;
    // resume reloads the server on the restored weights, and again after iteration 2 trains
    assert.equal(served.length, servedBefore + 2, served.join('\n'));
    // numbered on from the killed run's syncs: none overwritten
    assert.deepEqual(served.map((d) => path.basename(d)), Array.from({ length: served.length }, (_, k) => `sync-${k + 1}`));
    const got = final(path.join(root, name));
    assert.deepEqual(got.metrics, reference.metrics);
    assert.deepEqual(got.steps, reference.steps);
    assert.deepEqual(got.selected, reference.selected);
    assert.deepEqual(got.samples, reference.samples);
    assert.ok(got.weights.equals(reference.weights), 'final weights');
    assert.ok(got.optimizer.equals(reference.optimizer), 'final optimizer state');
  });
}
