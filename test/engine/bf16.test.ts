// The bf16 GEMM (bf16 operands, fp32 sums): the rounding against hand-computed cases; every kernel set
// (native vdpbf16ps where this CPU has AVX512_BF16, the emulated one everywhere) against the float64
// product of the rounded operands; the bit-identity rules of the fp32 path (a row does not depend on M,
// the path or the threads; packed = unpacked; nn with Wᵀ = nt with W); the emulated kernel sets agreeing
// bit for bit; precision 'auto' and the bf16 wrapper; and the errors.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon } from '../../src/engine/native.js';
import { getBackend, resolvePrecision, roundBf16, tsKernels, withMatmulPrecision, type Kernels, type MatmulLayout } from '../../src/engine/index.js';
import { bf16Bits, roundedBf16 } from '../../src/engine/bf16.js';
import { Rng, deriveSeed } from '../../src/util/rng.js';
import { runNode } from './child.js';

const loaded = loadAddon();
if (loaded instanceof Error) throw loaded;
const addon = loaded as unknown as {
  setIsa(isa: string): string;
  setThreads(n: number): void;
  setBf16(impl: string): string;
  info(): { isa: string; threads: number; isas: string[]; bf16: string; bf16Native: boolean; bf16Fast: boolean };
};
const nk: Kernels = getBackend('native');
const start = addon.info();
after(() => {
  addon.setIsa(start.isa);
  addon.setThreads(start.threads);
  addon.setBf16('native');
});

function rand(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.float() * 2 - 1) * scale;
  return a;
}
const layouts: MatmulLayout[] = ['nn', 'nt', 'tn'];

/** The float64 product of the bf16-rounded operands (the exact value the fp32 sums approximate). */
function reference(layout: MatmulLayout, A: Float32Array, B: Float32Array, C0: Float32Array, M: number, N: number, K: number, acc: boolean): Float64Array {
  const C = Float64Array.from(C0);
  tsKernels.matmul(layout, C, Float64Array.from(roundedBf16(A, M * K)), Float64Array.from(roundedBf16(B, K * N)), M, N, K, acc);
  return C;
}

function close(got: Float32Array, want: Float64Array, label: string, rtol: number, atol: number): void {
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= atol + rtol * Math.abs(want[i]))) assert.fail(`${label}: element ${i}: got ${got[i]}, want ${want[i]} (|diff| ${d.toExponential(2)})`);
  }
}

test('roundBf16: nearest even, denormals to signed zero, overflow to infinity, NaN stays NaN', () => {
  const u = 2 ** -7; // one bf16 ulp at 1
  assert.equal(roundBf16(1), 1);
  assert.equal(roundBf16(1 + u / 2), 1, 'a tie rounds to the even neighbour (1)');
  assert.equal(roundBf16(1 + (3 * u) / 2), 1 + 2 * u, 'a tie rounds to the even neighbour (1 + 2u)');
  assert.equal(roundBf16(1 + u / 2 + 2 ** -20), 1 + u, 'above the tie rounds up');
  assert.equal(roundBf16(1 + u / 2 - 2 ** -20), 1, 'below the tie rounds down');
  assert.equal(roundBf16(-3.1415926), -3.140625);
  assert.equal(roundBf16(2 ** -126), 2 ** -126, 'the smallest normal stays');
  assert.ok(Object.is(roundBf16(1e-40), 0) && Object.is(roundBf16(-1e-40), -0), 'denormals become a signed zero');
  assert.equal(roundBf16(3.4028234663852886e38), Infinity, 'the largest float rounds up to infinity');
  assert.equal(roundBf16(3.3895313892515355e38), 3.3895313892515355e38, 'the largest bf16 stays');
  assert.equal(roundBf16(-Infinity), -Infinity);
  assert.ok(Number.isNaN(roundBf16(NaN)));
  assert.equal(bf16Bits(NaN) & 0x400000, 0x400000, 'a NaN comes out quiet');
});

