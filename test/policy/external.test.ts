// Training elsewhere: the external-trainer backend runs a real trainer command (`bstar train` on the
// SFT JSONL it writes), validates and adopts its checkpoint; and a whole B-STaR loop (search, sample,
// select, train, evaluate) runs with sampling on two `bstar serve` processes that are restarted on each
// new checkpoint, and training through the external trainer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { METHOD_IMPLS, type LoopState } from '../../src/methods/index.js';
import { runIteration, sftPhase } from '../../src/methods/iteration.js';
import { optimizerSpec } from '../../src/methods/pieces.js';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { Sampler } from '../../src/model/sampler.js';
import { composePolicy } from '../../src/policy/compose.js';
import { ExternalTrainer } from '../../src/policy/external.js';
import { OpenAiSamplingBackend } from '../../src/policy/openai.js';
import { PolicyError } from '../../src/policy/types.js';
import { buildContext } from '../../src/run/run.js';
import { tinyConfig } from '../run/tiny.js';
import { startServe, type ServeProc } from './serve_procs.js';
import { methodOptions } from '../../src/run/config.js';
import { readSftJsonl, TrainDataError } from '../../src/cli/train.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../src/cli/main.js');
const fixtures = path.resolve(here, '../../../test/fixtures');
const trainCmd = [process.execPath, cli, 'train', '--data', '{data}', '--init', '{init}', '--out', '{out}', '--epochs', '3', '--batch', '4', '--lr', '0.003'];

