// Shared by the interop tests: every position's logits of one prompt through the decoder, and the largest
// difference from a reference's rows.
import type { Kernels } from '../../src/engine/kernels.js';
import { createKvCache, createScratch, decoderWeights, dimsOf, forwardRows } from '../../src/model/decoder.js';
import type { ModelConfig } from '../../src/model/config.js';
import { ropeTables } from '../../src/model/rope.js';

export function logitsOf(k: Kernels, config: ModelConfig, weights: ReadonlyMap<string, Float32Array>, ids: number[]): Float32Array {
  const d = dimsOf(config);
  const T = ids.length;
  const out = new Float32Array(T * d.V);
  const rows = Int32Array.from(ids.keys());
  forwardRows(k, d, decoderWeights(config, weights), ropeTables(config), createKvCache(d, 1, T), createScratch(d, T),
    Int32Array.from(ids), rows, new Int32Array(T), T, rows, T, out);
  return out;
}

export function maxDiff(a: Float32Array, rows: number[][]): number {
  const V = rows[0].length;
  let m = 0;
  rows.forEach((r, t) => r.forEach((x, v) => (m = Math.max(m, Math.abs(a[t * V + v] - x)))));
  return m;
}
