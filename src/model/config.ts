// The ONE model description's config: Hugging Face config.json fields of every family bstar runs
// (LlamaConfig, Qwen2Config, MistralConfig), with transformers' exact names so a config passes between
// bstar and transformers unchanged. It is validated once, where a checkpoint or a preset enters
// (parseModelConfig); the result is a ModelConfig, which only the validator makes (the brand), so the
// trainer, the decoder/sampler, checkpoint io and GGUF export all read the same checked values.
//
// Families and what is implemented of each (docs/interop.md):
//   llama    Llama 2/3.x, SmolLM2: GQA, tied embeddings, head_dim, attention_bias (q/k/v/o biases),
//            rope_scaling none | linear | llama3, list-valued eos_token_id
//   qwen2    Qwen2/2.5: q/k/v biases (always), tied embeddings, GQA
//   mistral  GQA, head_dim ≠ hidden_size / num_attention_heads
// Sliding-window attention is accepted where it cannot matter: the context bstar uses is capped at
// the window (contextLength), so no position ever falls outside it. Everything else a family may
// carry (another activation, MLP biases, interleaved RoPE, other rope_scaling kinds, fields of another
// family, unknown fields) is refused with a ConfigError naming the file and the field.

export type ModelType = 'llama' | 'qwen2' | 'mistral';
export const MODEL_TYPES: readonly ModelType[] = ['llama', 'qwen2', 'mistral'];
const ARCH: Record<ModelType, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', mistral: 'MistralForCausalLM' };

/** The float format weights are stored in (config.json torch_dtype; safetensors F32 / F16 / BF16). */
export type TorchDtype = 'float32' | 'float16' | 'bfloat16';
export const TORCH_DTYPES: readonly TorchDtype[] = ['float32', 'float16', 'bfloat16'];

/** transformers' rope_scaling kinds bstar implements (src/model/rope.ts); null is plain RoPE. */
export type RopeScaling =
  | { rope_type: 'linear'; factor: number }
  | { rope_type: 'llama3'; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };

declare const validated: unique symbol;

/** A validated model config. Dims: V vocab, C hidden, F ffn, L layers, H query heads, KV kv heads, D head dim. */
export interface ModelConfig {
  readonly model_type: ModelType;
  /** V */
  readonly vocab_size: number;
  /** C: width of the residual stream. */
  readonly hidden_size: number;
  /** F: width of the SwiGLU MLP. */
  readonly intermediate_size: number;
  /** L */
  readonly num_hidden_layers: number;
  /** H */
  readonly num_attention_heads: number;
  /** KV (grouped-query attention); H % KV == 0. */
  readonly num_key_value_heads: number;
  /** D: resolved (config.json's head_dim, else hidden_size / num_attention_heads); even. */
  readonly head_dim: number;
  readonly max_position_embeddings: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly rope_scaling: RopeScaling | null;
  /** The LM head reuses model.embed_tokens.weight (no lm_head.weight tensor). */
  readonly tie_word_embeddings: boolean;
  /** llama only: q/k/v/o projections carry biases. qwen2 always has q/k/v biases (attentionBiases). */
  readonly attention_bias: boolean;
  /** The attention window where one is active (mistral; qwen2 with use_sliding_window), else null. */
  readonly sliding_window: number | null;
  readonly bos_token_id: number | null;
  /** transformers allows a list (Llama-3 instruct); every id in it ends a sequence. */
  readonly eos_token_id: number | readonly number[] | null;
  readonly pad_token_id: number | null;
  /** Std of the normal initialisation of a fresh model's matrices. */
  readonly initializer_range: number;
  /** The dtype the weights were stored in; checkpoints are saved in it unless told otherwise. */
  readonly torch_dtype: TorchDtype;
  readonly [validated]: true;
}

