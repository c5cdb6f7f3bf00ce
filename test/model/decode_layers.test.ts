// The native fused decode step (Kernels.decodeLayers) against the kernel-by-kernel forward of the
// same rows: logits and every KV-cache float bit-identical, on every instruction set, 1 and 2
// threads, with grouped-query heads and with q/k/v/o biases; each row also equals itself decoded
// alone. And its refusals: repeated slots, weights not packed for the shape.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, type Kernels } from '../../src/engine/index.js';
import { loadAddon } from '../../src/engine/native.js';
import { createKvCache, createScratch, decoderWeights, dimsOf, forwardRows, refreshPacked, ropeTables, type KvCache } from '../../src/model/decoder.js';
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
