// GGUF export (llama.cpp's file format, version 3), written from the spec in ggml's docs/gguf.md and
// gguf-py (constants.py, gguf_writer.py); tensor naming and the Q/K row permutation follow
// convert_hf_to_gguf.py's LlamaModel so llama.cpp runs the exported model exactly as transformers
// runs the HF checkpoint.
//
// Layout: "GGUF" u32 version=3, u64 n_tensors, u64 n_kv, then n_kv × (string key, u32 type, value),
// then n_tensors × (string name, u32 n_dims, u64 ne[n_dims] (innermost first), u32 ggml_type,
// u64 offset), zero padding to `general.alignment` (32), then the tensor data, each tensor starting at
// a multiple of the alignment. Strings are u64 length + UTF-8 bytes; everything little-endian.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Tokenizer } from '../tokenizer/types.js';
import { attentionBiases, eosIds, type ModelConfig } from './config.js';
import { paramTable, tensorsInHfOrder } from './params.js';
import { ropeInvFreq } from './rope.js';
import { f32ToF16 } from './safetensors.js';

export class GgufError extends Error {
  override readonly name = 'GgufError';
}

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;

/** gguf_metadata_value_type */
export const enum GgufType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}
/** ggml_type of a tensor */
export const GGML_F32 = 0;
export const GGML_F16 = 1;
/** llama_ftype (general.file_type) */
const FILE_TYPE = { f32: 0, f16: 1 } as const;
/** llama.cpp token types (tokenizer.ggml.token_type) */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export type GgufValue =
  | { type: GgufType.UINT32 | GgufType.INT32 | GgufType.FLOAT32 | GgufType.UINT64 | GgufType.UINT8; value: number }
  | { type: GgufType.BOOL; value: boolean }
  | { type: GgufType.STRING; value: string }
  | { type: GgufType.ARRAY; elemType: GgufType.STRING; value: string[] }
  | { type: GgufType.ARRAY; elemType: GgufType.FLOAT32 | GgufType.INT32; value: number[] };

export interface GgufTensor {
  name: string;
  /** numpy-order shape (outermost first), as in the HF checkpoint; written reversed as ggml's ne. */
  shape: number[];
  data: Float32Array;
  type: typeof GGML_F32 | typeof GGML_F16;
}

// ----------------------------------------------------------------------------------------------
// encoding

class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function writeValue(out: Bytes, v: GgufValue): void {
  switch (v.type) {
    case GgufType.UINT8: out.push(Buffer.from([v.value])); break;
    case GgufType.UINT32: out.u32(v.value); break;
    case GgufType.INT32: out.i32(v.value); break;
    case GgufType.UINT64: out.u64(v.value); break;
    case GgufType.FLOAT32: out.f32(v.value); break;
    case GgufType.BOOL: out.push(Buffer.from([v.value ? 1 : 0])); break;
    case GgufType.STRING: out.str(v.value); break;
    case GgufType.ARRAY:
      out.u32(v.elemType);
      out.u64(v.value.length);
      for (const x of v.value) {
        if (v.elemType === GgufType.STRING) out.str(x as string);
        else if (v.elemType === GgufType.FLOAT32) out.f32(x as number);
        else out.i32(x as number);
      }
      break;
  }
}

function tensorBytes(t: GgufTensor): Buffer {
  if (t.type === GGML_F32) return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const b = Buffer.alloc(t.data.length * 2);
  for (let i = 0; i < t.data.length; i++) b.writeUInt16LE(f32ToF16(t.data[i]), i * 2);
  return b;
}

/** The whole GGUF file as chunks (header+infos, then each tensor padded), so big models need no single buffer. */
export function encodeGguf(metadata: Map<string, GgufValue>, tensors: GgufTensor[]): Buffer[] {
  const head = new Bytes();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.size);
  for (const [k, v] of metadata) {
    head.str(k);
    head.u32(v.type);
    writeValue(head, v);
  }
  const datas = tensors.map(tensorBytes);
  let offset = 0;
  tensors.forEach((t, i) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new GgufError(`tensor "${t.name}": shape [${t.shape}] needs ${n} values, found ${t.data.length}`);
    head.str(t.name);
    head.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) head.u64(t.shape[d]); // ne[0] is the innermost dim
    head.u32(t.type);
    head.u64(offset);
    offset += align(datas[i].length);
  });
  const out: Buffer[] = [head.concat()];
  out.push(Buffer.alloc(align(head.length) - head.length));
  for (const d of datas) {
    out.push(d);
    out.push(Buffer.alloc(align(d.length) - d.length));
  }
  return out;
}

