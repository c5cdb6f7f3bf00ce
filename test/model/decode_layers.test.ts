// The native fused decode step (Kernels.decodeLayers) against the kernel-by-kernel forward of the
// same rows: logits and every KV-cache float bit-identical, on every instruction set, 1 and 2
// threads, with grouped-query heads and with q/k/v/o biases; each row also equals itself decoded
// alone. And its refusals: repeated slots, weights not packed for the shape.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, type Kernels } from '../../src/engine/index.js';
import { loadAddon } from '../../src/engine/native.js';
import { createKvCache, createScratch, decodeStepsRows, decoderWeights, dimsOf, forwardRows, refreshPacked, type KvCache } from '../../src/model/decoder.js';
import { ropeTables } from '../../src/model/rope.js';
import { chooseToken, createChoiceScratch } from '../../src/model/sampling.js';
import { Rng, deriveSeed } from '../../src/util/rng.js';
import { randomWeights, tinyConfig } from './helpers.js';

const loaded = loadAddon();
if (loaded instanceof Error) throw loaded;
const addon = loaded as unknown as { setIsa(isa: string): string; setThreads(n: number): void; info(): { isa: string; threads: number; isas: string[] } };
const nk: Kernels = getBackend('native');
const start = addon.info();
after(() => {
  addon.setIsa(start.isa);
  addon.setThreads(start.threads);
});
/** The same backend without the fused kernel: forwardRows then calls the kernels one by one. */
const stepwise: Kernels = { ...nk, decodeLayers: undefined };
/** The native backend, counting its decodeLayers calls. */
const fused = {
  ...nk,
  calls: 0,
  decodeLayers(...args: Parameters<NonNullable<Kernels['decodeLayers']>>) {
    fused.calls++;
    nk.decodeLayers!(...args);
  },
};

const configs = [
  tinyConfig(), // GQA 4:2
  tinyConfig({ attention_bias: true, num_key_value_heads: 4 }), // q/k/v/o biases
  tinyConfig({ num_key_value_heads: 1, hidden_size: 64, num_attention_heads: 2 }), // D = 32, MQA
];

test('decodeLayers = the kernel-by-kernel decode step, bit for bit (logits and cache), any ISA, threads, rows', () => {
  assert.equal(typeof nk.decodeLayers, 'function');
  for (const [ci, cfg] of configs.entries()) {
    const d = dimsOf(cfg);
    const rope = ropeTables(cfg);
    for (const isa of start.isas) {
      addon.setIsa(isa);
      const w = decoderWeights(cfg, randomWeights(cfg, 40 + ci, 0.4));
      refreshPacked(nk, d, w);
      for (const threads of [1, 2]) {
        addon.setThreads(threads);
        const rng = new Rng(deriveSeed(41, ci, isa, threads));
        const S = 7;
        const cap = 24;
        const a = createKvCache(d, S, cap);
        const b = createKvCache(d, S, cap);
        // prefill prompts of different lengths into slots 0..S-1 (rows share slots: the stepwise path)
        const lens = Array.from({ length: S }, () => 1 + rng.int(8));
        const rowsP = lens.reduce((x, y) => x + y, 0);
        const tok = new Int32Array(rowsP);
        const pos = new Int32Array(rowsP);
        const slot = new Int32Array(rowsP);
        let r = 0;
        lens.forEach((len, s) => {
          for (let t = 0; t < len; t++, r++) {
            tok[r] = rng.int(d.V);
            pos[r] = t;
            slot[r] = s;
          }
        });
        const scratch = createScratch(d, rowsP);
        const before = fused.calls;
        const pa = new Float32Array(S * d.V);
        const pb = new Float32Array(S * d.V);
        const last = Int32Array.from(lens, (_, i) => lens.slice(0, i + 1).reduce((x, y) => x + y, 0) - 1);
        forwardRows(fused, d, w, rope, a, scratch, tok, pos, slot, rowsP, last, S, pa);
        forwardRows(stepwise, d, w, rope, b, createScratch(d, rowsP), tok, pos, slot, rowsP, last, S, pb);
        assert.equal(fused.calls, before + 1, 'the prefill (short prompts, one run per slot) took the fused path');
        assert.deepEqual(pa, pb, `config ${ci} ${isa} ${threads}t: prefill logits`);
        assertSameCache(a, b, 'after prefill');
        // three decode steps of 5 rows in distinct slots, in shuffled order
        for (let step = 0; step < 3; step++) {
          const R = 5;
          const slots = Int32Array.from(rng.shuffle([...Array(S).keys()]).slice(0, R));
          const positions = Int32Array.from(slots, (s) => lens[s]++);
          const tokens = Int32Array.from(slots, () => rng.int(d.V));
          const rows = Int32Array.from({ length: R }, (_, i) => i);
          const la = new Float32Array(R * d.V);
          const lb = new Float32Array(R * d.V);
          forwardRows(fused, d, w, rope, a, createScratch(d, R), tokens, positions, slots, R, rows, R, la);
          forwardRows(stepwise, d, w, rope, b, createScratch(d, R), tokens, positions, slots, R, rows, R, lb);
          const tag = `config ${ci} ${isa} ${threads}t step ${step}`;
          assert.deepEqual(la, lb, `${tag}: logits`);
          assertSameCache(a, b, tag);
          // row 0 alone (on a copy of the cache as it was before this step) gives the same bits
          if (step === 2) {
            const c = createKvCache(d, S, cap);
            c.k.forEach((x, l) => x.set(b.k[l]));
            c.v.forEach((x, l) => x.set(b.v[l]));
            const one = new Float32Array(d.V);
            forwardRows(nk, d, w, rope, c, createScratch(d, 1), tokens.subarray(0, 1), positions.subarray(0, 1), slots.subarray(0, 1), 1, rows, 1, one);
            assert.deepEqual(one, la.subarray(0, d.V), `${tag}: row 0 alone`);
          }
        }
      }
    }
  }
  addon.setIsa(start.isa);
  addon.setThreads(start.threads);
});

