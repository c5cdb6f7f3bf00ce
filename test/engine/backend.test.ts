import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, nativeKernels, tsKernels } from '../../src/engine/index.js';

test('ts matmul matches a hand-computed product in all three layouts', () => {
  // A = [[1,2],[3,4]], B = [[5,6],[7,8]] → A·B = [[19,22],[43,50]]
  const A = new Float32Array([1, 2, 3, 4]);
  const B = new Float32Array([5, 6, 7, 8]);
  const C = new Float32Array(4);
  tsKernels.matmul('nn', C, A, B, 2, 2, 2, false);
  assert.deepEqual([...C], [19, 22, 43, 50]);
  // A·Bᵀ = [[17,23],[39,53]]
  tsKernels.matmul('nt', C, A, B, 2, 2, 2, false);
  assert.deepEqual([...C], [17, 23, 39, 53]);
  // Aᵀ·B = [[26,30],[38,44]], then accumulate once more
  tsKernels.matmul('tn', C, A, B, 2, 2, 2, false);
  tsKernels.matmul('tn', C, A, B, 2, 2, 2, true);
  assert.deepEqual([...C], [52, 60, 76, 88]);
});

test('native addon loads on this machine and reports its instruction set', () => {
  const n = nativeKernels();
  assert.ok(!(n instanceof Error), n instanceof Error ? n.message : '');
  const k = getBackend('native');
  assert.equal(k.name, 'native');
  assert.match(k.info().isa, /^(avx512|avx2|generic|neon)$/);
});
