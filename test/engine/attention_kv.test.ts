// attentionKvForward against the contract's causal attentionForward (TS reference) on every backend:
// the same sequences, with keys/values placed in a head-major cache [S, KV, cap, D] at scattered
// slots, rows given in a shuffled order, each row attending to positions 0..t of its slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeKernels, tsKernels } from '../../src/engine/index.js';
import type { Kernels } from '../../src/engine/kernels.js';
import { Rng } from '../../src/util/rng.js';

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