test('decodeLayers refuses repeated slots and weights packed for another shape, naming them', () => {
  const cfg = configs[0];
  const d = dimsOf(cfg);
  const rope = ropeTables(cfg);
  const w = decoderWeights(cfg, randomWeights(cfg, 42));
  refreshPacked(nk, d, w);
  const cache = createKvCache(d, 3, 8);
  const s = createScratch(d, 3);
  const layers = w.layers.map((lw, l) => ({ ...lw, ...w.p!.layers[l], kCache: cache.k[l], vCache: cache.v[l] }));
  const HD = d.H * d.D;
  const call = (slots: number[], ls = layers) =>
    nk.decodeLayers!(s.x, s.xb, s.q, s.k, s.v, s.att, s.gate, s.up, s.hid, ls, rope.cos, rope.sin, Int32Array.from(slots, () => 0), Int32Array.from(slots), slots.length, d.C, d.H, d.KV, d.D, d.F, 8, d.eps, 1);
  assert.throws(() => call([1, 2, 1]), /slots\[2\] = 1 returns to a slot of earlier rows after another slot/);
  assert.throws(() => call([0, 3]), /slots\[1\] = 3 is out of range/);
  const bad = layers.map((l, i) => (i === 1 ? { ...l, wq: nk.packB('nt', l.wk, d.C, d.KV * d.D) } : l));
  assert.throws(() => call([0, 1], bad), new RegExp(`layers\\[1\\]\\.wq (is too short|does not fit packB\\('nt', W, ${d.C}, ${HD}\\))`));
  assert.throws(() => call([0, 1], layers.map((l) => ({ ...l, wq: l.ln1 }))), /layers\[0\]\.wq/);
});

function assertSameCache(a: KvCache, b: KvCache, tag: string): void {
  a.k.forEach((x, l) => assert.deepEqual(x, b.k[l], `${tag}: K cache layer ${l}`));
  a.v.forEach((x, l) => assert.deepEqual(x, b.v[l], `${tag}: V cache layer ${l}`));
}

