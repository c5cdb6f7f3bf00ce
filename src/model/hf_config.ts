// Hugging Face LlamaConfig as bstar reads and writes it (config.json). Field names are exactly
// transformers' so a config object passes between bstar and transformers unchanged. Unknown fields
// are refused (naming the file and field); fields transformers writes but bstar cannot honour
// (attention_bias, rope_scaling, another hidden_act, …) are refused when set to anything else than
// the plain Llama value.

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The fields the decoder math needs, with transformers' names. */
export interface HfLlamaConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  bos_token_id?: number | null;
  /** transformers allows a list (Llama-3); every id in it ends a sequence. */
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
  /** Defaults to hidden_size / num_attention_heads. */
  head_dim?: number;
  hidden_act?: 'silu';
  initializer_range?: number;
  /** Which transformers family the checkpoint came from (default llama); decides the bias tensors. */
  model_type?: ModelType;
  /** Llama only: q/k/v/o projections carry biases (LlamaConfig.attention_bias). */
  attention_bias?: boolean;
}

export type ModelType = 'llama' | 'qwen2' | 'mistral';
const ARCH: Record<ModelType, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', mistral: 'MistralForCausalLM' };

/** Which attention projections have a bias: Qwen2 q/k/v; Llama with attention_bias all four. */
export function attentionBiases(cfg: HfLlamaConfig): { qkv: boolean; o: boolean } {
  if (cfg.model_type === 'qwen2') return { qkv: true, o: false };
  const b = cfg.model_type !== 'mistral' && cfg.attention_bias === true;
  return { qkv: b, o: b };
}

function describeRopeScaling(v: unknown): string | null {
  if (v === null) return null;
  if (typeof v === 'object' && !Array.isArray(v)) {
    const t = (v as Record<string, unknown>).rope_type ?? (v as Record<string, unknown>).type;
    if (t === 'default') return null;
    return `null (rope_scaling type ${JSON.stringify(t)} is not implemented; only plain RoPE is)`;
  }
  return 'null (RoPE scaling is not implemented)';
}