test('external trainer: writes SFT JSONL, runs `bstar train`, adopts a checkpoint that learned the data', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bstar-ext-'));
  try {
    const ext = new ExternalTrainer({ command: trainCmd, init: path.join(fixtures, 'bstar_tiny'), workDir: work });
    await ext.configureOptimizer(optimizerSpec(methodOptions(tinyConfig()), 'train', 2), { reset: true });
    const data = Array.from({ length: 16 }, (_, i) => ({ prompt: `${i % 8}+1=`, completion: String((i % 8) + 1) }));
    await ext.train(data.slice(0, 8));
    const r = await ext.train(data.slice(8));
    assert.equal(r.step, 2);
    const out = await ext.currentCheckpoint();
    assert.equal(ext.rounds.length, 1);
    const lines = readFileSync(ext.rounds[0].data, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines, data);
    // the trained model scores the data better than the initial one
    const score = (dir: string) => {
      const ck = loadCheckpoint(dir);
      return new Sampler(ck.config, ck.weights, ck.tokenizer!).logprobs(data).reduce((a, x) => a + x.logprob, 0);
    };
    assert.ok(score(out) > score(path.join(fixtures, 'bstar_tiny')) + 1, `${score(out)} vs ${score(path.join(fixtures, 'bstar_tiny'))}`);
    assert.equal(await ext.currentCheckpoint(), out, 'nothing pending: no new round');
    // a failing command is a clear error with its status and output
    const bad = new ExternalTrainer({ command: [process.execPath, cli, 'train', '--data', '{data}', '--init', '/nonexistent', '--out', '{out}'], init: out, workDir: work });
    await bad.configureOptimizer(optimizerSpec(methodOptions(tinyConfig()), 'train', 1), { reset: true });
    await bad.train(data);
    await assert.rejects(bad.currentCheckpoint(), (e: Error) => e instanceof PolicyError && /exited with status 1; output ends: .*nonexistent/.test(e.message));
    assert.throws(() => new ExternalTrainer({ command: ['true'], init: out, workDir: work }), /must contain \{out\}/);
    // a trainer over the same workDir (a resumed run) numbers its rounds on: round-1 is left as it was
    const copyCmd = [process.execPath, '-e', 'require("fs").cpSync(process.argv[1], process.argv[2], { recursive: true })', '{init}', '{out}', '{data}'];
    const again = new ExternalTrainer({ command: copyCmd, init: out, workDir: work });
    await again.configureOptimizer(optimizerSpec(methodOptions(tinyConfig()), 'train', 1), { reset: true });
    await again.train(data.slice(0, 2));
    assert.equal(await again.currentCheckpoint(), path.join(work, 'round-3', 'checkpoint')); // round-2 was the failed command's
    assert.deepEqual(readFileSync(ext.rounds[0].data, 'utf8').trim().split('\n').map((l) => JSON.parse(l)), data);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('B-STaR end to end: sampling on two bstar serve processes, training through the external trainer', async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bstar-e2e-'));
  let servers: ServeProc[] = [];
  try {
    // the SFT model (trained locally), saved as the starting checkpoint
    const local = await buildContext(tinyConfig(['method=bstar', 'selection.injectGold=true']), { log: () => {} });
    await sftPhase(local, 1, (c, steps) => optimizerSpec(c, 'sft', steps));
    const init = path.join(work, 'sft');
    await local.policy.save(init, null);
    const serveOn = async (dir: string) => {
      await Promise.all(servers.map((s) => s.stop()));
      servers = await Promise.all([startServe(dir), startServe(dir)]);
      return servers.map((s) => ({ baseUrl: s.baseUrl, concurrency: 4 }));
    };
    const ext = new ExternalTrainer({ command: trainCmd, init, workDir: path.join(work, 'rounds') });
    const served: string[] = [init];
    const fleet = new OpenAiSamplingBackend({
      endpoints: await serveOn(init), model: 'bstar', backoffMs: 20,
      reload: async (from) => {
        const dir = await (from as ExternalTrainer).currentCheckpoint();
        served.push(dir);
        fleet.setEndpoints(await serveOn(dir));
      },
    });
    const ctx = { ...local, policy: composePolicy(fleet, ext) };
    const loop: LoopState = { base: await ctx.policy.snapshot({ optimizer: false }) };
    const results = [];
    for (const i of [1, 2]) results.push(await runIteration(ctx, METHOD_IMPLS.bstar, loop, i));
    // iteration 1 trained externally; iteration 2 sampled from that checkpoint on restarted servers
    assert.ok(ext.rounds.length >= 1, 'the external trainer ran');
    assert.equal(served[1], ext.rounds[0].out);
    for (const r of results) {
      assert.deepEqual(r.records.map((x) => x.phase).filter((p) => p !== 'eval'), ['search', 'sample', 'select', 'train']);
      assert.ok(r.artifacts.search, 'B-STaR searched (T, τ)');
      // every sample accounted for: queries × samplesPerQuery
      assert.equal(r.artifacts.samples.length, r.artifacts.queries.length * ctx.config.samplesPerQuery);
    }
    const st = fleet.stats;
    assert.ok(Object.values(st.perEndpoint).filter((e) => e.ok > 0).length >= 4, JSON.stringify(st));
    // the fleet's sampled ids reached the external trainer's JSONL (`bstar train` trains on exactly them);
    // an injected gold solution is text only
    const lines = readFileSync(ext.rounds[0].data, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { completion: string; prompt_ids?: number[]; completion_ids?: number[] });
    const sel = new Map(results[0].artifacts.selection!.samples.filter((x) => !x.gold).map((x) => [x.text, x]));
    const withIds = lines.filter((l) => l.completion_ids);
    assert.ok(withIds.length > 0, 'some trained example was sampled');
    for (const l of withIds) {
      const x = sel.get(l.completion);
      assert.ok(x, 'a line with ids is a selected sample');
      assert.deepEqual(l.completion_ids, x.completionIds);
      assert.deepEqual(l.prompt_ids, x.promptIds);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(work, { recursive: true, force: true });
  }
});

test('the SFT JSONL carries sampled ids and token-level targets; bad ones are refused with file:line', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bstar-sftjsonl-'));
  try {
    const f = path.join(dir, 'd.jsonl');
    const ok = { prompt: 'p', completion: 'c', prompt_ids: [1, 5], completion_ids: [7, 2] };
    writeFileSync(f, [{ prompt: 'a', completion: 'b' }, ok, { ...ok, targets: [{ at: 1, token: 9, weight: 0.25 }] }].map((x) => JSON.stringify(x)).join('\n') + '\n');
    assert.deepEqual(readSftJsonl(f), [
      { prompt: 'a', completion: 'b' },
      { prompt: 'p', completion: 'c', promptIds: [1, 5], completionIds: [7, 2] },
      { prompt: 'p', completion: 'c', promptIds: [1, 5], completionIds: [7, 2], targets: [{ at: 1, token: 9, weight: 0.25 }] },
    ]);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...ok, completion_ids: [7, -1] }, /d\.jsonl:2: "completion_ids" expected a non-empty list of token ids/],
      [{ prompt: 'p', completion: 'c', prompt_ids: [1] }, /d\.jsonl:2: "prompt_ids" and "completion_ids" go together/],
      [{ ...ok, targets: [{ at: 2, token: 9, weight: 1 }] }, /d\.jsonl:2: "targets" expected a non-empty list of \{at: index into completion_ids/],
    ];
    for (const [row, re] of bad) {
      writeFileSync(f, JSON.stringify({ prompt: 'a', completion: 'b' }) + '\n' + JSON.stringify(row) + '\n');
      assert.throws(() => readSftJsonl(f), (e: Error) => e instanceof TrainDataError && re.test(e.message), JSON.stringify(row));
    }
    // the line itself: not JSON, not an object (the one JSONL reader's errors, as TrainDataError naming file:line)
    writeFileSync(f, JSON.stringify({ prompt: 'a', completion: 'b' }) + '\n\n{"prompt": "a",\n');
    assert.throws(() => readSftJsonl(f), (e: Error) => e instanceof TrainDataError && /d\.jsonl:3: expected one JSON object per line, found invalid JSON/.test(e.message));
    writeFileSync(f, '["a", "b"]\n');
    assert.throws(() => readSftJsonl(f), (e: Error) => e instanceof TrainDataError && /d\.jsonl:1: expected a JSON object, found an array of 2/.test(e.message));
    assert.throws(() => readSftJsonl(path.join(dir, 'none.jsonl')), (e: Error) => e instanceof TrainDataError && /none\.jsonl: expected a readable file, found ENOENT/.test(e.message));
    // gzip-compressed and CRLF data read the same
    writeFileSync(`${f}.gz`, gzipSync(Buffer.from(JSON.stringify({ prompt: 'a', completion: 'b' }) + '\r\n' + JSON.stringify(ok) + '\r\n')));
    assert.deepEqual(readSftJsonl(`${f}.gz`), [{ prompt: 'a', completion: 'b' }, { prompt: 'p', completion: 'c', promptIds: [1, 5], completionIds: [7, 2] }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
