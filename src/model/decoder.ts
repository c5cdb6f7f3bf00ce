// Inference forward of the Llama decoder over a KV cache: any set of rows (token, slot, position) —
// a whole prompt (prefill), one new token of each live sequence (decode), or a prompt+completion
// (scoring) — in one pass of GEMMs over all rows. Weights are the HF-named map (views resolved once);
// all math goes through the Kernels interface. Dims: R rows, C hidden, H query heads, KV key/value
// heads, D head dim, F ffn, V vocab, L layers, S cache slots, cap positions per slot.
import type { DecodeStepsArgs, Kernels } from '../engine/kernels.js';
import { allocLarge } from '../engine/index.js';
import { contextLength, type ModelConfig } from './config.js';
import { checkWeights, paramTable } from './params.js';

export interface LayerWeights {
  ln1: Float32Array; // [C]
  wq: Float32Array; // [H*D, C]
  wk: Float32Array; // [KV*D, C]
  wv: Float32Array; // [KV*D, C]
  wo: Float32Array; // [C, H*D]
  ln2: Float32Array; // [C]
  wg: Float32Array; // [F, C]
  wu: Float32Array; // [F, C]
  wd: Float32Array; // [C, F]
  // optional projection biases (Qwen2: q/k/v; Llama attention_bias: q/k/v/o)
  bq?: Float32Array; // [H*D]
  bk?: Float32Array; // [KV*D]
  bv?: Float32Array; // [KV*D]
  bo?: Float32Array; // [C]
}

export interface DecoderWeights {
  embed: Float32Array; // [V, C]
  layers: LayerWeights[];
  norm: Float32Array; // [C]
  lmHead: Float32Array; // [V, C] (the embedding when tied)
  /**
   * Optional copies of every projection and the head packed once by the kernels (Kernels.packB) and
   * multiplied with matmulPacked: decoding then does not re-pack the weights on every call (at batch
   * 256 that packing read the weights from memory once per GEMM, between attention passes that evict
   * them). Same bits as matmul('nt') with the originals. Stale after the originals change: refresh
   * with refreshPacked().
   */
  p?: PackedWeights;
}

export interface PackedWeights {
  layers: { wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array; wg: Float32Array; wu: Float32Array; wd: Float32Array }[];
  lmHead: Float32Array;
}

/** (Re)writes w.p from the current weights with k's packing. */
export function refreshPacked(k: Kernels, d: Dims, w: DecoderWeights): void {
  const { C, H, KV, D, F, V } = d;
  const HD = H * D;
  const KD = KV * D;
  // W [out, in] is the 'nt' right operand of x[R, in]·Wᵀ: K = in, N = out
  const pk = (W: Float32Array, out: number, inp: number) => k.packB('nt', W, inp, out);
  w.p = {
    layers: w.layers.map((lw) => ({
      wq: pk(lw.wq, HD, C), wk: pk(lw.wk, KD, C), wv: pk(lw.wv, KD, C), wo: pk(lw.wo, C, HD),
      wg: pk(lw.wg, F, C), wu: pk(lw.wu, F, C), wd: pk(lw.wd, C, F),
    })),
    lmHead: pk(w.lmHead, V, C),
  };
}

/** out[R, OUT] = inp[R, IN]·Wᵀ, from W [OUT, IN] or its packed copy when there is one. */
function project(k: Kernels, out: Float32Array, inp: Float32Array, W: Float32Array, WP: Float32Array | undefined, R: number, OUT: number, IN: number): void {
  if (WP) k.matmulPacked(out, inp, WP, R, OUT, IN, false);
  else k.matmul('nt', out, inp, W, R, OUT, IN, false);
}

export interface Dims {
  L: number;
  C: number;
  H: number;
  KV: number;
  D: number;
  F: number;
  V: number;
  maxPos: number;
  eps: number;
}

export function dimsOf(cfg: ModelConfig): Dims {
  return {
    L: cfg.num_hidden_layers,
    C: cfg.hidden_size,
    H: cfg.num_attention_heads,
    KV: cfg.num_key_value_heads,
    D: cfg.head_dim,
    F: cfg.intermediate_size,
    V: cfg.vocab_size,
    maxPos: contextLength(cfg),
    eps: cfg.rms_norm_eps,
  };
}

