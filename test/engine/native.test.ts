// The native kernels against the TypeScript oracle (tsKernels) on seeded random inputs, for every
// instruction set this CPU can run (avx512, avx2, generic) and for 1 and 2 threads; odd sizes that
// hit every edge path of the GEMM tiling; grouped-query attention; accumulate and aliasing
// semantics; and the errors a bad argument gets.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon, nativeCoverage, type NativeAddon } from '../../src/engine/native.js';
import { allocLarge, getBackend, tsKernels, type Kernels, type MatmulLayout } from '../../src/engine/index.js';
import { Rng, deriveSeed } from '../../src/util/rng.js';
import { runNode } from './child.js';

const loaded = loadAddon();
if (loaded instanceof Error) throw loaded;
const raw: NativeAddon = loaded;
const addon = loaded as unknown as {
  setIsa(isa: string): string;
  setThreads(n: number): void;
  info(): { isa: string; threads: number; isas: string[] };
};
const nk: Kernels = getBackend('native');
const startIsa = addon.info().isa;
const startThreads = addon.info().threads;
after(() => {
  addon.setIsa(startIsa);
  addon.setThreads(startThreads);
});

function rand(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.float() * 2 - 1) * scale;
  return a;
}
function ints(rng: Rng, n: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(hi);
  return a;
}
const f64 = (a: Float32Array) => Float64Array.from(a);

/** Every |got − want| ≤ atol + rtol·|want|; the message names the first offender. */
function close(got: ArrayLike<number>, want: ArrayLike<number>, label: string, rtol = 1e-5, atol = 1e-6): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= atol + rtol * Math.abs(want[i]))) {
      assert.fail(`${label}: element ${i}: got ${got[i]}, want ${want[i]} (|diff| ${d.toExponential(2)})`);
    }
  }
}

const isas = addon.info().isas;

test('the addon implements every kernel of the contract natively and reports isa and threads', () => {
  assert.deepEqual(nativeCoverage(raw, tsKernels).fallback, []);
  assert.ok(isas.includes(startIsa));
  addon.setThreads(2);
  assert.equal(nk.info().threads, 2);
  addon.setThreads(1);
  assert.equal(nk.info().threads, 1);
  addon.setThreads(startThreads);
});