function align(n: number): number {
  return Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
}

// ----------------------------------------------------------------------------------------------
// HF Llama checkpoint → GGUF

/**
 * convert_hf_to_gguf.py LlamaModel.permute: HF's rotate_half RoPE pairs dims (i, i+D/2) of a head;
 * llama.cpp's "normal" RoPE pairs (2i, 2i+1). Reordering the rows of q_proj / k_proj (and their
 * biases) per head from [half0 | half1] to interleaved makes the two compute the same scores.
 */
export function permuteQk(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  const D = rows / nHead;
  const half = D / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (const [src, dst] of [[i, 2 * i], [half + i, 2 * i + 1]]) {
        out.set(w.subarray((h * D + src) * cols, (h * D + src + 1) * cols), (h * D + dst) * cols);
      }
    }
  }
  return out;
}

export interface GgufExportOptions {
  type?: 'f32' | 'f16';
  name?: string;
}

const HF_TO_GGUF: [RegExp, string][] = [
  [/^model\.embed_tokens\.weight$/, 'token_embd.weight'],
  [/^model\.norm\.weight$/, 'output_norm.weight'],
  [/^lm_head\.weight$/, 'output.weight'],
  [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, 'blk.$1.attn_norm.weight'],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, 'blk.$1.ffn_norm.weight'],
  [/^model\.layers\.(\d+)\.self_attn\.q_proj\.(weight|bias)$/, 'blk.$1.attn_q.$2'],
  [/^model\.layers\.(\d+)\.self_attn\.k_proj\.(weight|bias)$/, 'blk.$1.attn_k.$2'],
  [/^model\.layers\.(\d+)\.self_attn\.v_proj\.(weight|bias)$/, 'blk.$1.attn_v.$2'],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj\.(weight|bias)$/, 'blk.$1.attn_output.$2'],
  [/^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$/, 'blk.$1.ffn_gate.weight'],
  [/^model\.layers\.(\d+)\.mlp\.up_proj\.weight$/, 'blk.$1.ffn_up.weight'],
  [/^model\.layers\.(\d+)\.mlp\.down_proj\.weight$/, 'blk.$1.ffn_down.weight'],
];

export function ggufTensorName(hf: string): string {
  for (const [re, to] of HF_TO_GGUF) if (re.test(hf)) return hf.replace(re, to);
  throw new GgufError(`tensor "${hf}" has no GGUF name (not a Llama tensor)`);
}

/**
 * The GGUF metadata and tensors of a checkpoint. Llama and Mistral export as llama.cpp's `llama`
 * architecture (Q/K rows permuted), Qwen2 as `qwen2` (NeoX RoPE: no permutation). 1-D tensors stay
 * F32 in an f16 file, as convert_hf_to_gguf.py does.
 */
