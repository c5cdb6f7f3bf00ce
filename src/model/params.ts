// The ONE parameter table: every tensor of a config, by transformers' name, with its shape and its
// place in the flat buffer. It drives the training model (params, grads and each AdamW moment are one
// flat buffer apiece laid out by it, llm.c's ParameterTensors), the decoder/sampler (decoderWeights),
// checkpoint read/write and GGUF export. Tensors of a kind sit together across layers in the buffer;
// `tensorsInHfOrder` lists them the way transformers does (per layer) for files.
// Dims: V vocab, C hidden, F ffn, L layers, H query heads, KV key/value heads, D head dim.
// Matrices are [out, in] like torch's nn.Linear.
import { attentionBiases, type ModelConfig } from './config.js';

export type FloatArray = Float32Array | Float64Array;
export type DType = 'float32' | 'float64';

export type ParamKindName =
  | 'embed' | 'ln1' | 'q' | 'k' | 'v' | 'o' | 'bq' | 'bk' | 'bv' | 'bo' | 'ln2' | 'gate' | 'up' | 'down' | 'norm' | 'head';

/** One kind of tensor in the size table (all layers of it are contiguous). */
export interface ParamKind {
  kind: ParamKindName;
  /** Per-layer (or global) shape; the kind holds `count` of them back to back. */
  shape: number[];
  count: number;
  /** HF name of copy i. */
  name(i: number): string;
  /** RMSNorm weights. */
  isNorm: boolean;
  /** Projection biases (Qwen2 q/k/v; Llama attention_bias). */
  isBias: boolean;
  /** One copy per decoder layer. */
  perLayer: boolean;
}

/** One HF-named tensor: where it lives in the flat buffer and its HF shape. */
export interface ParamTensor {
  name: string;
  kind: ParamKindName;
  /** Decoder layer index, or -1 for embedding, final norm and head. */
  layer: number;
  shape: number[];
  offset: number;
  size: number;
  isNorm: boolean;
  isBias: boolean;
}

/** Position of each kind inside a layer in transformers' listing (state_dict order). */
const HF_LAYER_ORDER: ParamKindName[] = ['ln1', 'q', 'k', 'v', 'o', 'bq', 'bk', 'bv', 'bo', 'ln2', 'gate', 'up', 'down'];

/** The size table for a config, in buffer order. */
export function paramKinds(cfg: ModelConfig): ParamKind[] {
  const V = cfg.vocab_size;
  const C = cfg.hidden_size;
  const F = cfg.intermediate_size;
  const L = cfg.num_hidden_layers;
  const HD = cfg.num_attention_heads * cfg.head_dim;
  const KVD = cfg.num_key_value_heads * cfg.head_dim;
  const bias = attentionBiases(cfg);
  const layer = (suffix: string) => (i: number) => `model.layers.${i}.${suffix}`;
  const k = (kind: ParamKindName, shape: number[], perLayer: boolean, name: (i: number) => string, extra: { isNorm?: boolean; isBias?: boolean } = {}): ParamKind => ({
    kind, shape, count: perLayer ? L : 1, name, isNorm: extra.isNorm ?? false, isBias: extra.isBias ?? false, perLayer,
  });
  const kinds: ParamKind[] = [
    k('embed', [V, C], false, () => 'model.embed_tokens.weight'), // wte [V, C]
    k('ln1', [C], true, layer('input_layernorm.weight'), { isNorm: true }), // [L, C]
    k('q', [HD, C], true, layer('self_attn.q_proj.weight')), // [L, H*D, C]
    k('k', [KVD, C], true, layer('self_attn.k_proj.weight')), // [L, KV*D, C]
    k('v', [KVD, C], true, layer('self_attn.v_proj.weight')), // [L, KV*D, C]
    k('o', [C, HD], true, layer('self_attn.o_proj.weight')), // [L, C, H*D]
  ];
  if (bias.qkv) {
    kinds.push(
      k('bq', [HD], true, layer('self_attn.q_proj.bias'), { isBias: true }), // [L, H*D]
      k('bk', [KVD], true, layer('self_attn.k_proj.bias'), { isBias: true }), // [L, KV*D]
      k('bv', [KVD], true, layer('self_attn.v_proj.bias'), { isBias: true }), // [L, KV*D]
    );
  }
  if (bias.o) kinds.push(k('bo', [C], true, layer('self_attn.o_proj.bias'), { isBias: true })); // [L, C]
  kinds.push(
    k('ln2', [C], true, layer('post_attention_layernorm.weight'), { isNorm: true }), // [L, C]
    k('gate', [F, C], true, layer('mlp.gate_proj.weight')), // [L, F, C]
    k('up', [F, C], true, layer('mlp.up_proj.weight')), // [L, F, C]
    k('down', [C, F], true, layer('mlp.down_proj.weight')), // [L, C, F]
    k('norm', [C], false, () => 'model.norm.weight', { isNorm: true }), // [C]
  );
  if (!cfg.tie_word_embeddings) kinds.push(k('head', [V, C], false, () => 'lm_head.weight')); // [V, C]
  return kinds;
}