/** Resolves the HF-named map into per-layer views by the parameter table (checked against the config). */
export function decoderWeights(cfg: ModelConfig, w: ReadonlyMap<string, Float32Array>): DecoderWeights {
  checkWeights(cfg, w, 'decoder weights');
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.num_hidden_layers; i++) layers.push({} as LayerWeights);
  const global: Partial<Record<'embed' | 'norm' | 'head', Float32Array>> = {};
  const FIELD = { ln1: 'ln1', q: 'wq', k: 'wk', v: 'wv', o: 'wo', ln2: 'ln2', gate: 'wg', up: 'wu', down: 'wd', bq: 'bq', bk: 'bk', bv: 'bv', bo: 'bo' } as const;
  for (const t of paramTable(cfg).tensors) {
    const data = w.get(t.name)!;
    if (t.kind === 'embed' || t.kind === 'norm' || t.kind === 'head') global[t.kind] = data;
    else layers[t.layer][FIELD[t.kind]] = data;
  }
  const embed = global.embed!;
  return { embed, layers, norm: global.norm!, lmHead: cfg.tie_word_embeddings ? embed : global.head! };
}

// ----------------------------------------------------------------------------------------------
// KV cache: per layer one K and one V arena [S, KV, cap, D] (head-major: one head's keys of a slot
// are contiguous), sized by a token budget S*cap.

export interface KvCache {
  S: number;
  cap: number;
  KV: number;
  D: number;
  k: Float32Array[]; // per layer, [S, KV, cap, D]
  v: Float32Array[];
}

export function createKvCache(d: Dims, S: number, cap: number): KvCache {
  const n = S * cap * d.KV * d.D;
  const k: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (let l = 0; l < d.L; l++) {
    k.push(allocLarge(n));
    v.push(allocLarge(n));
  }
  return { S, cap, KV: d.KV, D: d.D, k, v };
}

export function kvCacheBytes(c: KvCache): number {
  return c.k.reduce((a, x) => a + x.byteLength, 0) * 2;
}

/** Offset of (slot, kv head, position) in a layer's arena. */
function at(c: KvCache, slot: number, h: number, pos: number): number {
  return ((slot * c.KV + h) * c.cap + pos) * c.D;
}

/** Copies positions [0, len) of slot `from` into slot `to`, every layer and head. */
export function copySlot(c: KvCache, from: number, to: number, len: number): void {
  for (let l = 0; l < c.k.length; l++) {
    for (let h = 0; h < c.KV; h++) {
      c.k[l].copyWithin(at(c, to, h, 0), at(c, from, h, 0), at(c, from, h, len));
      c.v[l].copyWithin(at(c, to, h, 0), at(c, from, h, 0), at(c, from, h, len));
    }
  }
}

/** A copy of positions [0, len) of a slot (every layer), for prompt prefixes kept across admissions. */
export interface SlotPrefix {
  len: number;
  k: Float32Array[]; // per layer [KV, len, D]
  v: Float32Array[];
}

export function saveSlotPrefix(c: KvCache, slot: number, len: number): SlotPrefix {
  const take = (arena: Float32Array) => {
    const out = new Float32Array(c.KV * len * c.D);
    for (let h = 0; h < c.KV; h++) out.set(arena.subarray(at(c, slot, h, 0), at(c, slot, h, len)), h * len * c.D);
    return out;
  };
  return { len, k: c.k.map(take), v: c.v.map(take) };
}

export function restoreSlotPrefix(c: KvCache, p: SlotPrefix, slot: number): void {
  const n = p.len * c.D;
  for (let l = 0; l < c.k.length; l++) {
    for (let h = 0; h < c.KV; h++) {
      c.k[l].set(p.k[l].subarray(h * n, (h + 1) * n), at(c, slot, h, 0));
      c.v[l].set(p.v[l].subarray(h * n, (h + 1) * n), at(c, slot, h, 0));
    }
  }
}

// ----------------------------------------------------------------------------------------------
// forward over rows

/** Activation scratch for up to `rows` rows; grown on demand (create/grow, no per-step allocation). */
export interface DecodeScratch {
  rows: number;
  x: Float32Array; // [R, C] residual stream
  xb: Float32Array; // [R, C]
  rstd: Float32Array; // [R]
  q: Float32Array; // [R, H*D]
  k: Float32Array; // [R, KV*D]
  v: Float32Array; // [R, KV*D]
  att: Float32Array; // [R, H*D]
  gate: Float32Array; // [R, F]
  up: Float32Array; // [R, F]
  hid: Float32Array; // [R, F] silu(gate)·up
  xn: Float32Array; // [R, C] final-norm rows
  lengths: Int32Array; // [R]
  ones: Float32Array; // [R] all 1: a bias is added as the rank-1 GEMM ones[R,1]·b[1,N]
}

export function createScratch(d: Dims, rows: number): DecodeScratch {
  return {
    rows,
    x: new Float32Array(rows * d.C),
    xb: new Float32Array(rows * d.C),
    rstd: new Float32Array(rows),
    q: new Float32Array(rows * d.H * d.D),
    k: new Float32Array(rows * d.KV * d.D),
    v: new Float32Array(rows * d.KV * d.D),
    att: new Float32Array(rows * d.H * d.D),
    gate: new Float32Array(rows * d.F),
    up: new Float32Array(rows * d.F),
    hid: new Float32Array(rows * d.F),
    xn: new Float32Array(rows * d.C),
    lengths: new Int32Array(rows),
    ones: new Float32Array(rows).fill(1),
  };
}