export function ggufFromCheckpoint(
  config: ModelConfig, weights: ReadonlyMap<string, Float32Array>, tokenizer: Tokenizer | null, opts: GgufExportOptions = {},
): { metadata: Map<string, GgufValue>; tensors: GgufTensor[] } {
  const type = opts.type ?? 'f32';
  if (type !== 'f32' && type !== 'f16') throw new GgufError(`--type: expected "f32" or "f16", found ${JSON.stringify(type)}`);
  if (!tokenizer) throw new GgufError('the checkpoint has no tokenizer.json; llama.cpp needs a vocabulary in the GGUF file');
  const mt = config.model_type;
  const arch = mt === 'qwen2' ? 'qwen2' : 'llama';
  const bias = attentionBiases(config);
  if (arch === 'llama' && bias.o) throw new GgufError('attention_bias (o_proj bias) has no tensor in llama.cpp\'s llama architecture');
  const D = config.head_dim;
  const H = config.num_attention_heads;
  const KV = config.num_key_value_heads;
  const C = config.hidden_size;
  const m = new Map<string, GgufValue>();
  const u32 = (value: number): GgufValue => ({ type: GgufType.UINT32, value });
  const f32 = (value: number): GgufValue => ({ type: GgufType.FLOAT32, value });
  m.set('general.architecture', { type: GgufType.STRING, value: arch });
  m.set('general.name', { type: GgufType.STRING, value: opts.name ?? 'bstar' });
  m.set('general.file_type', u32(FILE_TYPE[type]));
  m.set('general.alignment', u32(GGUF_ALIGNMENT));
  m.set(`${arch}.vocab_size`, u32(config.vocab_size));
  m.set(`${arch}.context_length`, u32(config.max_position_embeddings));
  m.set(`${arch}.embedding_length`, u32(C));
  m.set(`${arch}.block_count`, u32(config.num_hidden_layers));
  m.set(`${arch}.feed_forward_length`, u32(config.intermediate_size));
  m.set(`${arch}.rope.dimension_count`, u32(D));
  m.set(`${arch}.rope.freq_base`, f32(config.rope_theta));
  m.set(`${arch}.attention.head_count`, u32(H));
  m.set(`${arch}.attention.head_count_kv`, u32(KV));
  m.set(`${arch}.attention.layer_norm_rms_epsilon`, f32(config.rms_norm_eps));
  if (D !== C / H) {
    m.set(`${arch}.attention.key_length`, u32(D));
    m.set(`${arch}.attention.value_length`, u32(D));
  }
  const rs = config.rope_scaling;
  if (rs?.rope_type === 'linear') {
    m.set(`${arch}.rope.scaling.type`, { type: GgufType.STRING, value: 'linear' });
    m.set(`${arch}.rope.scaling.factor`, f32(rs.factor));
  }
  for (const [k, v] of tokenizerMetadata(config, tokenizer)) m.set(k, v);

  const tensors: GgufTensor[] = [];
  if (rs?.rope_type === 'llama3') {
    // convert_hf_to_gguf.py's rope_freqs: llama.cpp divides each base frequency by its factor
    const base = ropeInvFreq(D, config.rope_theta, null);
    const scaled = ropeInvFreq(D, config.rope_theta, rs);
    tensors.push({ name: 'rope_freqs.weight', shape: [D / 2], data: base.map((b, i) => b / scaled[i]), type: GGML_F32 });
  }
  for (const { name, shape } of tensorsInHfOrder(paramTable(config).tensors)) {
    let data = weights.get(name);
    if (!data) throw new GgufError(`missing tensor "${name}"`);
    if (arch === 'llama') {
      const cols = shape.length === 2 ? shape[1] : 1;
      if (/self_attn\.q_proj\./.test(name)) data = permuteQk(data, shape[0], cols, H);
      else if (/self_attn\.k_proj\./.test(name)) data = permuteQk(data, shape[0], cols, KV);
    }
    tensors.push({ name: ggufTensorName(name), shape, data, type: type === 'f16' && shape.length === 2 ? GGML_F16 : GGML_F32 });
  }
  return { metadata: m, tensors };
}

/**
 * tokenizer.ggml.* for bstar's tokenizers. The char tokenizer becomes a byte-level BPE (`gpt2`)
 * vocabulary: one token per character written in GPT-2's byte-to-unicode alphabet (space "Ġ",
 * newline "Ċ"), merges only to join the bytes of a multi-byte character, specials as CONTROL tokens,
 * so llama.cpp's tokenizer maps text to the ids bstar does. (A SentencePiece `llama` vocabulary does
 * not work: llama.cpp looks up the <0x0A> byte token of an SPM vocabulary at load and aborts without
 * it, and the char vocabulary has no byte tokens.) A byte-level BPE tokenizer.json becomes a `gpt2`
 * vocabulary with its merges.
 */
