// Reference attentionKvForward (see ../kernels.ts): one score row at a time, float64 accumulation.
import type { Buf } from '../kernels.js';

export function attentionKvForward(
  out: Buf, q: Buf, kCache: Buf, vCache: Buf, slots: Int32Array, lengths: Int32Array,
  R: number, H: number, KV: number, D: number, cap: number,
): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / KV;
  const p = new Float64Array(cap);
  const acc = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    const len = lengths[r];
    const base = slots[r] * KV * cap * D;
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      const qo = r * H * D + h * D;
      let mx = -Infinity;
      for (let s = 0; s < len; s++) {
        const ko = base + (kh * cap + s) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qo + d] * kCache[ko + d];
        p[s] = dot * scale;
        if (p[s] > mx) mx = p[s];
      }
      let sum = 0;
      for (let s = 0; s < len; s++) {
        p[s] = Math.exp(p[s] - mx);
        sum += p[s];
      }
      acc.fill(0);
      for (let s = 0; s < len; s++) {
        const w = p[s] / sum;
        const vo = base + (kh * cap + s) * D;
        for (let d = 0; d < D; d++) acc[d] += w * vCache[vo + d];
      }
      for (let d = 0; d < D; d++) out[qo + d] = acc[d];
    }
  }
}
