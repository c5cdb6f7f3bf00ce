// Parameter layout. Parameters, their grads and each AdamW moment are ONE flat buffer apiece, laid
// out by one size table (llm.c's ParameterTensors): tensors of a kind sit together across layers, and
// every HF-named tensor is a view into it made once. Dims: V vocab, C hidden, F ffn, L layers,
// H query heads, KV key/value heads, D head dim. Matrices are [out, in] like torch's nn.Linear.
import type { LlamaConfig } from './config.js';

export type FloatArray = Float32Array | Float64Array;
export type DType = 'float32' | 'float64';

/** One kind of tensor in the size table (all layers of it are contiguous). */
export interface ParamKind {
  kind: string;
  /** Per-layer (or global) shape; the kind holds `count` of them back to back. */
  shape: number[];
  count: number;
  /** HF name of copy i. */
  name(i: number): string;
  /** Norm weights: no weight decay by default. */
  isNorm: boolean;
  /** One copy per decoder layer. */
  perLayer: boolean;
}

/** One HF-named tensor: where it lives in the flat buffer and its HF shape. */
export interface ParamTensor {
  name: string;
  kind: string;
  /** Decoder layer index, or -1 for embedding, final norm and head. */
  layer: number;
  shape: number[];
  offset: number;
  size: number;
  isNorm: boolean;
}

/** The size table for a config, in buffer order. */
export function paramKinds(cfg: LlamaConfig): ParamKind[] {
  const V = cfg.vocab_size;
  const C = cfg.hidden_size;
  const F = cfg.intermediate_size;
  const L = cfg.num_hidden_layers;
  const D = C / cfg.num_attention_heads;
  const HD = cfg.num_attention_heads * D;
  const KVD = cfg.num_key_value_heads * D;
  const layer = (suffix: string) => (i: number) => `model.layers.${i}.${suffix}`;
  const kinds: ParamKind[] = [
    { kind: 'embed', shape: [V, C], count: 1, name: () => 'model.embed_tokens.weight', isNorm: false, perLayer: false }, // wte [V, C]
    { kind: 'ln1', shape: [C], count: L, name: layer('input_layernorm.weight'), isNorm: true, perLayer: true }, // [L, C]
    { kind: 'q', shape: [HD, C], count: L, name: layer('self_attn.q_proj.weight'), isNorm: false, perLayer: true }, // [L, H*D, C]
    { kind: 'k', shape: [KVD, C], count: L, name: layer('self_attn.k_proj.weight'), isNorm: false, perLayer: true }, // [L, KV*D, C]
    { kind: 'v', shape: [KVD, C], count: L, name: layer('self_attn.v_proj.weight'), isNorm: false, perLayer: true }, // [L, KV*D, C]
    { kind: 'o', shape: [C, HD], count: L, name: layer('self_attn.o_proj.weight'), isNorm: false, perLayer: true }, // [L, C, H*D]
    { kind: 'ln2', shape: [C], count: L, name: layer('post_attention_layernorm.weight'), isNorm: true, perLayer: true }, // [L, C]
    { kind: 'gate', shape: [F, C], count: L, name: layer('mlp.gate_proj.weight'), isNorm: false, perLayer: true }, // [L, F, C]
    { kind: 'up', shape: [F, C], count: L, name: layer('mlp.up_proj.weight'), isNorm: false, perLayer: true }, // [L, F, C]
    { kind: 'down', shape: [C, F], count: L, name: layer('mlp.down_proj.weight'), isNorm: false, perLayer: true }, // [L, C, F]
    { kind: 'norm', shape: [C], count: 1, name: () => 'model.norm.weight', isNorm: true, perLayer: false }, // [C]
  ];
  if (!cfg.tie_word_embeddings) {
    kinds.push({ kind: 'head', shape: [V, C], count: 1, name: () => 'lm_head.weight', isNorm: false, perLayer: false }); // [V, C]
  }
  return kinds;
}

/** Every HF-named tensor with its offset, in buffer order, and the total parameter count. */
export function paramTable(cfg: LlamaConfig): { tensors: ParamTensor[]; total: number } {
  const tensors: ParamTensor[] = [];
  let offset = 0;
  for (const k of paramKinds(cfg)) {
    const size = k.shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < k.count; i++) {
      tensors.push({ name: k.name(i), kind: k.kind, layer: k.perLayer ? i : -1, shape: k.shape, offset, size, isNorm: k.isNorm });
      offset += size;
    }
  }
  return { tensors, total: offset };
}

/** Number of parameters of a config (tied head counted once). */
export function countParams(cfg: LlamaConfig): number {
  return paramTable(cfg).total;
}

export function allocFloat(dtype: DType, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/** Views of one flat buffer, one per tensor, by HF name (made once). */
export function viewsOf(buf: FloatArray, tensors: ParamTensor[]): Map<string, FloatArray> {
  const m = new Map<string, FloatArray>();
  for (const t of tensors) m.set(t.name, buf.subarray(t.offset, t.offset + t.size));
  return m;
}
