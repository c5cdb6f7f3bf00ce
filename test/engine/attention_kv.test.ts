// attentionKvForward against the contract's causal attentionForward (TS reference) on every backend:
// the same sequences, with keys/values placed in a head-major cache [S, KV, cap, D] at scattered
// slots, rows given in a shuffled order, each row attending to positions 0..t of its slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeKernels, tsKernels } from '../../src/engine/index.js';
import type { Kernels } from '../../src/engine/kernels.js';
import { Rng, deriveSeed } from '../../src/util/rng.js';
import { loadAddon } from '../../src/engine/native.js';

const backends: Kernels[] = [tsKernels];
const n = nativeKernels();
if (!(n instanceof Error)) backends.push(n);

for (const k of backends) {
  test(`${k.name}: attentionKvForward equals causal attentionForward, GQA, any row order and slots`, () => {
    const rng = new Rng(5);
    const B = 3, T = 7, H = 6, KV = 2, D = 8, S = 5, cap = 9;
    const rnd = (len: number) => Float32Array.from({ length: len }, () => rng.normal());
    const q = rnd(B * T * H * D), kk = rnd(B * T * KV * D), v = rnd(B * T * KV * D);
    const ref = new Float32Array(B * T * H * D);
    tsKernels.attentionForward(ref, new Float32Array(B * H * T), q, kk, v, B, T, H, KV, D);
    const slotOf = [4, 0, 2];
    const kc = rnd(S * KV * cap * D); // garbage elsewhere must not matter
    const vc = rnd(S * KV * cap * D);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < KV; h++) {
          for (let d = 0; d < D; d++) {
            const o = ((slotOf[b] * KV + h) * cap + t) * D + d;
            kc[o] = kk[(b * T + t) * KV * D + h * D + d];
            vc[o] = v[(b * T + t) * KV * D + h * D + d];
          }
        }
      }
    }
    const order = rng.shuffle(Array.from({ length: B * T }, (_, i) => i));
    const R = order.length;
    const qr = new Float32Array(R * H * D);
    const slots = new Int32Array(R);
    const lengths = new Int32Array(R);
    order.forEach((bt, r) => {
      qr.set(q.subarray(bt * H * D, (bt + 1) * H * D), r * H * D);
      slots[r] = slotOf[Math.floor(bt / T)];
      lengths[r] = (bt % T) + 1;
    });
    const out = new Float32Array(R * H * D);
    k.attentionKvForward(out, qr, kc, vc, slots, lengths, R, H, KV, D, cap);
    order.forEach((bt, r) => {
      for (let i = 0; i < H * D; i++) assert.ok(Math.abs(out[r * H * D + i] - ref[bt * H * D + i]) < 1e-5, `row ${r} (b,t ${bt}) i ${i}`);
    });
    // one row alone gives bit-identical results to the same row inside the batch
    const one = new Float32Array(H * D);
    k.attentionKvForward(one, qr.subarray(0, H * D), kc, vc, slots.subarray(0, 1), lengths.subarray(0, 1), 1, H, KV, D, cap);
    assert.deepEqual(one, out.subarray(0, H * D));
  });
}

// The native kernel against the TS oracle on every instruction set and 1/2 threads: GQA, odd head
// dims, lengths from 0 to cap, slots shared by several rows; and each row's output bit-identical
// whatever batch it is computed in.
const loaded = loadAddon();
if (!(loaded instanceof Error)) {
  const addon = loaded as unknown as {
    setIsa(isa: string): string;
    setThreads(n: number): void;
    info(): { isa: string; threads: number; isas: string[] };
  };
  const nk = n as Kernels;
  const start = addon.info();
  test('native attentionKvForward = TS oracle on every ISA and 1/2 threads; rows independent of the batch', () => {
    try {
      for (const isa of start.isas) {
        addon.setIsa(isa);
        for (const threads of [1, 2]) {
          addon.setThreads(threads);
          for (const [H, KV, D, cap, R, S] of [
            [8, 2, 64, 150, 40, 7],
            [6, 3, 13, 37, 9, 4],
            [4, 4, 32, 5, 3, 2],
            [2, 1, 80, 300, 300, 3],
          ]) {
            const rng = new Rng(deriveSeed(3, isa, threads, H, D, cap));
            const rnd = (len: number) => Float32Array.from({ length: len }, () => rng.normal());
            const q = rnd(R * H * D), kc = rnd(S * KV * cap * D), vc = rnd(S * KV * cap * D);
            const slots = Int32Array.from({ length: R }, () => rng.int(S));
            const lengths = Int32Array.from({ length: R }, (_, r) => (r === 0 ? cap : r === 1 ? 0 : rng.int(cap + 1)));
            const want = new Float32Array(R * H * D);
            tsKernels.attentionKvForward(want, q, kc, vc, slots, lengths, R, H, KV, D, cap);
            const got = new Float32Array(R * H * D).fill(NaN);
            nk.attentionKvForward(got, q, kc, vc, slots, lengths, R, H, KV, D, cap);
            for (let i = 0; i < got.length; i++) {
              const d = Math.abs(got[i] - want[i]);
              if (!(d <= 2e-6 + 2e-5 * Math.abs(want[i]))) {
                assert.fail(`${isa} ${threads}t H=${H} KV=${KV} D=${D}: row ${Math.floor(i / (H * D))} elem ${i % (H * D)}: ${got[i]} vs ${want[i]}`);
              }
            }
            // each row alone, and the batch reversed: bit-identical rows
            const rev = Array.from({ length: R }, (_, r) => R - 1 - r);
            const qr = new Float32Array(R * H * D);
            rev.forEach((src, r) => qr.set(q.subarray(src * H * D, (src + 1) * H * D), r * H * D));
            const outR = new Float32Array(R * H * D);
            nk.attentionKvForward(outR, qr, kc, vc, Int32Array.from(rev, (s) => slots[s]), Int32Array.from(rev, (s) => lengths[s]), R, H, KV, D, cap);
            for (let r = 0; r < R; r++) {
              const one = new Float32Array(H * D);
              nk.attentionKvForward(one, q.subarray(r * H * D, (r + 1) * H * D), kc, vc, slots.subarray(r, r + 1), lengths.subarray(r, r + 1), 1, H, KV, D, cap);
              assert.deepEqual(one, got.subarray(r * H * D, (r + 1) * H * D), `${isa} row ${r} alone`);
              assert.deepEqual(outR.subarray((R - 1 - r) * H * D, (R - r) * H * D), one, `${isa} row ${r} in the reversed batch`);
            }
          }
        }
      }
    } finally {
      addon.setIsa(start.isa);
      addon.setThreads(start.threads);
    }
  });

  test('native attentionKvForward refuses out-of-range slots and lengths, naming them', () => {
    const [H, KV, D, cap, S] = [2, 1, 4, 3, 2];
    const q = new Float32Array(H * D), out = new Float32Array(H * D);
    const kc = new Float32Array(S * KV * cap * D), vc = new Float32Array(S * KV * cap * D);
    assert.throws(() => nk.attentionKvForward(out, q, kc, vc, Int32Array.of(2), Int32Array.of(1), 1, H, KV, D, cap), /slots\[0\] = 2 is out of range/);
    assert.throws(() => nk.attentionKvForward(out, q, kc, vc, Int32Array.of(0), Int32Array.of(4), 1, H, KV, D, cap), /lengths\[0\] = 4 is out of range/);
    assert.throws(() => nk.attentionKvForward(out, q, kc, vc, Int32Array.of(0), Int32Array.of(1), 1, 3, 2, D, cap), /multiple of KV/);
  });
}
