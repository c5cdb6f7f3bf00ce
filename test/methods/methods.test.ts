// Each method on a tiny budget, checked on real state (weights, optimizer moments and steps, the
// search table), not on mocks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MethodContext } from '../../src/methods/context.js';
import { METHOD_IMPLS, type LoopState } from '../../src/methods/index.js';
import { runIteration, sftPhase } from '../../src/methods/iteration.js';
import { optimizerSpec, plannedRunSteps, trainSteps } from '../../src/methods/pieces.js';
import type { LocalBackend } from '../../src/policy/local.js';
import type { Policy } from '../../src/policy/types.js';
import type { Sample } from '../../src/util/sample.js';
import { buildContext } from '../../src/run/run.js';
import { tinyConfig } from '../run/tiny.js';

type Ctx = MethodContext & { policy: Policy & { backend?: LocalBackend } };

async function start(method: string, extra: string[] = []): Promise<{ ctx: Ctx; loop: LoopState; backend: LocalBackend }> {
  const ctx = (await buildContext(tinyConfig([`method=${method}`, ...extra]), { log: () => {} })) as Ctx;
  await sftPhase(ctx, 1, (c, steps) => optimizerSpec(c, 'sft', steps));
  const loop: LoopState = { base: await ctx.policy.snapshot({ optimizer: false }) };
  return { ctx, loop, backend: (ctx.policy as unknown as { backend: LocalBackend }).backend };
}

const moments = (b: LocalBackend) => (b as unknown as { trainer: { state: { m: Float32Array; v: Float32Array; step: number } } }).trainer.state;

/** Replays iteration i's training from `weights` with a fresh optimizer on the logged selection. */
async function replay(ctx: Ctx, backend: LocalBackend, weights: Float32Array, selected: Sample[], i: number): Promise<Float32Array> {
  backend.model.params.set(weights);
  const c = ctx.config;
  await ctx.policy.configureOptimizer(optimizerSpec(c, 'train', c.train.stepsPerIteration!), { reset: true });
  const ex = selected.map((s) => ({ prompt: ctx.task.formatPrompt(ctx.train.get(s.queryId)!), completion: s.text, promptIds: s.promptIds, completionIds: s.completionIds }));
  await trainSteps(ctx, ex, { steps: c.train.stepsPerIteration!, batchSize: c.train.batchSize, stream: ['train', i], label: 'replay', phase: 'train', iteration: i });
  return (backend.model.params as Float32Array).slice();
}

test('STaR: each iteration trains the base (SFT) model from scratch on the latest model\'s selection', async () => {
  const { ctx, loop, backend } = await start('star', ['selection.injectGold=true']);
  const base = (backend.model.params as Float32Array).slice();
  await runIteration(ctx, METHOD_IMPLS.star, loop, 1);
  const after1 = (backend.model.params as Float32Array).slice();
  const r2 = await runIteration(ctx, METHOD_IMPLS.star, loop, 2);
  const after2 = (backend.model.params as Float32Array).slice();
  assert.equal(moments(backend).step, r2.records.find((r) => r.phase === 'train')!.metrics['train/steps']);
  assert.ok(r2.artifacts.selection!.samples.length > 0, 'the tiny run selected something');
  // iteration 2 samples came from the iteration-1 model: they are not reproducible from base weights alone,
  // but its training is: base weights + fresh optimizer + the logged selection.
  const fromBase = await replay(ctx, backend, base, r2.artifacts.selection!.samples, 2);
  assert.deepEqual(fromBase, after2);
  const fromAfter1 = await replay(ctx, backend, after1, r2.artifacts.selection!.samples, 2);
  assert.notDeepEqual(fromAfter1, after2);
});