/**
 * Runs R rows through the decoder: row r is token tokens[r] at position positions[r] of cache slot
 * slots[r]; its key/value are written into the cache, and it attends to positions 0..positions[r]
 * of its slot (earlier positions must already be in the cache or earlier in this call). Writes
 * logits[j, :] for row logitRows[j] (nLogits rows).
 */
export function forwardRows(
  k: Kernels, d: Dims, w: DecoderWeights, rope: { cos: Float32Array; sin: Float32Array }, cache: KvCache, s: DecodeScratch,
  tokens: Int32Array, positions: Int32Array, slots: Int32Array, R: number,
  logitRows: Int32Array, nLogits: number, logits: Float32Array,
): void {
  if (R > s.rows) throw new RangeError(`forwardRows: ${R} rows exceed the scratch (${s.rows})`);
  const { C, H, KV, D, F, V, eps } = d;
  const x = s.x.subarray(0, R * C);
  const xb = s.xb.subarray(0, R * C);
  k.embeddingForward(x, w.embed, tokens, R, C);
  const rowsPerBlock = DECODE_MIN_BLOCK;
  if (k.decodeLayers && w.p && longestSlotRun(slots, R, cache.S) <= rowsPerBlock) {
    // one native call runs every layer, threads taking blocks of whole slots (a decode step: one row
    // per slot; a prefill of many short prompts); a long prompt alone goes kernel by kernel, whose
    // GEMMs split across threads
    const layers = w.layers.map((lw, l) => ({ ...lw, ...w.p!.layers[l], kCache: cache.k[l], vCache: cache.v[l] }));
    let all = nLogits === R; // every row's logits, in row order (a decode step): the blocks compute them too
    for (let j = 0; all && j < R; j++) all = logitRows[j] === j;
    if (all) {
      k.decodeLayers(x, xb, s.q, s.k, s.v, s.att, s.gate, s.up, s.hid, layers, rope.cos, rope.sin, positions, slots, R, C, H, KV, D, F, cache.cap, eps, rowsPerBlock, w.norm, w.p.lmHead, logits, V);
      return;
    }
    k.decodeLayers(x, xb, s.q, s.k, s.v, s.att, s.gate, s.up, s.hid, layers, rope.cos, rope.sin, positions, slots, R, C, H, KV, D, F, cache.cap, eps, rowsPerBlock);
  } else forwardLayers(k, d, w, rope, cache, s, positions, slots, R);
  // only the rows whose next-token distribution is wanted go through the final norm and lm_head
  const xl = xb.subarray(0, nLogits * C);
  for (let j = 0; j < nLogits; j++) xl.set(x.subarray(logitRows[j] * C, (logitRows[j] + 1) * C), j * C);
  const xn = s.xn.subarray(0, nLogits * C);
  k.rmsnormForward(xn, s.rstd, xl, w.norm, nLogits, C, eps);
  project(k, logits.subarray(0, nLogits * V), xn, w.lmHead, w.p?.lmHead, nLogits, V, C);
}

/**
 * Up to sa.steps decode steps of R rows (one per slot) with the token choice in the kernels
 * (Kernels.decodeSteps; the caller checks that it exists and w.p is set). Row r starts from
 * sa.tokens[r] at positions[r]. Results in sa's out arrays.
 */
export function decodeStepsRows(
  k: Kernels, d: Dims, w: DecoderWeights, rope: { cos: Float32Array; sin: Float32Array }, cache: KvCache, s: DecodeScratch,
  positions: Int32Array, slots: Int32Array, R: number, logits: Float32Array, sa: Omit<DecodeStepsArgs, 'embed'>,
): void {
  if (R > s.rows) throw new RangeError(`decodeStepsRows: ${R} rows exceed the scratch (${s.rows})`);
  const { C, H, KV, D, F, V, eps } = d;
  const rowsPerBlock = DECODE_MIN_BLOCK;
  const layers = w.layers.map((lw, l) => ({ ...lw, ...w.p!.layers[l], kCache: cache.k[l], vCache: cache.v[l] }));
  k.decodeSteps!(s.x, s.xb, s.q, s.k, s.v, s.att, s.gate, s.up, s.hid, layers, rope.cos, rope.sin, positions, slots, R, C, H, KV, D, F, cache.cap, eps, rowsPerBlock, w.norm, w.p!.lmHead, logits, V, { ...sa, embed: w.embed });
}