test('info() names the bf16 GEMM; precision auto follows bf16Fast', () => {
  const info = nk.info();
  assert.ok(info.bf16 === 'avx512bf16' || info.bf16 === 'emulated', info.bf16);
  assert.equal(info.bf16 === 'avx512bf16', start.bf16Native && start.isa === 'avx512');
  if (info.bf16Fast) assert.equal(info.bf16, 'avx512bf16', 'only a native bf16 GEMM can be the faster one');
  assert.equal(resolvePrecision('auto', nk), info.bf16Fast ? 'bf16' : 'fp32');
  assert.equal(resolvePrecision('auto', tsKernels), 'fp32');
  assert.equal(resolvePrecision('bf16', tsKernels), 'bf16');
  assert.throws(() => resolvePrecision('fp16' as never, nk), /precision must be 'fp32', 'bf16' or 'auto', got fp16/);
});

// Every kernel set this CPU runs, with its native bf16 GEMM where it has one and with the emulated one.
const variants: { isa: string; impl: 'native' | 'emulated' }[] = [];
for (const isa of start.isas) {
  variants.push({ isa, impl: 'emulated' });
  if (isa === 'avx512' && start.bf16Native) variants.push({ isa, impl: 'native' });
}
const setup = (isa: string, impl: string, threads: number) => {
  addon.setIsa(isa);
  addon.setBf16(impl);
  addon.setThreads(threads);
};

for (const { isa, impl } of variants) {
  for (const threads of [1, 2]) {
    describe(`bf16 GEMM on ${isa} (${impl}), ${threads} thread(s)`, () => {
      test('matmul nn/nt/tn = the float64 product of the rounded operands, odd sizes, accumulate', () => {
        setup(isa, impl, threads);
        assert.equal(addon.info().bf16, impl === 'native' ? 'avx512bf16' : 'emulated');
        const rng = new Rng(deriveSeed(71, isa, impl, threads));
        // tails of every tile, odd K (a half-empty last pair), K past the 512-deep bf16 block, M past the
        // row blocks, N past the 2048-column panel, and sizes big enough for the threaded path
        const shapes: [number, number, number][] = [
          [1, 1, 1], [3, 7, 5], [7, 33, 65], [33, 65, 7], [65, 3, 257], [1, 257, 33], [257, 1, 3],
          [97, 300, 300], [400, 33, 1100], [3, 2100, 5], [130, 70, 513], [16, 1000, 301], [200, 96, 1024],
        ];
        for (const [M, N, K] of shapes) {
          for (const layout of layouts) {
            const A = rand(rng, M * K);
            const B = rand(rng, K * N);
            const C0 = rand(rng, M * N);
            for (const acc of [false, true]) {
              const got = C0.slice();
              nk.matmul(layout, got, A, B, M, N, K, acc, 'bf16');
              close(got, reference(layout, A, B, C0, M, N, K, acc), `${layout} M=${M} N=${N} K=${K} acc=${acc}`, 1e-5, 2e-7 * K + 1e-6);
            }
          }
        }
      });

      test('row i is the same bits whatever M, the path and the thread count; packed = unpacked; nn with Wᵀ = nt with W', () => {
        setup(isa, impl, threads);
        const rng = new Rng(deriveSeed(72, isa, impl));
        for (const [N, K] of [[96, 64], [300, 1030], [33, 7]]) {
          const Mmax = 200;
          const A = rand(rng, Mmax * K);
          const W = rand(rng, N * K); // [N, K]: the 'nt' operand
          const WT = new Float32Array(K * N); // [K, N]: the same matrix for 'nn'
          for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) WT[k * N + j] = W[j * K + k];
          const alone = new Float32Array(N);
          nk.matmul('nt', alone, A.subarray(0, K), W, 1, N, K, false, 'bf16');
          const pnt = nk.packB('nt', W, K, N, 'bf16');
          const pnn = nk.packB('nn', WT, K, N, 'bf16');
          for (const M of [1, 2, 5, 16, 17, 48, 49, 200]) {
            for (const [name, run] of [
              ['nt', (C: Float32Array) => nk.matmul('nt', C, A, W, M, N, K, false, 'bf16')],
              ['nn with Wᵀ', (C: Float32Array) => nk.matmul('nn', C, A, WT, M, N, K, false, 'bf16')],
              ['packed nt', (C: Float32Array) => nk.matmulPacked(C, A, pnt, M, N, K, false)],
              ['packed nn', (C: Float32Array) => nk.matmulPacked(C, A, pnn, M, N, K, false)],
            ] as const) {
              const C = new Float32Array(M * N);
              run(C);
              assert.deepEqual(C.subarray(0, N), alone, `${name} M=${M} N=${N} K=${K}: row 0`);
            }
          }
          // tn: row i of Aᵀ·B is the same bits whatever M (A stored [K, M])
          const At = rand(rng, K * 17);
          const B = rand(rng, K * N);
          const full = new Float32Array(17 * N);
          nk.matmul('tn', full, At, B, 17, N, K, false, 'bf16');
          const col0 = new Float32Array(K);
          for (let k = 0; k < K; k++) col0[k] = At[k * 17];
          const one = new Float32Array(N);
          nk.matmul('tn', one, col0, B, 1, N, K, false, 'bf16');
          assert.deepEqual(full.subarray(0, N), one, `tn N=${N} K=${K}: row 0`);
        }
      });
    });
  }
}