type Kind = 'int' | 'posint' | 'number' | 'bool' | 'string' | 'any';
const NUMERIC: Record<string, Kind> = {
  vocab_size: 'posint',
  hidden_size: 'posint',
  intermediate_size: 'posint',
  num_hidden_layers: 'posint',
  num_attention_heads: 'posint',
  num_key_value_heads: 'posint',
  max_position_embeddings: 'posint',
  rms_norm_eps: 'number',
  rope_theta: 'number',
  tie_word_embeddings: 'bool',
};
const REQUIRED = Object.keys(NUMERIC);
/** Fields a transformers-written Llama config.json may carry, and what bstar accepts for them. */
const OPTIONAL: Record<string, (v: unknown) => string | null> = {
  bos_token_id: (v) => (v === null || isNonNegInt(v) ? null : 'a token id or null'),
  eos_token_id: (v) => (v === null || isNonNegInt(v) || (Array.isArray(v) && v.length > 0 && v.every(isNonNegInt)) ? null : 'a token id, a non-empty list of ids, or null'),
  pad_token_id: (v) => (v === null || isNonNegInt(v) ? null : 'a token id or null'),
  head_dim: (v) => (isNonNegInt(v) && (v as number) > 0 ? null : 'a positive integer'),
  hidden_act: (v) => (v === 'silu' ? null : '"silu" (the only activation bstar implements)'),
  initializer_range: (v) => (typeof v === 'number' ? null : 'a number'),
  // architectures is checked against model_type below
  architectures: (v) => (Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string') ? null : 'a list of architecture names'),
  model_type: (v) =>
    typeof v === 'string' && v in ARCH ? null : `one of ${Object.keys(ARCH).map((x) => JSON.stringify(x)).join(', ')} (the architectures bstar implements)`,
  torch_dtype: (v) => (v === 'float32' || v === 'float16' || v === 'bfloat16' ? null : '"float32", "float16" or "bfloat16"'),
  // transformers ≥ 5 writes `dtype` for torch_dtype and `rope_parameters` for rope_theta/rope_scaling
  dtype: (v) => (v === 'float32' || v === 'float16' || v === 'bfloat16' ? null : '"float32", "float16" or "bfloat16"'),
  rope_parameters: (v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Record<string, unknown>).rope_type === 'default' &&
    typeof (v as Record<string, unknown>).rope_theta === 'number' && ((v as Record<string, unknown>).rope_theta as number) > 0 &&
    Object.keys(v).every((k) => k === 'rope_type' || k === 'rope_theta')
      ? null
      : '{"rope_type": "default", "rope_theta": <positive number>} (other RoPE types are not implemented)',
  attention_bias: (v) => (typeof v === 'boolean' ? null : 'a boolean'),
  mlp_bias: (v) => (v === false ? null : 'false (bstar has no MLP biases)'),
  attention_dropout: (v) => (v === 0 || v === 0.0 ? null : '0.0'),
  rope_scaling: describeRopeScaling,
  // Qwen2 / Mistral: sliding-window attention is accepted only where it never binds (checked below)
  sliding_window: (v) => (v === null || (isNonNegInt(v) && (v as number) > 0) ? null : 'a positive integer or null'),
  use_sliding_window: (v) => (typeof v === 'boolean' ? null : 'a boolean'),
  max_window_layers: (v) => (isNonNegInt(v) ? null : 'an integer'),
  layer_types: (v) => (Array.isArray(v) && v.every((t) => t === 'full_attention' || t === 'sliding_attention') ? null : 'a list of "full_attention" / "sliding_attention"'),
  pretraining_tp: (v) => (isNonNegInt(v) ? null : 'an integer'),
  use_cache: (v) => (typeof v === 'boolean' ? null : 'a boolean'),
  transformers_version: (v) => (typeof v === 'string' ? null : 'a string'),
  _name_or_path: (v) => (typeof v === 'string' ? null : 'a string'),
};

function isNonNegInt(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/** Validates parsed config.json and returns the decoder config; `file` names the source in errors. */
export function parseHfConfig(json: unknown, file = 'config.json'): HfLlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${file}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(k in NUMERIC) && !(k in OPTIONAL)) {
      throw new ConfigError(`${file}: unknown field "${k}" (a Llama config.json has ${[...REQUIRED, ...Object.keys(OPTIONAL)].join(', ')})`);
    }
  }
  for (const k of REQUIRED) {
    if (k === 'rope_theta' && !(k in o) && 'rope_parameters' in o) continue; // checked below
    if (k === 'tie_word_embeddings' && !(k in o)) continue; // transformers' default: false
    if (!(k in o)) throw new ConfigError(`${file}: missing field "${k}"${k === 'rope_theta' ? ' (or rope_parameters)' : ''}`);
    const v = o[k];
    const kind = NUMERIC[k];
    const ok = kind === 'posint' ? Number.isSafeInteger(v) && (v as number) > 0 : kind === 'number' ? typeof v === 'number' && Number.isFinite(v) && v > 0 : typeof v === 'boolean';
    if (!ok) throw new ConfigError(`${file}: field "${k}": expected ${kind === 'posint' ? 'a positive integer' : kind === 'number' ? 'a positive number' : 'a boolean'}, found ${JSON.stringify(v)}`);
  }
  for (const [k, check] of Object.entries(OPTIONAL)) {
    if (!(k in o)) continue;
    const want = check(o[k]);
    if (want !== null) throw new ConfigError(`${file}: field "${k}": expected ${want}, found ${JSON.stringify(o[k])}`);
  }
  const modelType = (o.model_type ?? 'llama') as ModelType;
  if ('architectures' in o && !(o.architectures as string[]).includes(ARCH[modelType])) {
    throw new ConfigError(`${file}: field "architectures": expected ["${ARCH[modelType]}"] for model_type "${modelType}", found ${JSON.stringify(o.architectures)}`);
  }
  if (modelType !== 'llama' && o.attention_bias !== undefined) {
    throw new ConfigError(`${file}: field "attention_bias" is a Llama field; ${modelType} fixes its biases (found ${JSON.stringify(o.attention_bias)})`);
  }
  if (modelType === 'llama') {
    for (const f of ['sliding_window', 'use_sliding_window', 'max_window_layers']) {
      if (f in o) throw new ConfigError(`${file}: unknown field "${f}" for model_type "llama" (it belongs to qwen2/mistral)`);
    }
  }
  // sliding-window attention is not implemented: accepted only if the window covers the whole context
  const swActive = modelType === 'mistral' || (modelType === 'qwen2' && o.use_sliding_window === true);
  const mp = o.max_position_embeddings as number;
  if (swActive && o.sliding_window !== undefined && o.sliding_window !== null && (o.sliding_window as number) < mp) {
    throw new ConfigError(
      `${file}: field "sliding_window": ${o.sliding_window} is smaller than max_position_embeddings ${mp}; sliding-window attention is not implemented ` +
        `(supported: null or ≥ the context length${modelType === 'qwen2' ? ', or use_sliding_window: false' : ''})`,
    );
  }
  if (Array.isArray(o.layer_types) && o.layer_types.includes('sliding_attention') && swActive && o.sliding_window !== null && (o.sliding_window as number) < mp) {
    throw new ConfigError(`${file}: field "layer_types": sliding_attention layers with sliding_window ${o.sliding_window} < context ${mp} are not implemented`);
  }
  if ('rope_parameters' in o) {
    const theta = (o.rope_parameters as { rope_theta: number }).rope_theta;
    if ('rope_theta' in o && o.rope_theta !== theta) {
      throw new ConfigError(`${file}: rope_theta ${o.rope_theta} disagrees with rope_parameters.rope_theta ${theta}`);
    }
  }
  const cfg = {
    ...o,
    rope_theta: 'rope_theta' in o ? o.rope_theta : (o.rope_parameters as { rope_theta: number }).rope_theta,
    tie_word_embeddings: o.tie_word_embeddings ?? false,
  } as unknown as HfLlamaConfig;
  if (cfg.num_attention_heads % cfg.num_key_value_heads !== 0) {
    throw new ConfigError(`${file}: num_attention_heads ${cfg.num_attention_heads} must be a multiple of num_key_value_heads ${cfg.num_key_value_heads}`);
  }
  if (cfg.head_dim === undefined && cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new ConfigError(`${file}: hidden_size ${cfg.hidden_size} must be a multiple of num_attention_heads ${cfg.num_attention_heads} (or set head_dim)`);
  }
  if (headDim(cfg) % 2 !== 0) throw new ConfigError(`${file}: head dim ${headDim(cfg)} must be even for RoPE`);
  const out: HfLlamaConfig = {} as HfLlamaConfig;
  for (const k of [...REQUIRED, 'bos_token_id', 'eos_token_id', 'pad_token_id', 'head_dim', 'hidden_act', 'initializer_range']) {
    if (k in cfg) (out as unknown as Record<string, unknown>)[k] = (cfg as unknown as Record<string, unknown>)[k];
  }
  // kept only where they change the model, so a plain Llama config stays what it was
  if (modelType !== 'llama') out.model_type = modelType;
  if (modelType === 'llama' && o.attention_bias === true) out.attention_bias = true;
  return out;
}