/** A bad config value: names the source (file), the field, what was expected and what was found. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly expected: string,
    readonly found: unknown,
  ) {
    super(`${source}: field "${field}": expected ${expected}, found ${describe(found)}`);
    this.name = 'ConfigError';
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  try {
    return `${JSON.stringify(v)} (${v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v})`;
  } catch {
    return String(v);
  }
}

// ----------------------------------------------------------------------------------------------
// fields

/** transformers' defaults per family for the fields a config.json may leave out. */
const DEFAULTS: Record<ModelType, Record<string, unknown>> = {
  llama: { max_position_embeddings: 2048, rms_norm_eps: 1e-6, bos_token_id: 1, eos_token_id: 2, sliding_window: null },
  qwen2: { max_position_embeddings: 32768, rms_norm_eps: 1e-6, bos_token_id: null, eos_token_id: null, num_key_value_heads: 32, sliding_window: 4096 },
  mistral: { max_position_embeddings: 4096 * 32, rms_norm_eps: 1e-6, bos_token_id: 1, eos_token_id: 2, num_key_value_heads: 8, sliding_window: 4096 },
};

type Check = (v: unknown) => string | null;
const posInt: Check = (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? null : 'a positive integer');
const posNum: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'a finite number > 0');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'a boolean');
const str: Check = (v) => (typeof v === 'string' ? null : 'a string');
const isId = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const idOrNull: Check = (v) => (v === null || isId(v) ? null : 'a token id (integer ≥ 0) or null');
const dtype: Check = (v) => (TORCH_DTYPES.includes(v as TorchDtype) ? null : `one of ${TORCH_DTYPES.map((d) => `"${d}"`).join(', ')} (the float formats bstar reads)`);

/** Fields every family may carry, with their checks (rope_scaling/rope_parameters are checked apart). */
const COMMON: Record<string, Check> = {
  vocab_size: posInt,
  hidden_size: posInt,
  intermediate_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  num_key_value_heads: (v) => (v === null || posInt(v) === null ? null : 'a positive integer'),
  head_dim: (v) => (v === null || posInt(v) === null ? null : 'a positive integer or null'),
  max_position_embeddings: posInt,
  rms_norm_eps: posNum,
  rope_theta: posNum,
  rope_scaling: () => null,
  rope_parameters: () => null,
  tie_word_embeddings: bool,
  bos_token_id: idOrNull,
  eos_token_id: (v) => (v === null || isId(v) || (Array.isArray(v) && v.length > 0 && v.every(isId)) ? null : 'a token id, a non-empty list of ids, or null'),
  pad_token_id: idOrNull,
  hidden_act: (v) => (v === 'silu' ? null : '"silu" (the only activation bstar implements)'),
  initializer_range: posNum,
  attention_dropout: (v) => (v === 0 ? null : '0.0 (no attention dropout)'),
  use_cache: bool,
  torch_dtype: dtype,
  dtype,
  transformers_version: str,
  _name_or_path: str,
  architectures: (v) => (Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string') ? null : 'a list of architecture names'),
  model_type: (v) => (MODEL_TYPES.includes(v as ModelType) ? null : `one of ${MODEL_TYPES.map((t) => `"${t}"`).join(', ')} (the families bstar implements)`),
};

/** Fields only some families have. */
const FAMILY: Record<ModelType, Record<string, Check>> = {
  llama: {
    attention_bias: bool,
    mlp_bias: (v) => (v === false ? null : 'false (bstar has no MLP biases)'),
    pretraining_tp: posInt, // tensor-parallel slicing in HF's forward; the same function for any value
    is_llama_config: bool, // SmolLM2
    rope_interleaved: (v) => (v === false ? null : 'false (interleaved RoPE is not implemented)'), // SmolLM2
  },
  qwen2: {
    sliding_window: (v) => (v === null || posInt(v) === null ? null : 'a positive integer or null'),
    use_sliding_window: bool,
    max_window_layers: (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'an integer ≥ 0'),
    layer_types: (v) => (Array.isArray(v) && v.every((t) => t === 'full_attention' || t === 'sliding_attention') ? null : 'a list of "full_attention" / "sliding_attention"'),
  },
  mistral: {
    sliding_window: (v) => (v === null || posInt(v) === null ? null : 'a positive integer or null'),
  },
};

const ROPE_KINDS = '"default" (none), "linear" or "llama3"';

/** rope_scaling (or transformers 5's rope_parameters minus rope_theta) → RopeScaling | null. */
function parseRopeScaling(v: unknown, source: string, field: string): RopeScaling | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(source, field, `null or an object with rope_type ${ROPE_KINDS}`, v);
  const o = v as Record<string, unknown>;
  const kind = o.rope_type ?? o.type;
  if ('rope_type' in o && 'type' in o && o.rope_type !== o.type) throw new ConfigError(source, `${field}.type`, `the same as rope_type ${JSON.stringify(o.rope_type)}`, o.type);
  const allow = (keys: string[]) => {
    for (const k of Object.keys(o)) {
      if (!['rope_type', 'type', 'rope_theta', ...keys].includes(k)) throw new ConfigError(source, `${field}.${k}`, `no such field for rope_type ${JSON.stringify(kind)} (it has ${keys.join(', ') || 'no parameters'})`, o[k]);
    }
  };
  const num = (k: string, check: Check = posNum): number => {
    const want = check(o[k]);
    if (want !== null) throw new ConfigError(source, `${field}.${k}`, want, o[k]);
    return o[k] as number;
  };
  if (kind === 'default') {
    allow([]);
    return null;
  }
  if (kind === 'linear') {
    allow(['factor']);
    return { rope_type: 'linear', factor: num('factor') };
  }
  if (kind === 'llama3') {
    allow(['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']);
    const s = {
      rope_type: 'llama3' as const,
      factor: num('factor'),
      low_freq_factor: num('low_freq_factor'),
      high_freq_factor: num('high_freq_factor'),
      original_max_position_embeddings: num('original_max_position_embeddings', posInt),
    };
    if (s.high_freq_factor <= s.low_freq_factor) throw new ConfigError(source, `${field}.high_freq_factor`, `a number > low_freq_factor ${s.low_freq_factor}`, s.high_freq_factor);
    return s;
  }
  throw new ConfigError(source, `${field}.rope_type`, `${ROPE_KINDS} (other RoPE scalings are not implemented)`, kind);
}

