import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmax, chooseToken, createChoiceScratch, logSumExp, type TokenChoiceParams } from '../../src/model/sampling.js';
import { Rng } from '../../src/util/rng.js';

const L = [0, Math.log(2), Math.log(4)]; // p ∝ 1, 2, 4

function freqs(params: TokenChoiceParams, n = 20000): { f: number[]; lq: Map<number, number> } {
  const rng = new Rng(123);
  const sc = createChoiceScratch(3);
  const f = [0, 0, 0];
  const lq = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = chooseToken(L, 0, 3, params, rng, sc);
    f[c.token] += 1 / n;
    lq.set(c.token, c.samplerLogprob);
    assert.ok(Math.abs(c.modelLogprob - Math.log([1, 2, 4][c.token] / 7)) < 1e-12);
  }
  return { f, lq };
}

test('greedy: exact argmax, ties to the lowest id, sampler logprob 0', () => {
  assert.equal(argmax([1, 3, 3, 2], 0, 4), 1);
  const c = chooseToken([1, 3, 3], 0, 3, { temperature: 0, topP: 1, topK: 0 }, new Rng(1), createChoiceScratch(3));
  assert.equal(c.token, 1);
  assert.equal(c.samplerLogprob, 0);
});

test('T = 1 samples the softmax; T = 0.5 sharpens it (p ∝ 1, 4, 16)', () => {
  const a = freqs({ temperature: 1, topP: 1, topK: 0 });
  [1 / 7, 2 / 7, 4 / 7].forEach((p, i) => assert.ok(Math.abs(a.f[i] - p) < 0.015, `${a.f}`));
  [1 / 7, 2 / 7, 4 / 7].forEach((p, i) => assert.ok(Math.abs(a.lq.get(i)! - Math.log(p)) < 1e-12));
  const b = freqs({ temperature: 0.5, topP: 1, topK: 0 });
  [1 / 21, 4 / 21, 16 / 21].forEach((p, i) => assert.ok(Math.abs(b.f[i] - p) < 0.015, `${b.f}`));
});

test('top-k keeps the k most likely and renormalises; top-p keeps the smallest set reaching p', () => {
  const k = freqs({ temperature: 1, topP: 1, topK: 2 });
  assert.equal(k.f[0], 0);
  assert.ok(Math.abs(k.f[2] - 4 / 6) < 0.015);
  assert.ok(Math.abs(k.lq.get(1)! - Math.log(2 / 6)) < 1e-12);
  const p = freqs({ temperature: 1, topP: 0.5, topK: 0 }); // 4/7 ≥ 0.5 alone
  assert.deepEqual(p.f.map((x) => Math.round(x)), [0, 0, 1]);
  const p2 = freqs({ temperature: 1, topP: 0.8, topK: 0 }); // 4/7 < 0.8 ≤ 6/7
  assert.equal(p2.f[0], 0);
  assert.ok(Math.abs(p2.f[1] - 2 / 6) < 0.015);
  const kp = freqs({ temperature: 1, topP: 0.7, topK: 2 }); // within top-2: 4/6 < 0.7 → both kept
  assert.ok(Math.abs(kp.f[1] - 2 / 6) < 0.015);
});

test('large vocabulary: the top-p prefilter picks exactly what a full sort picks', () => {
  const V = 5000;
  const g = new Rng(77);
  const logits = Float32Array.from({ length: V }, () => 3 * g.normal());
  logits[17] = logits[4000] = 9; // a tie at the top
  const sc = createChoiceScratch(V);
  for (const params of [{ temperature: 1, topP: 0.9, topK: 0 }, { temperature: 0.6, topP: 0.5, topK: 0 }, { temperature: 1.3, topP: 0.99, topK: 40 }]) {
    const a = new Rng(1);
    const b = new Rng(1);
    for (let i = 0; i < 300; i++) {
      const got = chooseToken(logits, 0, V, params, a, sc);
      // reference: full sort by (p desc, id asc), top-k, then nucleus, then one coin
      const mx = Math.max(...logits);
      const p = Array.from(logits, (x) => Math.exp((x - mx) / params.temperature));
      let order = [...p.keys()].sort((x, y) => p[y] - p[x] || x - y);
      if (params.topK > 0) order = order.slice(0, params.topK);
      const mass = order.reduce((s, i) => s + p[i], 0);
      let cum = 0;
      let m = 0;
      while (m < order.length) {
        cum += p[order[m++]];
        if (cum / mass >= params.topP) break;
      }
      const u = b.float() * cum;
      let c = 0;
      let tok = order[m - 1];
      for (let j = 0; j < m; j++) {
        c += p[order[j]];
        if (u < c) {
          tok = order[j];
          break;
        }
      }
      assert.equal(got.token, tok);
      assert.ok(Math.abs(got.samplerLogprob - Math.log(p[tok] / cum)) < 1e-9, `${JSON.stringify(params)} ${got.samplerLogprob} ${Math.log(p[tok] / cum)} m=${m}`);
    }
  }
});

test('modelLogprob is exactly logits[token] − logSumExp(logits) at every temperature (T = 1 reuses the sampling exps)', () => {
  const rng = new Rng(77);
  const V = 50;
  const sc = createChoiceScratch(V);
  for (const temperature of [1, 0.7, 1.3, 0]) {
    for (let row = 0; row < 200; row++) {
      const logits = Float32Array.from({ length: V }, () => 4 * rng.normal());
      const c = chooseToken(logits, 0, V, { temperature, topP: 1, topK: 0 }, new Rng(row), sc);
      assert.equal(c.modelLogprob, logits[c.token] - logSumExp(logits, 0, V), `T=${temperature} row ${row}`);
    }
  }
});
