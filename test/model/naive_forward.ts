// An independent reference for the sampler: the whole sequence recomputed from scratch for every
// new token (no KV cache), with the contract's causal attentionForward, in the TS kernels.
import { tsKernels as k } from '../../src/engine/ts/index.js';
import type { ModelConfig } from '../../src/model/config.js';

export function naiveLogits(cfg: ModelConfig, w: Map<string, Float32Array>, tokens: readonly number[]): Float32Array {
  const T = tokens.length;
  const C = cfg.hidden_size;
  const H = cfg.num_attention_heads;
  const KV = cfg.num_key_value_heads;
  const D = cfg.head_dim;
  const F = cfg.intermediate_size;
  const V = cfg.vocab_size;
  const half = D / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let p = 0; p < T; p++) {
    for (let i = 0; i < half; i++) {
      const a = p / cfg.rope_theta ** ((2 * i) / D);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  const pos = Int32Array.from({ length: T }, (_, i) => i);
  const x = new Float32Array(T * C);
  const xb = new Float32Array(T * C);
  const rstd = new Float32Array(T);
  const q = new Float32Array(T * H * D);
  const kk = new Float32Array(T * KV * D);
  const v = new Float32Array(T * KV * D);
  const att = new Float32Array(T * H * D);
  const lse = new Float32Array(H * T);
  const g = new Float32Array(T * F);
  const u = new Float32Array(T * F);
  const h = new Float32Array(T * F);
  k.embeddingForward(x, w.get('model.embed_tokens.weight')!, Int32Array.from(tokens), T, C);
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = (n: string) => w.get(`model.layers.${l}.${n}.weight`)!;
    k.rmsnormForward(xb, rstd, x, p('input_layernorm'), T, C, cfg.rms_norm_eps);
    k.matmul('nt', q, xb, p('self_attn.q_proj'), T, H * D, C, false);
    k.matmul('nt', kk, xb, p('self_attn.k_proj'), T, KV * D, C, false);
    k.matmul('nt', v, xb, p('self_attn.v_proj'), T, KV * D, C, false);
    k.ropeForward(q, cos, sin, pos, T, H, D);
    k.ropeForward(kk, cos, sin, pos, T, KV, D);
    k.attentionForward(att, lse, q, kk, v, 1, T, H, KV, D);
    k.matmul('nt', xb, att, p('self_attn.o_proj'), T, C, H * D, false);
    k.add(x, x, xb, T * C);
    k.rmsnormForward(xb, rstd, x, p('post_attention_layernorm'), T, C, cfg.rms_norm_eps);
    k.matmul('nt', g, xb, p('mlp.gate_proj'), T, F, C, false);
    k.matmul('nt', u, xb, p('mlp.up_proj'), T, F, C, false);
    k.swigluForward(h, g, u, T * F);
    k.matmul('nt', xb, h, p('mlp.down_proj'), T, C, F, false);
    k.add(x, x, xb, T * C);
  }
  k.rmsnormForward(xb, rstd, x, w.get('model.norm.weight')!, T, C, cfg.rms_norm_eps);
  const logits = new Float32Array(T * V);
  k.matmul('nt', logits, xb, w.get(cfg.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight')!, T, V, C, false);
  return logits;
}

export function logSoftmaxAt(logits: Float32Array, row: number, V: number, tok: number): number {
  let mx = -Infinity;
  for (let i = 0; i < V; i++) mx = Math.max(mx, logits[row * V + i]);
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp(logits[row * V + i] - mx);
  return logits[row * V + tok] - mx - Math.log(s);
}

/** Greedy continuation by full recompute: argmax (lowest id on ties) until an eos id or maxNew. */
export function naiveGreedy(cfg: ModelConfig, w: Map<string, Float32Array>, prompt: number[], maxNew: number, eos: number[]): { tokens: number[]; logprobs: number[] } {
  const seq = [...prompt];
  const tokens: number[] = [];
  const logprobs: number[] = [];
  const V = cfg.vocab_size;
  while (tokens.length < maxNew && seq.length < cfg.max_position_embeddings) {
    const logits = naiveLogits(cfg, w, seq);
    const row = seq.length - 1;
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[row * V + i] > logits[row * V + best]) best = i;
    tokens.push(best);
    logprobs.push(logSoftmaxAt(logits, row, V, best));
    seq.push(best);
    if (eos.includes(best)) break;
  }
  return { tokens, logprobs };
}