test('decodeSteps = forwardRows + the TS token choice, step by step: tokens, logprobs, counts, eos stops and RNG states', () => {
  const cfg = configs[0];
  const d = dimsOf(cfg);
  const rope = ropeTables(cfg);
  const w = decoderWeights(cfg, randomWeights(cfg, 43, 0.5));
  refreshPacked(nk, d, w);
  const S = 6;
  const cap = 20;
  const R = 5;
  const rng0 = new Rng(44);
  const lens = Array.from({ length: S }, () => 2 + rng0.int(5));
  const base = createKvCache(d, S, cap);
  for (let s = 0; s < S; s++) {
    const n = lens[s];
    forwardRows(stepwise, d, w, rope, base, createScratch(d, n), Int32Array.from({ length: n }, () => rng0.int(d.V)),
      Int32Array.from({ length: n }, (_, t) => t), new Int32Array(n).fill(s), n, new Int32Array(0), 0, new Float32Array(0));
  }
  const slots = Int32Array.from([4, 0, 2, 5, 1]);
  const positions = Int32Array.from(slots, (s) => lens[s]);
  const first = Int32Array.from(slots, () => rng0.int(d.V));
  const budget = Int32Array.from([3, 3, 1, 3, 2]);
  const steps = 3;
  const copy = () => {
    const c = createKvCache(d, S, cap);
    c.k.forEach((x, l) => x.set(base.k[l]));
    c.v.forEach((x, l) => x.set(base.v[l]));
    return c;
  };
  for (const [pi, p] of [{ temperature: 0, topP: 1, topK: 0 }, { temperature: 1, topP: 1, topK: 0 }, { temperature: 0.7, topP: 1, topK: 5 }, { temperature: 1.3, topP: 0.8, topK: 0 }].entries()) {
    for (const eosMode of [false, true]) {
      // reference: kernel-by-kernel forward, TS chooseToken, TS Rng
      const ref = copy();
      const rngs = Array.from({ length: R }, (_, i) => new Rng(deriveSeed(45, pi, i)));
      const want: { tok: number; m: number; s: number }[][] = Array.from({ length: R }, () => []);
      const cur = Array.from(first);
      const sc = createChoiceScratch(d.V);
      let eos: number[] = [];
      if (eosMode) {
        // the reference's first greedy/sampled token of row 1 becomes an eos id: rows stop after producing it
        const probe = new Float32Array(R * d.V);
        forwardRows(stepwise, d, w, rope, copy(), createScratch(d, R), first, positions, slots, R, Int32Array.from({ length: R }, (_, i) => i), R, probe);
        eos = [chooseToken(probe, d.V, d.V, p, new Rng(deriveSeed(45, pi, 1)), sc).token];
      }
      const done = new Array<boolean>(R).fill(false);
      for (let step = 0; step < steps; step++) {
        const rows = [...Array(R).keys()].filter((i) => !done[i] && want[i].length < budget[i]);
        if (rows.length === 0) break;
        const lg = new Float32Array(rows.length * d.V);
        forwardRows(stepwise, d, w, rope, ref, createScratch(d, rows.length), Int32Array.from(rows, (i) => cur[i]),
          Int32Array.from(rows, (i) => positions[i] + want[i].length), Int32Array.from(rows, (i) => slots[i]), rows.length,
          Int32Array.from(rows, (_, j) => j), rows.length, lg);
        rows.forEach((i, j) => {
          const c = chooseToken(lg, j * d.V, d.V, p, rngs[i], sc);
          want[i].push({ tok: c.token, m: c.modelLogprob, s: c.samplerLogprob });
          cur[i] = c.token;
          if (eos.includes(c.token)) done[i] = true;
        });
      }
      // native
      const cache = copy();
      const state = new Uint32Array(4 * R);
      for (let i = 0; i < R; i++) state.set(new Rng(deriveSeed(45, pi, i)).getState().s, 4 * i);
      const out = { outTokens: new Int32Array(R * steps), outModelLp: new Float64Array(R * steps), outSamplerLp: new Float64Array(R * steps), outCount: new Int32Array(R) };
      decodeStepsRows(nk, d, w, rope, cache, createScratch(d, R), positions, slots, R, new Float32Array(R * d.V), {
        tokens: first, budget, rng: state, ...p, eos: Int32Array.from(eos), stopAtEos: eosMode, steps, ...out,
      });
      const tag = `params ${pi} eos ${eosMode}`;
      for (let i = 0; i < R; i++) {
        assert.equal(out.outCount[i], want[i].length, `${tag} row ${i} count`);
        want[i].forEach((x, c) => {
          assert.equal(out.outTokens[i * steps + c], x.tok, `${tag} row ${i} step ${c} token`);
          assert.ok(Math.abs(out.outModelLp[i * steps + c] - x.m) < 1e-12, `${tag} row ${i} step ${c} model logprob`);
          assert.ok(Math.abs(out.outSamplerLp[i * steps + c] - x.s) < 1e-12, `${tag} row ${i} step ${c} sampler logprob`);
        });
        assert.deepEqual([...state.subarray(4 * i, 4 * i + 4)], rngs[i].getState().s, `${tag} row ${i} rng state`);
      }
      if (eosMode) assert.ok(out.outCount.some((c, i) => c < Math.min(budget[i], steps)), `${tag}: some row stopped at eos`);
      assertSameCache(cache, ref, tag);
    }
  }
});