/**
 * The smallest block of rows a thread takes through decodeLayers/decodeSteps (GEMM efficiency); the
 * kernel sizes blocks "guided", about the rows left / (2 · threads), big first and small last.
 */
const DECODE_MIN_BLOCK = 8;

/** The longest run of rows in one slot, or Infinity when a slot's rows are not contiguous. */
function longestSlotRun(slots: Int32Array, R: number, S: number): number {
  const seen = new Uint8Array(S);
  let longest = 0;
  for (let r = 0; r < R; ) {
    const s = slots[r];
    if (seen[s]) return Infinity;
    seen[s] = 1;
    let e = r + 1;
    while (e < R && slots[e] === s) e++;
    longest = Math.max(longest, e - r);
    r = e;
  }
  return longest;
}

/** The decoder layers kernel by kernel (any rows; prefill, scoring, and backends without decodeLayers). */
function forwardLayers(
  k: Kernels, d: Dims, w: DecoderWeights, rope: { cos: Float32Array; sin: Float32Array }, cache: KvCache, s: DecodeScratch,
  positions: Int32Array, slots: Int32Array, R: number,
): void {
  const { C, H, KV, D, F, eps } = d;
  const HD = H * D;
  const KD = KV * D;
  const x = s.x.subarray(0, R * C);
  const xb = s.xb.subarray(0, R * C);
  const q = s.q.subarray(0, R * HD);
  const kr = s.k.subarray(0, R * KD);
  const vr = s.v.subarray(0, R * KD);
  const att = s.att.subarray(0, R * HD);
  const gate = s.gate.subarray(0, R * F);
  const up = s.up.subarray(0, R * F);
  const hid = s.hid.subarray(0, R * F);
  for (let r = 0; r < R; r++) s.lengths[r] = positions[r] + 1;
  for (let l = 0; l < d.L; l++) {
    const lw = w.layers[l];
    const lt = w.p?.layers[l];
    k.rmsnormForward(xb, s.rstd, x, lw.ln1, R, C, eps);
    project(k, q, xb, lw.wq, lt?.wq, R, HD, C);
    project(k, kr, xb, lw.wk, lt?.wk, R, KD, C);
    project(k, vr, xb, lw.wv, lt?.wv, R, KD, C);
    if (lw.bq) addBias(k, q, s.ones, lw.bq, R, HD);
    if (lw.bk) addBias(k, kr, s.ones, lw.bk, R, KD);
    if (lw.bv) addBias(k, vr, s.ones, lw.bv, R, KD);
    k.ropeForward(q, rope.cos, rope.sin, positions, R, H, D);
    k.ropeForward(kr, rope.cos, rope.sin, positions, R, KV, D);
    const kc = cache.k[l];
    const vc = cache.v[l];
    writeKv(cache, kc, vc, kr, vr, slots, positions, R);
    k.attentionKvForward(att, q, kc, vc, slots, s.lengths, R, H, KV, D, cache.cap);
    project(k, xb, att, lw.wo, lt?.wo, R, C, HD);
    if (lw.bo) addBias(k, xb, s.ones, lw.bo, R, C);
    k.add(x, x, xb, R * C);
    k.rmsnormForward(xb, s.rstd, x, lw.ln2, R, C, eps);
    project(k, gate, xb, lw.wg, lt?.wg, R, F, C);
    project(k, up, xb, lw.wu, lt?.wu, R, F, C);
    k.swigluForward(hid, gate, up, R * F);
    project(k, xb, hid, lw.wd, lt?.wd, R, C, F);
    k.add(x, x, xb, R * C);
  }
}

/**
 * Writes row r's keys and values (kr, vr [R, KV*D]) at position positions[r] of slot slots[r].
 * Element-wise copies: a subarray()+set() pair per (row, head) costs more than the 64 floats it moves.
 */
function writeKv(cache: KvCache, kc: Float32Array, vc: Float32Array, kr: Float32Array, vr: Float32Array, slots: Int32Array, positions: Int32Array, R: number): void {
  const { KV, D } = cache;
  for (let r = 0; r < R; r++) {
    for (let h = 0; h < KV; h++) {
      const o = at(cache, slots[r], h, positions[r]);
      const i = (r * KV + h) * D;
      for (let d = 0; d < D; d++) {
        kc[o + d] = kr[i + d];
        vc[o + d] = vr[i + d];
      }
    }
  }
}

/** out[r, :] += b for r < R, as the accumulating GEMM ones[R,1]·b[1,N] (one kernel call, exact: 1·b). */
function addBias(k: Kernels, out: Float32Array, ones: Float32Array, b: Float32Array, R: number, N: number): void {
  k.matmul('nn', out.subarray(0, R * N), ones.subarray(0, R), b, R, N, 1, true);
}