export function headDim(cfg: HfLlamaConfig): number {
  return cfg.head_dim ?? cfg.hidden_size / cfg.num_attention_heads;
}

/** The ids that end a sequence (eos_token_id as a list). */
export function eosIds(cfg: HfLlamaConfig): number[] {
  const e = cfg.eos_token_id;
  return e === undefined || e === null ? [] : Array.isArray(e) ? e : [e];
}

/** config.json contents as transformers writes them for a plain Llama model. */
export function hfConfigJson(cfg: HfLlamaConfig): Record<string, unknown> {
  const mt = cfg.model_type ?? 'llama';
  const family: Record<string, unknown> =
    mt === 'llama'
      ? { attention_bias: cfg.attention_bias ?? false, mlp_bias: false, pretraining_tp: 1 }
      : mt === 'qwen2'
        ? { use_sliding_window: false, sliding_window: null, max_window_layers: cfg.num_hidden_layers }
        : { sliding_window: null };
  return {
    architectures: [ARCH[mt]],
    model_type: mt,
    torch_dtype: 'float32',
    hidden_act: 'silu',
    ...family,
    attention_dropout: 0.0,
    rope_scaling: null,
    use_cache: true,
    initializer_range: 0.02,
    vocab_size: cfg.vocab_size,
    hidden_size: cfg.hidden_size,
    intermediate_size: cfg.intermediate_size,
    num_hidden_layers: cfg.num_hidden_layers,
    num_attention_heads: cfg.num_attention_heads,
    num_key_value_heads: cfg.num_key_value_heads,
    head_dim: headDim(cfg),
    max_position_embeddings: cfg.max_position_embeddings,
    rms_norm_eps: cfg.rms_norm_eps,
    rope_theta: cfg.rope_theta,
    tie_word_embeddings: cfg.tie_word_embeddings,
    bos_token_id: cfg.bos_token_id ?? null,
    eos_token_id: cfg.eos_token_id ?? null,
    ...(cfg.pad_token_id !== undefined ? { pad_token_id: cfg.pad_token_id } : {}),
    ...(cfg.initializer_range !== undefined ? { initializer_range: cfg.initializer_range } : {}),
  };
}