export interface ParamTable {
  /** In buffer order. */
  tensors: ParamTensor[];
  total: number;
  byName: Map<string, ParamTensor>;
}

/** Every HF-named tensor with its offset, in buffer order, and the total parameter count. */
export function paramTable(cfg: ModelConfig): ParamTable {
  const tensors: ParamTensor[] = [];
  let offset = 0;
  for (const k of paramKinds(cfg)) {
    const size = k.shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < k.count; i++) {
      tensors.push({ name: k.name(i), kind: k.kind, layer: k.perLayer ? i : -1, shape: k.shape, offset, size, isNorm: k.isNorm, isBias: k.isBias });
      offset += size;
    }
  }
  return { tensors, total: offset, byName: new Map(tensors.map((t) => [t.name, t])) };
}

/** The tensors as transformers lists them: embedding, then layer by layer, then final norm and head. */
export function tensorsInHfOrder(tensors: readonly ParamTensor[]): ParamTensor[] {
  const rank = (t: ParamTensor) =>
    t.kind === 'embed' ? -1 : t.kind === 'norm' ? 1e9 : t.kind === 'head' ? 1e9 + 1 : t.layer * HF_LAYER_ORDER.length + HF_LAYER_ORDER.indexOf(t.kind);
  return [...tensors].sort((a, b) => rank(a) - rank(b));
}

/** Number of parameters of a config (tied head counted once). */
export function countParams(cfg: ModelConfig): number {
  return paramTable(cfg).total;
}

export function allocFloat(dtype: DType, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/** Views of one flat buffer, one per tensor, by HF name (made once). */
export function viewsOf(buf: FloatArray, tensors: readonly ParamTensor[]): Map<string, FloatArray> {
  const m = new Map<string, FloatArray>();
  for (const t of tensors) m.set(t.name, buf.subarray(t.offset, t.offset + t.size));
  return m;
}

/** A tensor set that does not fit the table: names the tensor (or the first extra one) and the mismatch. */
export class WeightsError extends Error {
  override readonly name = 'WeightsError';
}

/**
 * Checks that `weights` holds exactly the config's tensors, each a Float32Array of its size; `where`
 * names the source in the error.
 */
export function checkWeights(cfg: ModelConfig, weights: ReadonlyMap<string, Float32Array>, where: string): void {
  const { tensors, byName } = paramTable(cfg);
  for (const t of tensorsInHfOrder(tensors)) {
    const w = weights.get(t.name);
    if (!w) throw new WeightsError(`${where}: missing tensor "${t.name}" (expected shape [${t.shape}])`);
    if (!(w instanceof Float32Array)) throw new WeightsError(`${where}: tensor "${t.name}" must be a Float32Array`);
    if (w.length !== t.size) throw new WeightsError(`${where}: tensor "${t.name}" has ${w.length} elements, shape [${t.shape}] needs ${t.size}`);
  }
  for (const name of weights.keys()) {
    if (!byName.has(name)) {
      throw new WeightsError(`${where}: unexpected tensor "${name}" for this ${cfg.model_type} config${name === 'lm_head.weight' ? ' (tie_word_embeddings is true)' : ''}`);
    }
  }
}

/**
 * The first NaN or ±Inf among the weights, in HF order, as "tensor[flat index] = value", or null when
 * every value is finite.
 */
export function firstNonFinite(weights: ReadonlyMap<string, ArrayLike<number>>): { tensor: string; index: number; value: number } | null {
  for (const [name, w] of weights) {
    for (let i = 0; i < w.length; i++) {
      const x = w[i];
      if (x - x !== 0) return { tensor: name, index: i, value: x };
    }
  }
  return null;
}