test('Iterative RFT: keeps the model, fresh optimizer (zero moments, step 0) each iteration', async () => {
  const { ctx, loop, backend } = await start('iterative-rft', ['selection.injectGold=true']);
  await runIteration(ctx, METHOD_IMPLS['iterative-rft'], loop, 1);
  const after1 = (backend.model.params as Float32Array).slice();
  assert.equal(moments(backend).step, 2);
  await METHOD_IMPLS['iterative-rft'].prepareTraining(ctx, loop, 2, 2);
  assert.ok(moments(backend).m.every((x) => x === 0) && moments(backend).step === 0);
  assert.deepEqual(backend.model.params, after1, 'weights kept');
  const r2 = await runIteration(ctx, METHOD_IMPLS['iterative-rft'], loop, 2);
  const after2 = (backend.model.params as Float32Array).slice();
  assert.equal(moments(backend).step, 2, 'the step count restarted');
  assert.deepEqual(await replay(ctx, backend, after1, r2.artifacts.selection!.samples, 2), after2);
});

test('Online RFT: keeps model, optimizer moments and one schedule across iterations', async () => {
  const { ctx, loop, backend } = await start('online-rft', ['selection.injectGold=true']);
  await runIteration(ctx, METHOD_IMPLS['online-rft'], loop, 1);
  const st = moments(backend);
  const m1 = st.m.slice();
  assert.equal(st.step, 2);
  assert.equal(ctx.policy.optimizerStatus()!.spec.totalSteps, plannedRunSteps(ctx.config));
  assert.equal(plannedRunSteps(ctx.config), ctx.config.iterations * 2);
  await METHOD_IMPLS['online-rft'].prepareTraining(ctx, loop, 2, 2);
  assert.deepEqual(moments(backend).m, m1, 'moments kept');
  const r2 = await runIteration(ctx, METHOD_IMPLS['online-rft'], loop, 2);
  assert.equal(moments(backend).step, 4, 'one step count (and LR schedule) across iterations');
  const lr = r2.records.find((r) => r.phase === 'train')!.metrics['train/lr-last']!;
  const spec = ctx.policy.optimizerStatus()!.spec;
  // cosine at step 4 of the run-long schedule (lr of the 4th step is taken at position 3)
  const expect = spec.minLr + (spec.lr - spec.minLr) * 0.5 * (1 + Math.cos((Math.PI * 3) / spec.totalSteps));
  assert.ok(Math.abs(lr - expect) < 1e-9, `lr ${lr} vs ${expect}`);
});

test('B-STaR: the sampling T and the threshold are the argmax of the logged search table', async () => {
  const { ctx, loop } = await start('bstar');
  const r = await runIteration(ctx, METHOD_IMPLS.bstar, loop, 1);
  const table = r.artifacts.search!.table;
  assert.equal(table.length, 2 * 2);
  let best = table[0];
  for (const c of table) {
    if (c.meanQueryEffect > best.meanQueryEffect || (c.meanQueryEffect === best.meanQueryEffect && (c.temperature < best.temperature || (c.temperature === best.temperature && c.threshold > best.threshold)))) best = c;
  }
  assert.equal(r.artifacts.temperature, best.temperature);
  assert.equal(r.artifacts.threshold, best.threshold);
  assert.ok(r.artifacts.samples.every((s) => s.temperature === best.temperature));
  assert.ok(r.artifacts.devSamples.length === ctx.devIds.length * 3 * 2, 'each T sampled once, K per dev query');
  const sel = r.records.find((x) => x.phase === 'select')!;
  assert.equal(sel.metrics['select/threshold'], best.threshold);
});

test('SFT: trains on gold solutions only, no sampling', async () => {
  const { ctx, loop, backend } = await start('sft');
  const w0 = (backend.model.params as Float32Array).slice();
  const r = await runIteration(ctx, METHOD_IMPLS.sft, loop, 1);
  assert.equal(r.artifacts.samples.length, 0);
  assert.equal(r.records.find((x) => x.phase === 'train')!.metrics['train/examples'], ctx.config.queriesPerIteration);
  assert.notDeepEqual(backend.model.params, w0);
});