/**
 * Validates a parsed config.json (or a preset's object of the same fields) into a ModelConfig; the
 * first problem is a ConfigError naming `source` and the field.
 */
export function parseModelConfig(raw: unknown, source = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(source, '(root)', 'a JSON object', raw);
  const o = raw as Record<string, unknown>;
  const typeWant = COMMON.model_type(o.model_type ?? 'llama');
  if (typeWant !== null) throw new ConfigError(source, 'model_type', typeWant, o.model_type);
  const mt = (o.model_type ?? 'llama') as ModelType;
  const family = FAMILY[mt];
  for (const [k, v] of Object.entries(o)) {
    const check = COMMON[k] ?? family[k];
    if (!check) {
      const others = MODEL_TYPES.filter((t) => t !== mt && k in FAMILY[t]);
      const known = [...Object.keys(COMMON), ...Object.keys(family)];
      throw new ConfigError(
        source, k,
        others.length > 0
          ? `no such field for model_type "${mt}" (it belongs to ${others.join(', ')})`
          : `no such field (a ${mt} config.json has ${known.join(', ')})`,
        v,
      );
    }
    const want = check(v);
    if (want !== null) throw new ConfigError(source, k, want, v);
  }
  if ('architectures' in o && !(o.architectures as string[]).includes(ARCH[mt])) {
    throw new ConfigError(source, 'architectures', `["${ARCH[mt]}"] for model_type "${mt}"`, o.architectures);
  }
  for (const k of ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads']) {
    if (!(k in o)) throw new ConfigError(source, k, 'a positive integer (required)', undefined);
  }
  const get = (k: string): unknown => (k in o ? o[k] : DEFAULTS[mt][k]);

  // RoPE: rope_theta + rope_scaling, or transformers 5's rope_parameters holding both
  let ropeTheta: number;
  let ropeScaling: RopeScaling | null;
  if ('rope_parameters' in o) {
    const rp = o.rope_parameters;
    if (typeof rp !== 'object' || rp === null || Array.isArray(rp)) throw new ConfigError(source, 'rope_parameters', `an object {rope_type, rope_theta, …}`, rp);
    const theta = (rp as Record<string, unknown>).rope_theta;
    if (posNum(theta) !== null) throw new ConfigError(source, 'rope_parameters.rope_theta', 'a finite number > 0', theta);
    if ('rope_theta' in o && o.rope_theta !== theta) throw new ConfigError(source, 'rope_theta', `the same as rope_parameters.rope_theta ${theta}`, o.rope_theta);
    if ('rope_scaling' in o && o.rope_scaling !== null) throw new ConfigError(source, 'rope_scaling', 'null beside rope_parameters (which carries the scaling)', o.rope_scaling);
    ropeTheta = theta as number;
    ropeScaling = parseRopeScaling(rp, source, 'rope_parameters');
  } else {
    ropeTheta = (o.rope_theta ?? 10000) as number;
    ropeScaling = parseRopeScaling(o.rope_scaling, source, 'rope_scaling');
  }

  const C = o.hidden_size as number;
  const H = o.num_attention_heads as number;
  const kvRaw = get('num_key_value_heads');
  const KV = (kvRaw ?? H) as number;
  if (H % KV !== 0) throw new ConfigError(source, 'num_attention_heads', `a multiple of num_key_value_heads=${KV}`, H);
  if ((o.head_dim ?? null) === null && C % H !== 0) {
    throw new ConfigError(source, 'hidden_size', `a multiple of num_attention_heads=${H} (or set head_dim)`, C);
  }
  const D = (o.head_dim ?? C / H) as number;
  if (D % 2 !== 0) throw new ConfigError(source, 'head_dim', 'an even head size (RoPE rotates pairs)', D);

  let window: number | null = null;
  if (mt === 'mistral') window = get('sliding_window') as number | null;
  if (mt === 'qwen2' && o.use_sliding_window === true) {
    const types = o.layer_types as string[] | undefined;
    if (!types || types.includes('sliding_attention')) window = get('sliding_window') as number | null;
  }
  if (mt === 'qwen2' && Array.isArray(o.layer_types) && o.layer_types.length !== o.num_hidden_layers) {
    throw new ConfigError(source, 'layer_types', `one entry per layer (num_hidden_layers=${o.num_hidden_layers})`, o.layer_types);
  }

  const cfg = {
    model_type: mt,
    vocab_size: o.vocab_size as number,
    hidden_size: C,
    intermediate_size: o.intermediate_size as number,
    num_hidden_layers: o.num_hidden_layers as number,
    num_attention_heads: H,
    num_key_value_heads: KV,
    head_dim: D,
    max_position_embeddings: get('max_position_embeddings') as number,
    rms_norm_eps: get('rms_norm_eps') as number,
    rope_theta: ropeTheta,
    rope_scaling: ropeScaling,
    tie_word_embeddings: (o.tie_word_embeddings ?? false) as boolean,
    attention_bias: mt === 'llama' && o.attention_bias === true,
    sliding_window: window,
    bos_token_id: get('bos_token_id') as number | null,
    eos_token_id: Array.isArray(o.eos_token_id) ? Object.freeze([...(o.eos_token_id as number[])]) : (get('eos_token_id') as number | null),
    pad_token_id: (o.pad_token_id ?? null) as number | null,
    initializer_range: (o.initializer_range ?? 0.02) as number,
    torch_dtype: (o.dtype ?? o.torch_dtype ?? 'float32') as TorchDtype,
  };
  if ('dtype' in o && 'torch_dtype' in o && o.dtype !== o.torch_dtype) throw new ConfigError(source, 'dtype', `the same as torch_dtype ${JSON.stringify(o.torch_dtype)}`, o.dtype);
  const V = cfg.vocab_size;
  for (const f of ['bos_token_id', 'pad_token_id'] as const) {
    const id = cfg[f];
    if (id !== null && id >= V) throw new ConfigError(source, f, `a token id < vocab_size=${V}`, id);
  }
  for (const id of eosList(cfg.eos_token_id)) if (id >= V) throw new ConfigError(source, 'eos_token_id', `token ids < vocab_size=${V}`, cfg.eos_token_id);
  return Object.freeze(cfg) as unknown as ModelConfig;
}

