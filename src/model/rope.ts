// The ONE RoPE table builder, for the trainer and the decoder/sampler alike. It follows
// transformers' rotary embedding step by step in float32 (every intermediate rounded with fround, as
// torch computes on float32 tensors with Python scalars cast to float32; `scalar / tensor` is torch's
// reciprocal-then-multiply):
//   default  inv_freq[i] = 1 / theta^(2i/D)                       (_compute_default_rope_parameters)
//   linear   inv_freq[i] / factor                                 (_compute_linear_scaling_rope_parameters)
//   llama3   long wavelengths divided by factor, short kept, the band between smoothly interpolated
//            (_compute_llama3_parameters)
// then angle = pos·inv_freq[i] (float32 product), cos/sin [maxPos, D/2]. cos/sin themselves are
// Math.cos/Math.sin of the float32 angle rounded to float32; torch's vectorised float32 cos/sin may
// differ from that in the last bit (test/model/rope.test.ts measures how often).
import { contextLength, type ModelConfig, type RopeScaling } from './config.js';

const f = Math.fround;

/** inv_freq [D/2] in float32, scaled as `scaling` says. */
export function ropeInvFreq(D: number, theta: number, scaling: RopeScaling | null): Float32Array {
  const half = D / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(f(theta) ** f((2 * i) / D)));
  if (scaling === null) return inv;
  if (scaling.rope_type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = f(inv[i] / f(scaling.factor));
    return inv;
  }
  // llama3
  const { factor, low_freq_factor: lo, high_freq_factor: hi, original_max_position_embeddings: old } = scaling;
  const lowWavelen = f(old / lo);
  const highWavelen = f(old / hi);
  const twoPi = f(2 * Math.PI);
  for (let i = 0; i < half; i++) {
    const x = inv[i];
    const wavelen = f(f(1 / x) * twoPi);
    const scaled = wavelen > lowWavelen ? f(x / f(factor)) : x;
    if (wavelen < highWavelen || wavelen > lowWavelen) {
      inv[i] = scaled;
      continue;
    }
    const smooth = f(f(f(f(1 / wavelen) * f(old)) - f(lo)) / f(hi - lo));
    inv[i] = f(f(f(f(1 - smooth) * scaled) / f(factor)) + f(smooth * scaled));
  }
  return inv;
}

/** cos/sin tables [maxPos, D/2] of a config (default maxPos: its context length). */
export function ropeTables(cfg: ModelConfig, maxPos = contextLength(cfg)): { cos: Float32Array; sin: Float32Array } {
  const D = cfg.head_dim;
  const half = D / 2;
  const inv = ropeInvFreq(D, cfg.rope_theta, cfg.rope_scaling);
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let i = 0; i < half; i++) {
    for (let p = 0; p < maxPos; p++) {
      const a = f(p * inv[i]);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}