export function tokenizerMetadata(config: ModelConfig, tok: Tokenizer): Map<string, GgufValue> {
  const m = new Map<string, GgufValue>();
  const V = config.vocab_size;
  if (tok.vocabSize > V) throw new GgufError(`tokenizer has ${tok.vocabSize} ids but config vocab_size is ${V}`);
  const tokens: string[] = [];
  const types: number[] = [];
  if (tok.kind === 'char') {
    // byte-level BPE text of each character; a multi-byte character needs merges joining its bytes
    const merges: string[] = [];
    const seen = new Set<string>();
    for (let id = 0; id < tok.vocabSize; id++) {
      const special = tok.isSpecial(id);
      const ch = tok.decodeToken(id);
      const pieces = special ? [ch] : [...Buffer.from(ch, 'utf8')].map((b) => BYTE_TO_UNICODE[b]);
      tokens.push(pieces.join(''));
      types.push(special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.NORMAL);
      for (let i = 1; !special && i < pieces.length; i++) {
        const merge = `${pieces.slice(0, i).join('')} ${pieces[i]}`;
        if (!seen.has(merge)) merges.push(merge);
        seen.add(merge);
      }
    }
    padVocab(tokens, types, V);
    m.set('tokenizer.ggml.model', { type: GgufType.STRING, value: 'gpt2' });
    m.set('tokenizer.ggml.pre', { type: GgufType.STRING, value: 'default' });
    m.set('tokenizer.ggml.tokens', { type: GgufType.ARRAY, elemType: GgufType.STRING, value: tokens });
    m.set('tokenizer.ggml.token_type', { type: GgufType.ARRAY, elemType: GgufType.INT32, value: types });
    m.set('tokenizer.ggml.merges', { type: GgufType.ARRAY, elemType: GgufType.STRING, value: merges });
  } else {
    const files = tok.toHfFiles() as { 'tokenizer.json'?: { model?: { type?: string; vocab?: Record<string, number>; merges?: unknown[] }; pre_tokenizer?: unknown; added_tokens?: { id: number; content: string; special?: boolean }[] } };
    const j = files['tokenizer.json'];
    const model = j?.model;
    if (model?.type !== 'BPE' || !JSON.stringify(j?.pre_tokenizer ?? null).includes('"ByteLevel"')) {
      throw new GgufError('GGUF export supports the char tokenizer and byte-level BPE tokenizer.json (Llama-3/Qwen2 style); this tokenizer is neither');
    }
    const byId = new Map<number, string>();
    for (const [t, id] of Object.entries(model.vocab ?? {})) byId.set(id, t);
    for (const a of j?.added_tokens ?? []) byId.set(a.id, a.content);
    for (let id = 0; id < tok.vocabSize; id++) {
      const t = byId.get(id);
      if (t === undefined) throw new GgufError(`tokenizer.json: no token with id ${id}`);
      tokens.push(t);
      types.push(tok.isSpecial(id) ? TOKEN_TYPE.CONTROL : (j?.added_tokens ?? []).some((a) => a.id === id) ? TOKEN_TYPE.USER_DEFINED : TOKEN_TYPE.NORMAL);
    }
    padVocab(tokens, types, V);
    const merges = (model.merges ?? []).map((x) => (Array.isArray(x) ? x.join(' ') : String(x)));
    m.set('tokenizer.ggml.model', { type: GgufType.STRING, value: 'gpt2' });
    m.set('tokenizer.ggml.pre', { type: GgufType.STRING, value: config.model_type === 'qwen2' ? 'qwen2' : 'llama-bpe' });
    m.set('tokenizer.ggml.tokens', { type: GgufType.ARRAY, elemType: GgufType.STRING, value: tokens });
    m.set('tokenizer.ggml.token_type', { type: GgufType.ARRAY, elemType: GgufType.INT32, value: types });
    m.set('tokenizer.ggml.merges', { type: GgufType.ARRAY, elemType: GgufType.STRING, value: merges });
  }
  const u32 = (value: number): GgufValue => ({ type: GgufType.UINT32, value });
  if (tok.bosId >= 0) m.set('tokenizer.ggml.bos_token_id', u32(tok.bosId));
  m.set('tokenizer.ggml.eos_token_id', u32(eosIds(config)[0] ?? tok.eosId));
  if (tok.unkId !== null) m.set('tokenizer.ggml.unknown_token_id', u32(tok.unkId));
  m.set('tokenizer.ggml.padding_token_id', u32(tok.padId));
  m.set('tokenizer.ggml.add_bos_token', { type: GgufType.BOOL, value: tok.bosId >= 0 });
  m.set('tokenizer.ggml.add_eos_token', { type: GgufType.BOOL, value: false });
  return m;
}

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to U+0100…. */
const BYTE_TO_UNICODE: string[] = (() => {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + n++);
  return out;
})();

/** Ids the model has beyond the tokenizer's: "[PAD<i>]" UNUSED tokens, as convert_hf_to_gguf.py writes. */
function padVocab(tokens: string[], types: number[], V: number, scores?: number[]): void {
  for (let id = tokens.length; id < V; id++) {
    tokens.push(`[PAD${id}]`);
    types.push(TOKEN_TYPE.UNUSED);
    scores?.push(0);
  }
}

/** Writes a GGUF file atomically (temp file beside it, fsync, rename). Returns its size in bytes. */
export function writeGguf(file: string, metadata: Map<string, GgufValue>, tensors: GgufTensor[]): number {
  const chunks = encodeGguf(metadata, tensors);
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w');
  let size = 0;
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) off += writeSync(fd, c, off, c.length - off);
      size += c.length;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return size;
}