test('zero-signal queries are counted and refilled from the pool up to the cap', async () => {
  const { ctx, loop } = await start('online-rft', ['selection.zeroSignalRefill=3', 'sampling.maxTokens=4']);
  const r = await runIteration(ctx, METHOD_IMPLS['online-rft'], loop, 1);
  const s = r.records.find((x) => x.phase === 'sample')!.metrics;
  // 4 completion tokens rarely hold the right number: (nearly) every query is zero-signal
  const ok = new Set(r.artifacts.samples.filter((x) => x.correct).map((x) => x.queryId));
  const zeroFirst = r.artifacts.queries.slice(0, ctx.config.queriesPerIteration).filter((id) => !ok.has(id)).length;
  assert.ok(zeroFirst >= 3);
  assert.equal(s['sample/refilled'], 3);
  assert.equal(s['sample/queries'], ctx.config.queriesPerIteration + 3);
  assert.equal(s['sample/zero-signal'], r.artifacts.queries.filter((id) => !ok.has(id)).length);
  assert.equal(new Set(r.artifacts.queries).size, r.artifacts.queries.length, 'refills are new queries');
});

test('with the equation-check process reward, reward = answer + 2·min(step) − 1 on every sample', async () => {
  const { ctx, loop } = await start('online-rft', ['reward.prm.enabled=true', 'reward.prm.scorer=equations', 'selection.injectGold=true']);
  const r = await runIteration(ctx, METHOD_IMPLS['online-rft'], loop, 1);
  assert.ok(r.artifacts.samples.length > 0);
  for (const s of r.artifacts.samples) {
    assert.ok(s.prmSteps && s.prmSteps.length > 0);
    assert.equal(s.reward, (s.correct ? 1 : 0) + 2 * Math.min(...s.prmSteps!) - 1);
  }
});

test('official thresholdSearchOn=pool: T from the dev search, τ re-chosen on the training pool', async () => {
  const { select } = await import('../../src/methods/select.js');
  const { ctx, loop } = await start('bstar', ['search.thresholdSearchOn=pool', 'selection.injectGold=true', 'search.thresholds=[-0.5, 0, 0.5, 0.9]']);
  const r = await runIteration(ctx, METHOD_IMPLS.bstar, loop, 1);
  assert.equal(r.artifacts.temperature, r.artifacts.search!.temperature);
  const ids = r.artifacts.queries;
  const opts = { ...ctx.config.selection.onPool, gold: new Map(ids.map((id) => [id, ctx.task.goldSolution(ctx.train.get(id)!)])) };
  let best = { tau: NaN, qe: -Infinity };
  for (const tau of [-0.5, 0, 0.5, 0.9]) {
    const qe = select(ids, r.artifacts.samples, { ...opts, threshold: tau }).meanQueryEffect;
    if (qe >= best.qe) best = { tau, qe }; // ties: the higher τ
  }
  assert.equal(r.artifacts.threshold, best.tau);
});

test('sft.goldQueries: SFT and the sft method see only the gold subset; self-training samples the whole pool', async () => {
  const gq = 8;
  const { ctx, loop } = await start('sft', [`sft.goldQueries=${gq}`, 'queriesPerIteration=6']);
  assert.deepEqual(ctx.goldIds, ctx.trainIds.slice(0, gq));
  assert.equal(ctx.trainIds.length, 24);
  const gold = new Set(ctx.goldIds);
  const seen = new Set<string>();
  for (let i = 1; i <= 3; i++) {
    const r = await runIteration(ctx, METHOD_IMPLS.sft, loop, i);
    for (const id of r.artifacts.queries) (assert.ok(gold.has(id), `sft iteration ${i} trained on ${id}, outside the gold subset`), seen.add(id));
  }
  assert.equal(seen.size, gq, 'three iterations of 6 walk the 8 gold queries');
  const sftRec = await sftPhase(ctx, 1, (c, steps) => optimizerSpec(c, 'sft', steps));
  assert.equal(sftRec.metrics['sft/examples'], gq);

  const o = await start('online-rft', [`sft.goldQueries=${gq}`, 'queriesPerIteration=20']);
  const r = await runIteration(o.ctx, METHOD_IMPLS['online-rft'], o.loop, 1);
  assert.ok(r.artifacts.queries.filter((id) => !gold.has(id)).length >= 12, 'self-training draws from beyond the gold subset');
  await assert.rejects(buildContext(tinyConfig(['sft.goldQueries=25']), { log: () => {} }), /sft\.goldQueries: at most the training pool's 24 queries/);
});