for (const isa of isas) {
  for (const threads of [1, 2]) {
    describe(`native kernels on ${isa}, ${threads} thread(s)`, () => {
      const setup = () => {
        addon.setIsa(isa);
        addon.setThreads(threads);
      };

      test('matmul nn/nt/tn = float64 reference, with and without accumulate, odd sizes', () => {
        setup();
        const rng = new Rng(deriveSeed(1, 'matmul', isa, threads));
        // (M, N, K): single elements, tails of every tile, K > KC, M > MC, N > NC, and shapes big
        // enough (≥ 2^21 flops) to take the multi-threaded path.
        const shapes: [number, number, number][] = [
          [1, 1, 1], [3, 7, 5], [7, 33, 65], [33, 65, 7], [65, 3, 257], [1, 257, 33], [257, 1, 3],
          [257, 129, 65], [97, 300, 300], [400, 33, 300], [3, 2100, 5], [130, 70, 260],
          // few rows (B read in place, no packing): groups of 8, 4, 2, 1 rows; threaded when big
          [16, 1000, 300], [15, 777, 301], [17, 65, 33], [47, 130, 67], [48, 33, 1000],
        ];
        for (const [M, N, K] of shapes) {
          for (const layout of ['nn', 'nt', 'tn'] as MatmulLayout[]) {
            const A = rand(rng, M * K);
            const B = rand(rng, K * N);
            const C0 = rand(rng, M * N);
            for (const acc of [false, true]) {
              const want = f64(C0);
              tsKernels.matmul(layout, want, f64(A), f64(B), M, N, K, acc);
              const got = C0.slice();
              nk.matmul(layout, got, A, B, M, N, K, acc);
              // Products of values in [-1, 1] summed over K: the error scales with sqrt(K).
              close(got, want, `${layout} M=${M} N=${N} K=${K} acc=${acc}`, 1e-5, 2e-7 * K + 1e-6);
            }
          }
        }
      });

      test('embedding forward copies rows and backward accumulates repeated tokens', () => {
        setup();
        const rng = new Rng(deriveSeed(2, 'emb', isa, threads));
        for (const [N, C, V] of [[1, 1, 1], [33, 7, 5], [257, 65, 11], [300, 300, 3]]) {
          const wte = rand(rng, V * C);
          const tok = ints(rng, N, V);
          const out = new Float32Array(N * C);
          const want = new Float32Array(N * C);
          nk.embeddingForward(out, wte, tok, N, C);
          tsKernels.embeddingForward(want, wte, tok, N, C);
          assert.deepEqual(out, want);
          const dout = rand(rng, N * C);
          const d0 = rand(rng, V * C);
          const dw = d0.slice();
          const dwWant = f64(d0);
          nk.embeddingBackward(dw, dout, tok, N, C);
          tsKernels.embeddingBackward(dwWant, f64(dout), tok, N, C);
          close(dw, dwWant, `embeddingBackward N=${N} C=${C}`, 1e-5, 1e-5);
        }
      });

      test('rmsnorm forward and backward (dinp and dweight accumulate)', () => {
        setup();
        const rng = new Rng(deriveSeed(3, 'rms', isa, threads));
        for (const [N, C] of [[1, 1], [3, 7], [65, 33], [257, 256], [9, 1031]]) {
          const inp = rand(rng, N * C, 2);
          const w = rand(rng, C);
          const out = new Float32Array(N * C);
          const rstd = new Float32Array(N);
          const outW = new Float64Array(N * C);
          const rstdW = new Float64Array(N);
          nk.rmsnormForward(out, rstd, inp, w, N, C, 1e-5);
          tsKernels.rmsnormForward(outW, rstdW, f64(inp), f64(w), N, C, 1e-5);
          close(out, outW, 'rmsnormForward out', 1e-5, 1e-6);
          close(rstd, rstdW, 'rmsnormForward rstd', 1e-5, 1e-6);
          const dout = rand(rng, N * C);
          const di0 = rand(rng, N * C);
          const dw0 = rand(rng, C);
          const di = di0.slice();
          const dw = dw0.slice();
          const diW = f64(di0);
          const dwW = f64(dw0);
          nk.rmsnormBackward(di, dw, dout, inp, w, rstd, N, C);
          tsKernels.rmsnormBackward(diW, dwW, f64(dout), f64(inp), f64(w), f64(rstd), N, C);
          close(di, diW, `rmsnormBackward dinp N=${N} C=${C}`, 1e-4, 1e-5);
          close(dw, dwW, `rmsnormBackward dweight N=${N} C=${C}`, 1e-4, 1e-5 * N);
        }
      });

      test('rope forward and backward (inverse rotation)', () => {
        setup();
        const rng = new Rng(deriveSeed(4, 'rope', isa, threads));
        for (const [N, nH, D] of [[1, 1, 2], [7, 3, 6], [65, 4, 64], [33, 2, 34]]) {
          const maxPos = 50;
          const half = D / 2;
          const cos = new Float32Array(maxPos * half);
          const sin = new Float32Array(maxPos * half);
          for (let p = 0; p < maxPos; p++) {
            for (let i = 0; i < half; i++) {
              const a = p / Math.pow(10000, (2 * i) / D);
              cos[p * half + i] = Math.cos(a);
              sin[p * half + i] = Math.sin(a);
            }
          }
          const pos = ints(rng, N, maxPos);
          const x = rand(rng, N * nH * D);
          const got = x.slice();
          const want = f64(x);
          nk.ropeForward(got, cos, sin, pos, N, nH, D);
          tsKernels.ropeForward(want, f64(cos), f64(sin), pos, N, nH, D);
          close(got, want, `ropeForward D=${D}`, 1e-5, 1e-6);
          nk.ropeBackward(got, cos, sin, pos, N, nH, D);
          close(got, x, `ropeBackward∘ropeForward = identity D=${D}`, 1e-5, 1e-6);
        }
      });

      test('causal GQA attention forward and backward (H=4 with KV=4, 2, 1; odd T and D)', () => {
        setup();
        const rng = new Rng(deriveSeed(5, 'attn', isa, threads));
        const cases: [number, number, number, number, number][] = [
          [1, 1, 1, 1, 1], [2, 7, 4, 2, 5], [2, 33, 4, 1, 16], [1, 17, 4, 4, 64], [3, 65, 2, 2, 8], [2, 40, 4, 2, 33],
        ];
        for (const [B, T, H, KV, D] of cases) {
          const q = rand(rng, B * T * H * D);
          const k = rand(rng, B * T * KV * D);
          const v = rand(rng, B * T * KV * D);
          const out = new Float32Array(B * T * H * D);
          const lse = new Float32Array(B * H * T);
          const outW = new Float64Array(out.length);
          const lseW = new Float64Array(lse.length);
          nk.attentionForward(out, lse, q, k, v, B, T, H, KV, D);
          tsKernels.attentionForward(outW, lseW, f64(q), f64(k), f64(v), B, T, H, KV, D);
          const label = `B=${B} T=${T} H=${H} KV=${KV} D=${D}`;
          close(out, outW, `attentionForward out ${label}`, 1e-4, 1e-5);
          close(lse, lseW, `attentionForward lse ${label}`, 1e-5, 1e-5);
          const dout = rand(rng, out.length);
          // Stale values in the outputs must be overwritten (dq, dk, dv are "=").
          const dq = rand(rng, q.length);
          const dk = rand(rng, k.length);
          const dv = rand(rng, v.length);
          const dqW = new Float64Array(q.length);
          const dkW = new Float64Array(k.length);
          const dvW = new Float64Array(v.length);
          nk.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KV, D);
          tsKernels.attentionBackward(dqW, dkW, dvW, f64(dout), f64(q), f64(k), f64(v), outW, lseW, B, T, H, KV, D);
          close(dq, dqW, `attentionBackward dq ${label}`, 1e-4, 1e-4);
          close(dk, dkW, `attentionBackward dk ${label}`, 1e-4, 1e-4);
          close(dv, dvW, `attentionBackward dv ${label}`, 1e-4, 1e-4);
        }
      });

      test('swiglu forward and backward, including large |gate|', () => {
        setup();
        const rng = new Rng(deriveSeed(6, 'swiglu', isa, threads));
        for (const n of [1, 3, 17, 33, 65, 257, 70001]) {
          const gate = rand(rng, n, 12);
          if (n > 3) {
            gate[0] = 100;
            gate[1] = -100;
            gate[2] = 0;
          }
          const up = rand(rng, n);
          const out = new Float32Array(n);
          const outW = new Float64Array(n);
          nk.swigluForward(out, gate, up, n);
          tsKernels.swigluForward(outW, f64(gate), f64(up), n);
          close(out, outW, `swigluForward n=${n}`, 1e-5, 1e-6);
          const dout = rand(rng, n);
          const dg = new Float32Array(n);
          const du = new Float32Array(n);
          const dgW = new Float64Array(n);
          const duW = new Float64Array(n);
          nk.swigluBackward(dg, du, dout, gate, up, n);
          tsKernels.swigluBackward(dgW, duW, f64(dout), f64(gate), f64(up), n);
          close(dg, dgW, `swigluBackward dgate n=${n}`, 1e-5, 1e-6);
          close(du, duW, `swigluBackward dup n=${n}`, 1e-5, 1e-6);
        }
      });

      test('add (also in place), scale, sumSquares in float64', () => {
        setup();
        const rng = new Rng(deriveSeed(7, 'elt', isa, threads));
        for (const n of [1, 7, 33, 257, 200003]) {
          const a = rand(rng, n);
          const b = rand(rng, n);
          const want = new Float32Array(n);
          tsKernels.add(want, a, b, n);
          const out = new Float32Array(n);
          nk.add(out, a, b, n);
          assert.deepEqual(out, want);
          const a2 = a.slice();
          nk.add(a2, a2, b, n);
          assert.deepEqual(a2, want, 'add with out aliasing a');
          const b2 = b.slice();
          nk.add(b2, a, b2, n);
          assert.deepEqual(b2, want, 'add with out aliasing b');
          const x = a.slice();
          const xW = a.slice();
          nk.scale(x, 0.37, n);
          tsKernels.scale(xW, 0.37, n);
          // float32·float32 here, float64 then rounded in TS: at most one ulp apart.
          close(x, xW, `scale n=${n}`, 1.2e-7, 0);
          const ss = nk.sumSquares(a, n);
          const ssW = tsKernels.sumSquares(a, n);
          assert.ok(Math.abs(ss - ssW) <= 1e-12 * ssW, `sumSquares n=${n}: ${ss} vs ${ssW}`);
        }
        // float64 accumulation: 2^24 + many ones is not representable in float32 partial sums.
        const big = new Float32Array(1 << 17).fill(1);
        big[0] = 4096; // 4096² = 2^24
        assert.equal(nk.sumSquares(big, big.length), 2 ** 24 + (1 << 17) - 1);
      });

      test('cross-entropy: losses, total, gradient (also in place over the logits), masked rows', () => {
        setup();
        const rng = new Rng(deriveSeed(8, 'ce', isa, threads));
        for (const [N, V] of [[1, 1], [3, 7], [65, 64], [257, 33], [5, 5003]]) {
          const logits = rand(rng, N * V, 8);
          const targets = ints(rng, N, V);
          const weights = new Float32Array(N);
          for (let n = 0; n < N; n++) weights[n] = n % 3 === 1 ? 0 : 0.5 + rng.float();
          const losses = rand(rng, N);
          const dl = rand(rng, N * V);
          const lossesW = new Float64Array(N);
          const dlW = new Float64Array(N * V);
          const tot = nk.crossEntropy(losses, dl, logits, targets, weights, N, V);
          const totW = tsKernels.crossEntropy(lossesW, dlW, f64(logits), targets, f64(weights), N, V);
          close(losses, lossesW, `crossEntropy losses N=${N} V=${V}`, 1e-5, 1e-5);
          close(dl, dlW, `crossEntropy dlogits N=${N} V=${V}`, 1e-5, 1e-6);
          assert.ok(Math.abs(tot - totW) <= 1e-5 * Math.abs(totW) + 1e-5, `total ${tot} vs ${totW}`);
          const inPlace = logits.slice();
          const losses2 = new Float32Array(N);
          const tot2 = nk.crossEntropy(losses2, inPlace, inPlace, targets, weights, N, V);
          assert.equal(tot2, tot);
          assert.deepEqual(inPlace, dl, 'dlogits aliasing logits');
          const losses3 = new Float32Array(N);
          assert.equal(nk.crossEntropy(losses3, null, logits, targets, weights, N, V), tot);
          assert.deepEqual(losses3, losses);
        }
      });

      test('adamw matches PyTorch semantics over several steps', () => {
        setup();
        const rng = new Rng(deriveSeed(9, 'adamw', isa, threads));
        for (const n of [1, 7, 33, 70001]) {
          const p = rand(rng, n);
          const m = new Float32Array(n);
          const v = new Float32Array(n);
          const pW = f64(p);
          const mW = new Float64Array(n);
          const vW = new Float64Array(n);
          for (let step = 1; step <= 3; step++) {
            const g = rand(rng, n, 0.1);
            nk.adamw(p, g, m, v, n, 1e-3, 0.9, 0.95, 1e-8, 0.1, step);
            tsKernels.adamw(pW, f64(g), mW, vW, n, 1e-3, 0.9, 0.95, 1e-8, 0.1, step);
          }
          close(p, pW, `adamw params n=${n}`, 1e-5, 1e-6);
          close(m, mW, `adamw m n=${n}`, 1e-5, 1e-7);
          close(v, vW, `adamw v n=${n}`, 1e-5, 1e-9);
        }
      });
    });
  }
}

