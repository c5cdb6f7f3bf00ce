// The model's configuration, with exactly the field names of Hugging Face's `LlamaConfig`
// (config.json), so checkpoints load and save without renaming. Validation refuses unknown fields,
// wrong types and inconsistent head counts with a ConfigError naming the field.

export interface LlamaConfig {
  /** C: width of the residual stream. */
  hidden_size: number;
  /** F: width of the SwiGLU MLP. */
  intermediate_size: number;
  /** L: number of decoder blocks. */
  num_hidden_layers: number;
  /** H: query heads; head dim D = hidden_size / H. */
  num_attention_heads: number;
  /** KV: key/value heads (grouped-query attention); H % KV == 0. */
  num_key_value_heads: number;
  rms_norm_eps: number;
  rope_theta: number;
  /** V: vocabulary size. */
  vocab_size: number;
  /** Longest sequence RoPE tables and activations may be built for. */
  max_position_embeddings: number;
  /** When true the LM head reuses model.embed_tokens.weight (no lm_head.weight tensor). */
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
  pad_token_id: number | null;
  /** Std of the normal initialisation of every matrix (HF's default 0.02). */
  initializer_range: number;
}

/** A bad config value: names the source, the field, what was expected and what was found. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly expected: string,
    readonly found: unknown,
  ) {
    super(`${source}: field "${field}" expected ${expected}, found ${describe(found)}`);
    this.name = 'ConfigError';
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  try {
    return `${JSON.stringify(v)} (${v === null ? 'null' : typeof v})`;
  } catch {
    return String(v);
  }
}

/** HF's LlamaConfig defaults for the optional fields. */
const defaults = {
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
  bos_token_id: 1 as number | null,
  eos_token_id: 2 as number | null,
  pad_token_id: null as number | null,
  initializer_range: 0.02,
};

const required = ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'vocab_size'] as const;

/**
 * Fields HF writes into config.json that describe features this engine does not vary. They are
 * accepted only with the value this engine implements, so a checkpoint that needs something else
 * (another activation, RoPE scaling, biases) is refused instead of silently mis-run.
 */
const fixedFields: Record<string, (v: unknown) => boolean> = {
  model_type: (v) => v === 'llama',
  architectures: (v) => Array.isArray(v) && v.every((a) => a === 'LlamaForCausalLM'),
  hidden_act: (v) => v === 'silu',
  pretraining_tp: (v) => v === 1,
  rope_scaling: (v) => v === null,
  attention_bias: (v) => v === false,
  attention_dropout: (v) => v === 0 || v === 0.0,
  mlp_bias: (v) => v === false,
  use_cache: (v) => typeof v === 'boolean',
  torch_dtype: (v) => typeof v === 'string',
  transformers_version: (v) => typeof v === 'string',
};
const fixedExpect: Record<string, string> = {
  model_type: '"llama"',
  architectures: '["LlamaForCausalLM"]',
  hidden_act: '"silu"',
  pretraining_tp: '1',
  rope_scaling: 'null (RoPE scaling is not supported)',
  attention_bias: 'false',
  attention_dropout: '0',
  mlp_bias: 'false',
  use_cache: 'a boolean',
  torch_dtype: 'a string',
  transformers_version: 'a string',
};

const known = new Set<string>([...required, ...Object.keys(defaults), 'num_key_value_heads', 'head_dim', ...Object.keys(fixedFields)]);

/** Validates a parsed config.json (or a partial object with defaults applied) into a LlamaConfig. */
export function validateLlamaConfig(raw: unknown, source = 'config'): LlamaConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, '(root)', 'an object', raw);
  }
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw new ConfigError(source, key, `no such field (known: ${[...known].sort().join(', ')})`, o[key]);
    const fixed = fixedFields[key];
    if (fixed && !fixed(o[key])) throw new ConfigError(source, key, fixedExpect[key], o[key]);
  }
  const posInt = (field: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(source, field, 'a positive integer', v);
    return v;
  };
  const posNum = (field: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(source, field, 'a finite number > 0', v);
    return v;
  };
  const tokenId = (field: string, v: unknown): number | null => {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(source, field, 'a token id (integer ≥ 0) or null', v);
    return v;
  };
  const get = <K extends keyof typeof defaults>(k: K) => (k in o ? o[k] : defaults[k]);

  const cfg: LlamaConfig = {
    hidden_size: posInt('hidden_size', o.hidden_size),
    intermediate_size: posInt('intermediate_size', o.intermediate_size),
    num_hidden_layers: posInt('num_hidden_layers', o.num_hidden_layers),
    num_attention_heads: posInt('num_attention_heads', o.num_attention_heads),
    num_key_value_heads: posInt('num_key_value_heads', 'num_key_value_heads' in o ? o.num_key_value_heads : o.num_attention_heads),
    rms_norm_eps: posNum('rms_norm_eps', get('rms_norm_eps')),
    rope_theta: posNum('rope_theta', get('rope_theta')),
    vocab_size: posInt('vocab_size', o.vocab_size),
    max_position_embeddings: posInt('max_position_embeddings', get('max_position_embeddings')),
    tie_word_embeddings: (() => {
      const v = get('tie_word_embeddings');
      if (typeof v !== 'boolean') throw new ConfigError(source, 'tie_word_embeddings', 'a boolean', v);
      return v;
    })(),
    bos_token_id: tokenId('bos_token_id', get('bos_token_id')),
    eos_token_id: tokenId('eos_token_id', get('eos_token_id')),
    pad_token_id: tokenId('pad_token_id', get('pad_token_id')),
    initializer_range: posNum('initializer_range', get('initializer_range')),
  };
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new ConfigError(source, 'hidden_size', `a multiple of num_attention_heads=${cfg.num_attention_heads}`, cfg.hidden_size);
  }
  const D = cfg.hidden_size / cfg.num_attention_heads;
  if (D % 2 !== 0) throw new ConfigError(source, 'hidden_size', `hidden_size / num_attention_heads even (RoPE rotates pairs), head dim is ${D}`, cfg.hidden_size);
  if (cfg.num_attention_heads % cfg.num_key_value_heads !== 0) {
    throw new ConfigError(source, 'num_attention_heads', `a multiple of num_key_value_heads=${cfg.num_key_value_heads}`, cfg.num_attention_heads);
  }
  if ('head_dim' in o && o.head_dim !== D) throw new ConfigError(source, 'head_dim', `hidden_size / num_attention_heads = ${D}`, o.head_dim);
  for (const f of ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const) {
    const id = cfg[f];
    if (id !== null && id >= cfg.vocab_size) throw new ConfigError(source, f, `a token id < vocab_size=${cfg.vocab_size}`, id);
  }
  return cfg;
}

/** The config as HF writes config.json (for checkpoints). */
export function toHfConfigJson(cfg: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_act: 'silu',
    ...cfg,
    head_dim: cfg.hidden_size / cfg.num_attention_heads,
    attention_bias: false,
    rope_scaling: null,
    torch_dtype: 'float32',
  };
}

/** The default tiny model of the benchmarks and the demo: hidden 256, 4 layers, 4 heads, ffn 768. */
export function tinyLlamaConfig(vocabSize: number, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  return validateLlamaConfig(
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
    'tinyLlamaConfig',
  );
}