test('a very deep product (B packed in runs of depth blocks, two column panels) = the few-row packed path, bit for bit', () => {
  setup(start.isa, 'native', 2);
  const rng = new Rng(76);
  const [M, N, K] = [9, 2100, 4700];
  const A = rand(rng, M * K);
  const W = rand(rng, N * K);
  const C = new Float32Array(M * N);
  nk.matmul('nt', C, A, W, M, N, K, false, 'bf16');
  const P = new Float32Array(M * N);
  nk.matmulPacked(P, A, nk.packB('nt', W, K, N, 'bf16'), M, N, K, false);
  assert.deepEqual(C, P);
  // and the float64 reference on a few columns, the last panel's included
  for (const j of [0, 1000, 2047, 2048, 2099]) {
    let ref = 0;
    for (let k = 0; k < K; k++) ref += roundBf16(A[k]) * roundBf16(W[j * K + k]);
    assert.ok(Math.abs(C[j] - ref) <= 2e-7 * K + 1e-5 * Math.abs(ref), `column ${j}: ${C[j]} vs ${ref}`);
  }
});

test('the emulated kernel sets give the same bits (products of bf16 values are exact in fp32)', () => {
  const emulated = start.isas;
  const rng = new Rng(72);
  for (const [M, N, K] of [[37, 70, 1100], [5, 300, 64], [300, 40, 77]]) {
    for (const layout of layouts) {
      const A = rand(rng, M * K);
      const B = rand(rng, K * N);
      const outs = emulated.map((isa) => {
        setup(isa, 'emulated', 2);
        const C = new Float32Array(M * N);
        nk.matmul(layout, C, A, B, M, N, K, false, 'bf16');
        return C;
      });
      for (let i = 1; i < outs.length; i++) assert.deepEqual(outs[i], outs[0], `${layout} ${M}×${N}×${K}: ${emulated[i]} vs ${emulated[0]}`);
    }
  }
  addon.setIsa(start.isa);
  addon.setBf16('native');
});

test('bf16 results differ from fp32 by bf16 rounding, not more', () => {
  setup(start.isa, 'native', 2);
  const rng = new Rng(73);
  const [M, N, K] = [64, 64, 256];
  const A = rand(rng, M * K);
  const B = rand(rng, K * N);
  const c32 = new Float32Array(M * N);
  const c16 = new Float32Array(M * N);
  nk.matmul('nn', c32, A, B, M, N, K, false);
  nk.matmul('nn', c16, A, B, M, N, K, false, 'bf16');
  let maxDiff = 0;
  for (let i = 0; i < M * N; i++) maxDiff = Math.max(maxDiff, Math.abs(c32[i] - c16[i]));
  // each product is off by up to 2·2^-9 relative; summed over K = 256 terms of ~1/3 the error is ~1e-2
  assert.ok(maxDiff > 1e-4 && maxDiff < 0.1, `max |fp32 − bf16| = ${maxDiff}`);
});

test('the TS backend: bf16 = fp32 on the rounded operands; packB bf16 rounds once, matmulPacked rounds A', () => {
  const rng = new Rng(74);
  const [M, N, K] = [9, 13, 21];
  const A = rand(rng, M * K);
  const B = rand(rng, K * N);
  for (const layout of ['nn', 'nt'] as const) {
    const want = new Float32Array(M * N);
    tsKernels.matmul(layout, want, roundedBf16(A, M * K), roundedBf16(B, K * N), M, N, K, false);
    const got = new Float32Array(M * N);
    tsKernels.matmul(layout, got, A, B, M, N, K, false, 'bf16');
    assert.deepEqual(got, want, layout);
    const packed = new Float32Array(M * N);
    tsKernels.matmulPacked(packed, A, tsKernels.packB(layout, B, K, N, 'bf16'), M, N, K, false);
    assert.deepEqual(packed, want, `${layout} packed`);
  }
});