function eosList(e: number | readonly number[] | null): number[] {
  return e === null ? [] : typeof e === 'number' ? [e] : [...e];
}

// ----------------------------------------------------------------------------------------------
// derived values

/** Which attention projections have a bias: qwen2 q/k/v; llama with attention_bias all four. */
export function attentionBiases(cfg: ModelConfig): { qkv: boolean; o: boolean } {
  if (cfg.model_type === 'qwen2') return { qkv: true, o: false };
  return { qkv: cfg.attention_bias, o: cfg.attention_bias };
}

/** The ids that end a sequence (eos_token_id as a list). */
export function eosIds(cfg: ModelConfig): number[] {
  return eosList(cfg.eos_token_id);
}

/**
 * The longest sequence bstar runs: max_position_embeddings, or the attention window when that is
 * shorter (then no position ever falls outside the window, and sliding-window attention equals full
 * attention).
 */
export function contextLength(cfg: ModelConfig): number {
  return cfg.sliding_window === null ? cfg.max_position_embeddings : Math.min(cfg.max_position_embeddings, cfg.sliding_window);
}

// ----------------------------------------------------------------------------------------------
// writing, changing, presets

/** config.json as transformers writes it for the config's family; `dtype` is the stored weights' format. */
export function configJson(cfg: ModelConfig, dtype: TorchDtype = cfg.torch_dtype): Record<string, unknown> {
  const mt = cfg.model_type;
  const family: Record<string, unknown> =
    mt === 'llama'
      ? { attention_bias: cfg.attention_bias, mlp_bias: false, pretraining_tp: 1 }
      : mt === 'qwen2'
        ? { use_sliding_window: cfg.sliding_window !== null, sliding_window: cfg.sliding_window, max_window_layers: cfg.sliding_window === null ? cfg.num_hidden_layers : 0 }
        : { sliding_window: cfg.sliding_window };
  return {
    architectures: [ARCH[mt]],
    model_type: mt,
    torch_dtype: dtype,
    hidden_act: 'silu',
    ...family,
    attention_dropout: 0.0,
    use_cache: true,
    initializer_range: cfg.initializer_range,
    vocab_size: cfg.vocab_size,
    hidden_size: cfg.hidden_size,
    intermediate_size: cfg.intermediate_size,
    num_hidden_layers: cfg.num_hidden_layers,
    num_attention_heads: cfg.num_attention_heads,
    num_key_value_heads: cfg.num_key_value_heads,
    head_dim: cfg.head_dim,
    max_position_embeddings: cfg.max_position_embeddings,
    rms_norm_eps: cfg.rms_norm_eps,
    rope_theta: cfg.rope_theta,
    rope_scaling: cfg.rope_scaling === null ? null : { ...cfg.rope_scaling },
    tie_word_embeddings: cfg.tie_word_embeddings,
    bos_token_id: cfg.bos_token_id,
    eos_token_id: Array.isArray(cfg.eos_token_id) ? [...cfg.eos_token_id] : cfg.eos_token_id,
    pad_token_id: cfg.pad_token_id,
  };
}

/** The config with some fields changed, validated again (the only way to derive one config from another). */
export function withChanges(cfg: ModelConfig, changes: Record<string, unknown>, source = 'config change'): ModelConfig {
  return parseModelConfig({ ...configJson(cfg), ...changes }, source);
}

/** The default tiny model of the demo and the benchmarks: llama, hidden 256, 4 layers, 4 heads, ffn 768. */
export function tinyModelConfig(vocabSize: number, overrides: Record<string, unknown> = {}, source = 'model preset'): ModelConfig {
  return parseModelConfig(
    {
      hidden_size: 256,
      intermediate_size: 768,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      vocab_size: vocabSize,
      max_position_embeddings: 512,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: false,
      bos_token_id: null,
      eos_token_id: null,
      pad_token_id: null,
      ...overrides,
    },
    source,
  );
}