/** HF tensor name → shape ([out, in] for linear layers), in the order transformers lists them. */
export function hfWeightShapes(cfg: HfLlamaConfig): Map<string, number[]> {
  const C = cfg.hidden_size;
  const D = headDim(cfg);
  const H = cfg.num_attention_heads;
  const KV = cfg.num_key_value_heads;
  const F = cfg.intermediate_size;
  const V = cfg.vocab_size;
  const bias = attentionBiases(cfg);
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [V, C]);
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    m.set(p + 'input_layernorm.weight', [C]);
    m.set(p + 'self_attn.q_proj.weight', [H * D, C]);
    m.set(p + 'self_attn.k_proj.weight', [KV * D, C]);
    m.set(p + 'self_attn.v_proj.weight', [KV * D, C]);
    m.set(p + 'self_attn.o_proj.weight', [C, H * D]);
    if (bias.qkv) {
      m.set(p + 'self_attn.q_proj.bias', [H * D]);
      m.set(p + 'self_attn.k_proj.bias', [KV * D]);
      m.set(p + 'self_attn.v_proj.bias', [KV * D]);
    }
    if (bias.o) m.set(p + 'self_attn.o_proj.bias', [C]);
    m.set(p + 'post_attention_layernorm.weight', [C]);
    m.set(p + 'mlp.gate_proj.weight', [F, C]);
    m.set(p + 'mlp.up_proj.weight', [F, C]);
    m.set(p + 'mlp.down_proj.weight', [C, F]);
  }
  m.set('model.norm.weight', [C]);
  if (!cfg.tie_word_embeddings) m.set('lm_head.weight', [V, C]);
  return m;
}

/** Checks a weight map holds exactly the tensors `cfg` implies, as Float32Array of the right size. */
export function checkHfWeights(cfg: HfLlamaConfig, weights: Map<string, Float32Array>, where: string): void {
  const shapes = hfWeightShapes(cfg);
  for (const [name, shape] of shapes) {
    const w = weights.get(name);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!w) throw new ConfigError(`${where}: missing tensor "${name}" (expected shape [${shape}])`);
    if (!(w instanceof Float32Array)) throw new ConfigError(`${where}: tensor "${name}" must be a Float32Array`);
    if (w.length !== n) throw new ConfigError(`${where}: tensor "${name}" has ${w.length} elements, shape [${shape}] needs ${n}`);
  }
  for (const name of weights.keys()) if (!shapes.has(name)) throw new ConfigError(`${where}: unexpected tensor "${name}" for this config`);
}