test('withMatmulPrecision: bf16 GEMMs of depth > 1, depth-1 products (bias adds) exact, fp32 untouched', () => {
  assert.equal(withMatmulPrecision(nk, 'fp32'), nk);
  const k16 = withMatmulPrecision(nk, 'bf16');
  const rng = new Rng(75);
  const A = rand(rng, 8 * 40);
  const B = rand(rng, 40 * 8);
  const viaWrapper = new Float32Array(64);
  const explicit = new Float32Array(64);
  k16.matmul('nn', viaWrapper, A, B, 8, 8, 40, false);
  nk.matmul('nn', explicit, A, B, 8, 8, 40, false, 'bf16');
  assert.deepEqual(viaWrapper, explicit);
  // ones[R,1]·b[1,N] adds b exactly (b has bits below bf16's)
  const b = Float32Array.from([1 + 2 ** -20, -3.1415926, 1e-3]);
  const out = new Float32Array(6);
  k16.matmul('nn', out, Float32Array.from([1, 1]), b, 2, 3, 1, true);
  assert.deepEqual(out, Float32Array.from([...b, ...b]));
  // packB defaults to bf16: matmulPacked then equals the bf16 matmul
  const p = k16.packB('nt', B, 40, 8);
  const viaPacked = new Float32Array(64);
  k16.matmulPacked(viaPacked, A, p, 8, 8, 40, false);
  const ntWant = new Float32Array(64);
  nk.matmul('nt', ntWant, A, B, 8, 8, 40, false, 'bf16');
  assert.deepEqual(viaPacked, ntWant);
  assert.throws(() => withMatmulPrecision(nk, 'fp16' as never), /precision must be 'fp32' or 'bf16', got fp16/);
});

test('bad precision arguments and mismatched packs are refused with the argument named', () => {
  const A = new Float32Array(4);
  assert.throws(() => nk.matmul('nn', new Float32Array(4), A, A, 2, 2, 1, false, 'fp16' as never), /matmul: argument precision must be 'fp32' or 'bf16', got 'fp16'/);
  assert.throws(() => nk.packB('nn', A, 2, 2, 'int8' as never), /packB: argument precision must be 'fp32' or 'bf16', got 'int8'/);
  assert.throws(() => tsKernels.matmul('nn', new Float32Array(4), A, A, 2, 2, 1, false, 'fp16' as never), /precision must be 'fp32' or 'bf16', got fp16/);
  const p = nk.packB('nt', new Float32Array(64 * 40), 40, 64, 'bf16');
  assert.throws(() => nk.matmulPacked(new Float32Array(64), new Float32Array(41), p, 1, 64, 41, false), /Bp does not fit: it was packed for other K, N/);
  if (start.isas.length > 1) {
    addon.setIsa(start.isas[start.isas.length - 1]);
    assert.throws(() => nk.matmulPacked(new Float32Array(64), new Float32Array(40), p, 1, 64, 40, false), /another kernel set/);
    addon.setIsa(start.isa);
  }
});

test('BSTAR_BF16 picks the bf16 GEMM at load (emulated or native); another value fails the load, naming it', () => {
  const addonPath = new URL('../../../build/Release/bstar_engine.node', import.meta.url).pathname;
  const script = `try { console.log(require(${JSON.stringify(addonPath)}).info().bf16); } catch (e) { console.log(e.message); }`;
  assert.equal(runNode(['-e', script], { ...process.env, BSTAR_BF16: 'emulated' }).trim(), 'emulated');
  const native = runNode(['-e', script], { ...process.env, BSTAR_BF16: 'native' }).trim();
  assert.equal(native, start.bf16Native && start.isa === 'avx512' ? 'avx512bf16' : 'emulated');
  assert.match(runNode(['-e', script], { ...process.env, BSTAR_BF16: 'fast' }), /BSTAR_BF16=fast is not a bf16 implementation; expected native or emulated/);
});