test('GEMM results are bit-identical across thread counts and runs', () => {
  const rng = new Rng(deriveSeed(10, 'det'));
  const [M, N, K] = [301, 203, 299];
  const A = rand(rng, M * K);
  const B = rand(rng, K * N);
  for (const layout of ['nn', 'nt', 'tn'] as MatmulLayout[]) {
    addon.setThreads(1);
    const c1 = new Float32Array(M * N);
    nk.matmul(layout, c1, A, B, M, N, K, false);
    addon.setThreads(2);
    const c2 = new Float32Array(M * N);
    nk.matmul(layout, c2, A, B, M, N, K, false);
    const c3 = new Float32Array(M * N);
    nk.matmul(layout, c3, A, B, M, N, K, false);
    assert.deepEqual(c2, c1, `${layout}: 2 threads vs 1`);
    assert.deepEqual(c3, c2, `${layout}: run to run`);
  }
  addon.setThreads(startThreads);
});

test('matmul: each row of C is bit-identical whatever M, the path taken and the thread count', () => {
  // Row i of an M-row product against the same row computed alone (M = 1), for M across the
  // few-row paths (≤ 16 nt, ≤ 48 nn/tn), the packed paths and their tile edges; K spans several KC
  // blocks; N has a column tail; with accumulate the prior C must be added the same way too.
  const Ms = [1, 2, 5, 16, 17, 48, 49, 200];
  const Mmax = 200;
  const shapes: [number, number][] = [[77, 300], [520, 530]];
  for (const isa of isas) {
    addon.setIsa(isa);
    for (const [N, K] of shapes) {
      const rng = new Rng(deriveSeed(21, 'rows', isa, N, K));
      const Arows = rand(rng, Mmax * K); // row i = the i-th row of op(A)
      const B = rand(rng, K * N);
      const C0 = rand(rng, Mmax * N);
      for (const layout of ['nn', 'nt', 'tn'] as MatmulLayout[]) {
        // op(A) with rows [r0, r0 + M): row-major for nn/nt, [K, M] for tn.
        const opA = (r0: number, M: number): Float32Array => {
          if (layout !== 'tn') return Arows.slice(r0 * K, (r0 + M) * K);
          const a = new Float32Array(K * M);
          for (let k = 0; k < K; k++) for (let i = 0; i < M; i++) a[k * M + i] = Arows[(r0 + i) * K + k];
          return a;
        };
        for (const threads of [1, 2]) {
          addon.setThreads(threads);
          for (const acc of [false, true]) {
            const alone = new Float32Array(Mmax * N);
            for (let i = 0; i < Mmax; i++) {
              const c = C0.slice(i * N, (i + 1) * N);
              nk.matmul(layout, c, opA(i, 1), B, 1, N, K, acc);
              alone.set(c, i * N);
            }
            for (const M of Ms) {
              const c = C0.slice(0, M * N);
              nk.matmul(layout, c, opA(0, M), B, M, N, K, acc);
              for (let i = 0; i < M; i++) {
                for (let j = 0; j < N; j++) {
                  if (!Object.is(c[i * N + j], alone[i * N + j])) {
                    assert.fail(
                      `${isa} ${layout} N=${N} K=${K} ${threads} thread(s) acc=${acc}: M=${M} row ${i} col ${j}: ` +
                        `${c[i * N + j]} vs ${alone[i * N + j]} alone`,
                    );
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  addon.setIsa(startIsa);
  addon.setThreads(startThreads);
});

test("matmul: 'nn' with Wᵀ gives the bits of 'nt' with W (the sampler's transposed weights rely on it)", () => {
  for (const isa of isas) {
    addon.setIsa(isa);
    for (const threads of [1, 2]) {
      addon.setThreads(threads);
      for (const [M, N, K] of [[1, 77, 300], [5, 77, 300], [17, 520, 530], [49, 64, 256], [200, 77, 300]]) {
        const rng = new Rng(deriveSeed(22, isa, threads, M, N, K));
        const A = rand(rng, M * K);
        const W = rand(rng, N * K);
        const WT = new Float32Array(K * N);
        for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) WT[k * N + j] = W[j * K + k];
        const cnt = new Float32Array(M * N);
        const cnn = new Float32Array(M * N);
        nk.matmul('nt', cnt, A, W, M, N, K, false);
        nk.matmul('nn', cnn, A, WT, M, N, K, false);
        assert.deepEqual(cnn, cnt, `${isa} ${threads}t M=${M} N=${N} K=${K}`);
      }
    }
  }
  addon.setIsa(startIsa);
  addon.setThreads(startThreads);
});

test('matmulPacked: rows bit-identical to matmul (nn with B, nt with W) on every ISA, thread count, M and accumulate', () => {
  // packB once, then every path of matmulPacked (few rows, many rows, K over several KC blocks,
  // N with a column tail) against matmul on the unpacked operand, row by row, prior C included.
  for (const isa of isas) {
    addon.setIsa(isa);
    for (const threads of [1, 2]) {
      addon.setThreads(threads);
      for (const [N, K] of [[77, 300], [520, 530], [64, 256], [33, 1]] as [number, number][]) {
        const rng = new Rng(deriveSeed(23, isa, threads, N, K));
        const W = rand(rng, N * K); // 'nt' operand [N, K]
        const WT = new Float32Array(K * N); // 'nn' operand [K, N]
        for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) WT[k * N + j] = W[j * K + k];
        const pnt = nk.packB('nt', W, K, N);
        const pnn = nk.packB('nn', WT, K, N);
        for (const M of [1, 5, 16, 48, 49, 200]) {
          const A = rand(rng, M * K);
          const C0 = rand(rng, M * N);
          for (const acc of [false, true]) {
            const want = C0.slice();
            nk.matmul('nt', want, A, W, M, N, K, acc);
            const a = C0.slice();
            const b = C0.slice();
            nk.matmulPacked(a, A, pnt, M, N, K, acc);
            nk.matmulPacked(b, A, pnn, M, N, K, acc);
            const tag = `${isa} ${threads}t M=${M} N=${N} K=${K} acc=${acc}`;
            assert.deepEqual(a, want, `${tag} (packed from nt)`);
            assert.deepEqual(b, want, `${tag} (packed from nn)`);
          }
        }
      }
    }
  }
  addon.setIsa(startIsa);
  addon.setThreads(startThreads);
});

test('matmulPacked refuses a B packed for other K/N, by another kernel set or the TS backend, naming why', () => {
  const rng = new Rng(24);
  const W = rand(rng, 40 * 30);
  const p = nk.packB('nt', W, 30, 40);
  const A = rand(rng, 3 * 30);
  const C = new Float32Array(3 * 40);
  assert.throws(() => nk.matmulPacked(C, A, p, 3, 39, 30, false), /Bp does not fit: it was packed for other K, N/);
  assert.throws(() => nk.matmulPacked(C, A, tsKernels.packB('nt', W, 30, 40), 3, 40, 30, false), /Bp/);
  assert.throws(() => tsKernels.matmulPacked(C, A, p, 3, 40, 30, false), /Bp does not fit/);
  assert.throws(() => nk.matmulPacked(C, A, p.subarray(0, 100), 3, 40, 30, false), /argument Bp is too short/);
  const other = isas.find((i) => i !== startIsa);
  if (other) {
    addon.setIsa(other);
    try {
      const q = nk.packB('nt', W, 30, 40);
      addon.setIsa(startIsa);
      // the generic and AVX2 builds tile differently from AVX-512; where they agree the bits would too
      if (q[1] !== p[1] || q[2] !== p[2]) assert.throws(() => nk.matmulPacked(C, A, q, 3, 40, 30, false), /another kernel set/);
    } finally {
      addon.setIsa(startIsa);
    }
  }
  assert.throws(() => nk.packB('tn' as 'nn', W, 30, 40), /layout must be 'nn' or 'nt'/);
  // TS backend: packed = matmul on the same operand
  const want = new Float32Array(3 * 40);
  tsKernels.matmul('nt', want, A, W, 3, 40, 30, false);
  const got = new Float32Array(3 * 40);
  tsKernels.matmulPacked(got, A, tsKernels.packB('nt', W, 30, 40), 3, 40, 30, false);
  assert.deepEqual(got, want);
});

test('allocLarge: zeroed Float32Arrays of the asked length, small ones plain, large ones their own mapping', () => {
  for (const n of [0, 10, 1 << 20, (5 << 20) + 3]) {
    const a = allocLarge(n);
    assert.ok(a instanceof Float32Array);
    assert.equal(a.length, n);
    assert.ok(a.every((x) => x === 0), `n=${n} zeroed`);
    if (n > 0) {
      a[n - 1] = 7;
      a[0] = -1;
      assert.equal(a[n - 1] + a[0], 6);
    }
  }
  const alloc = (raw as unknown as { allocLarge(n: number): Float32Array }).allocLarge;
  assert.throws(() => alloc(-1), /argument n must be an integer >= 0/);
  assert.throws(() => alloc(1.5), /argument n must be an integer >= 0/);
});

test('reductions are bit-identical from run to run on 2 threads', () => {
  addon.setThreads(2);
  const rng = new Rng(deriveSeed(13, 'reduce'));
  const [N, C, V] = [1031, 257, 65];
  const x = rand(rng, N * C);
  const w = rand(rng, C);
  const rstd = rand(rng, N);
  const dout = rand(rng, N * C);
  const logits = rand(rng, N * V, 4);
  const targets = ints(rng, N, V);
  const weights = new Float32Array(N).fill(1);
  const runOnce = () => {
    const dinp = new Float32Array(N * C);
    const dw = new Float32Array(C);
    nk.rmsnormBackward(dinp, dw, dout, x, w, rstd, N, C);
    const losses = new Float32Array(N);
    const total = nk.crossEntropy(losses, null, logits, targets, weights, N, V);
    return { dw, ss: nk.sumSquares(x, N * C), total };
  };
  const first = runOnce();
  for (let r = 0; r < 5; r++) {
    const again = runOnce();
    assert.deepEqual(again.dw, first.dw);
    assert.equal(again.ss, first.ss);
    assert.equal(again.total, first.total);
  }
  addon.setThreads(startThreads);
});

test('a very wide B (K·N > 2^23) takes the static two-block split and is still right', () => {
  addon.setThreads(2);
  const rng = new Rng(deriveSeed(11, 'wide'));
  const [M, N, K] = [17, (1 << 20) + 5, 9];
  const A = rand(rng, M * K);
  const B = rand(rng, K * N);
  for (const layout of ['nt'] as MatmulLayout[]) {
    const C = new Float32Array(M * N);
    nk.matmul(layout, C, A, B, M, N, K, false);
    const want = new Float64Array(M * N);
    tsKernels.matmul(layout, want, f64(A), f64(B), M, N, K, false);
    close(C, want, `${layout} wide`, 1e-5, 1e-5);
  }
  addon.setThreads(startThreads);
});

test('subarray views are read and written at their offsets', () => {
  const rng = new Rng(deriveSeed(12, 'views'));
  const [M, N, K] = [5, 6, 7];
  const big = rand(rng, 1000);
  const A = big.subarray(3, 3 + M * K);
  const B = big.subarray(100, 100 + K * N);
  const cbuf = new Float32Array(500).fill(7);
  const C = cbuf.subarray(11, 11 + M * N);
  nk.matmul('nn', C, A, B, M, N, K, false);
  const want = new Float64Array(M * N);
  tsKernels.matmul('nn', want, f64(A.slice()), f64(B.slice()), M, N, K, false);
  close(C, want, 'view matmul');
  assert.equal(cbuf[10], 7);
  assert.equal(cbuf[11 + M * N], 7);
  const x = big.slice(0, 20);
  nk.scale(x.subarray(5, 10), 2, 5);
  assert.deepEqual([...x.subarray(4, 11)], [big[4], 2 * big[5], 2 * big[6], 2 * big[7], 2 * big[8], 2 * big[9], big[10]]);
});

test('BSTAR_THREADS is applied through setThreads by getKernels()', () => {
  const engine = new URL('../../src/engine/index.js', import.meta.url).href;
  const script = `import(${JSON.stringify(engine)}).then((m) => console.log(m.getKernels().info().threads))`;
  for (const t of ['1', '3']) {
    const outp = runNode(['-e', script], { ...process.env, BSTAR_THREADS: t, BSTAR_BACKEND: 'native' });
    assert.equal(outp.trim(), t);
  }
});

test('zero sizes are accepted and touch nothing (K = 0 writes zeros unless accumulating)', () => {
  const e = new Float32Array(0);
  const i0 = new Int32Array(0);
  const f = new Float32Array(8).fill(3);
  for (const threads of [1, 2]) {
    addon.setThreads(threads);
    nk.matmul('nn', e, e, e, 0, 0, 0, false);
    const c = new Float32Array(6).fill(5);
    nk.matmul('nt', c, e, e, 2, 3, 0, true);
    assert.deepEqual([...c], [5, 5, 5, 5, 5, 5]);
    nk.matmul('tn', c, e, e, 2, 3, 0, false);
    assert.deepEqual([...c], [0, 0, 0, 0, 0, 0]);
    nk.embeddingForward(e, e, i0, 0, 4);
    nk.embeddingBackward(e, e, i0, 0, 4);
    nk.rmsnormForward(e, e, e, f, 0, 4, 1e-5);
    nk.rmsnormBackward(e, f, e, e, f, e, 0, 4);
    assert.deepEqual([...f], [3, 3, 3, 3, 3, 3, 3, 3]);
    nk.ropeForward(e, e, e, i0, 0, 2, 4);
    nk.attentionForward(e, e, e, e, e, 0, 4, 2, 1, 4);
    nk.attentionForward(e, e, e, e, e, 2, 0, 2, 1, 4);
    nk.attentionBackward(e, e, e, e, e, e, e, e, e, 2, 0, 2, 1, 4);
    nk.swigluForward(e, e, e, 0);
    nk.swigluBackward(e, e, e, e, e, 0);
    nk.add(e, e, e, 0);
    nk.scale(e, 2, 0);
    assert.equal(nk.sumSquares(e, 0), 0);
    assert.equal(nk.crossEntropy(e, null, e, i0, e, 0, 5), 0);
    nk.adamw(e, e, e, e, 0, 1e-3, 0.9, 0.99, 1e-8, 0, 1);
  }
  addon.setThreads(startThreads);
});

describe('bad arguments are refused with the argument named', () => {
  const f = new Float32Array(12);
  test('a Float64Array where a Float32Array is required', () => {
    assert.throws(() => nk.matmul('nn', new Float64Array(4), f, f, 2, 2, 2, false), {
      name: 'TypeError',
      message: /matmul: argument C must be a Float32Array, got Float64Array/,
    });
    assert.throws(() => nk.add(f, f, new Float64Array(12) as unknown as Float32Array, 12), /argument b must be a Float32Array, got Float64Array/);
    assert.throws(() => nk.embeddingForward(f, f, new Float32Array(2) as unknown as Int32Array, 2, 2), {
      name: 'TypeError',
      message: /argument tokens must be a Int32Array, got Float32Array/,
    });
  });
  test('a buffer shorter than the dims need', () => {
    assert.throws(() => nk.matmul('nn', new Float32Array(12), new Float32Array(10), f, 3, 4, 4, false), {
      name: 'TypeError',
      message: /argument A is too short: needs 12 elements \(M\*K\), got 10/,
    });
    assert.throws(
      () => nk.attentionForward(new Float32Array(64), new Float32Array(16), new Float32Array(64), new Float32Array(31), new Float32Array(32), 1, 4, 4, 2, 4),
      /argument k is too short: needs 32 elements \(B\*T\*KV\*D\), got 31/,
    );
  });
  test('dims that are not integers ≥ 0, bad layouts and head counts, out-of-range indices', () => {
    assert.throws(() => nk.scale(f, 2, -1), { name: 'RangeError', message: /argument n must be an integer >= 0, got -1/ });
    assert.throws(() => nk.scale(f, 2, 1.5), { name: 'RangeError', message: /argument n must be an integer >= 0, got 1.5/ });
    assert.throws(() => nk.matmul('tt' as MatmulLayout, f, f, f, 1, 1, 1, false), /argument layout must be 'nn', 'nt' or 'tn', got 'tt'/);
    assert.throws(() => nk.attentionForward(f, f, f, f, f, 1, 1, 3, 2, 1), { name: 'RangeError', message: /H must be a multiple of KV/ });
    assert.throws(() => nk.embeddingForward(f, f, Int32Array.from([0, 6]), 2, 2), {
      name: 'RangeError',
      message: /tokens\[1\] = 6 is out of range: expected 0 <= value < 6/,
    });
    assert.throws(
      () => nk.crossEntropy(new Float32Array(2), null, f, Int32Array.from([1, -1]), new Float32Array(2).fill(1), 2, 6),
      { name: 'RangeError', message: /targets\[1\] = -1 is out of range/ },
    );
    assert.throws(() => nk.ropeForward(f, f, f, Int32Array.from([0]), 1, 1, 3), /argument D must be even/);
    assert.throws(() => nk.setThreads(0), { name: 'RangeError', message: /argument n must be an integer in \[1, 256\], got 0/ });
  });
  test('C aliasing A or B in matmul', () => {
    const buf = new Float32Array(16);
    assert.throws(() => nk.matmul('nn', buf.subarray(0, 4), buf.subarray(2, 6), f, 2, 2, 2, false), /C overlaps A/);
    assert.throws(() => nk.matmul('nn', buf.subarray(8, 12), f, buf.subarray(6, 10), 2, 2, 2, false), /C overlaps B/);
  });
  test('BSTAR_ISA naming an unknown instruction set fails the load with the variable named', () => {
    const script = `try { require(${JSON.stringify(addonPath())}); console.log('loaded'); } catch (e) { console.log(e.message); }`;
    const outp = runNode(['-e', script], { ...process.env, BSTAR_ISA: 'sse9' });
    assert.match(outp, /BSTAR_ISA=sse9 is not an instruction set/);
    const lowest = isas[isas.length - 1]; // generic on x86-64, neon on aarch64
    const ok = runNode(['-e', `console.log(require(${JSON.stringify(addonPath())}).info().isa)`], { ...process.env, BSTAR_ISA: lowest });
    assert.equal(ok.trim(), lowest);
  });
});

function addonPath(): string {
  return new URL('../../../build/Release/bstar_engine.node', import.meta.url).pathname;
}
