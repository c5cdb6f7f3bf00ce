// GGUF export: the file layout against the spec (read back with an independent little reader), the
// f16 conversion and Q/K permutation against hand-computed cases, and — when node-llama-cpp is
// available (docs/interop.md) — llama.cpp itself loading the exported files and continuing greedily
// with exactly bstar's tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { ggufFromCheckpoint, GgufError, permuteQk, writeGguf } from '../../src/model/gguf.js';
import type { ModelConfig } from '../../src/model/config.js';
import { f32ToF16 } from '../../src/model/safetensors.js';
import { Sampler } from '../../src/model/sampler.js';
import { CharTokenizer, loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../../test/fixtures');

// ---------------------------------------------------------------------------------------------
// an independent reader of the parts of GGUF v3 the writer uses

function readGguf(buf: Buffer) {
  let o = 0;
  const u32 = () => ((o += 4), buf.readUInt32LE(o - 4));
  const u64 = () => ((o += 8), Number(buf.readBigUInt64LE(o - 8)));
  const str = () => {
    const n = u64();
    o += n;
    return buf.toString('utf8', o - n, o);
  };
  const val = (t: number): unknown => {
    switch (t) {
      case 0: return buf[o++];
      case 4: return u32();
      case 5: return ((o += 4), buf.readInt32LE(o - 4));
      case 6: return ((o += 4), buf.readFloatLE(o - 4));
      case 7: return buf[o++] === 1;
      case 8: return str();
      case 9: {
        const et = u32();
        const n = u64();
        return Array.from({ length: n }, () => val(et));
      }
      default: throw new Error(`type ${t}`);
    }
  };
  assert.equal(buf.toString('latin1', 0, 4), 'GGUF');
  o = 4;
  const version = u32();
  const nT = u64();
  const nKv = u64();
  const kv = new Map<string, unknown>();
  for (let i = 0; i < nKv; i++) {
    const k = str();
    kv.set(k, val(u32()));
  }
  const infos: { name: string; ne: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < nT; i++) {
    const name = str();
    const nd = u32();
    const ne = Array.from({ length: nd }, () => u64());
    infos.push({ name, ne, type: u32(), offset: u64() });
  }
  const dataStart = Math.ceil(o / 32) * 32;
  return { version, kv, infos, dataStart };
}

test('f16 conversion rounds to nearest even, handles subnormals, overflow and signs', () => {
  const cases: [number, number][] = [
    [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-0, 0x8000],
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [2 ** -14, 0x0400], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
    [Infinity, 0x7c00], [-Infinity, 0xfc00],
  ];
  for (const [x, h] of cases) assert.equal(f32ToF16(x), h, `f16(${x})`);
  assert.equal(f32ToF16(NaN) & 0x7c00, 0x7c00);
  assert.ok((f32ToF16(NaN) & 0x3ff) !== 0);
});

test('Q/K permutation: interleaved RoPE on permuted rows equals rotate_half RoPE on the original rows', () => {
  const nHead = 3;
  const D = 8;
  const cols = 5;
  const w = Float32Array.from({ length: nHead * D * cols }, (_, i) => Math.sin(i * 1.7) * 3);
  const x = Float32Array.from({ length: cols }, (_, i) => Math.cos(i + 0.3));
  const p = permuteQk(w, nHead * D, cols, nHead);
  const proj = (m: Float32Array) => Array.from({ length: nHead * D }, (_, r) => x.reduce((a, xv, c) => a + m[r * cols + c] * xv, 0));
  const q = proj(w);
  const qp = proj(p);
  const pos = 5;
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < D / 2; i++) {
      const th = pos * 10000 ** (-(2 * i) / D);
      const [c, s] = [Math.cos(th), Math.sin(th)];
      // transformers: pairs (i, i + D/2)
      const a = q[h * D + i];
      const b = q[h * D + i + D / 2];
      // llama.cpp "normal" RoPE: pairs (2i, 2i+1)
      const a2 = qp[h * D + 2 * i];
      const b2 = qp[h * D + 2 * i + 1];
      assert.ok(Math.abs(a * c - b * s - (a2 * c - b2 * s)) < 1e-9);
      assert.ok(Math.abs(a * s + b * c - (a2 * s + b2 * c)) < 1e-9);
    }
  }
});

test('the file follows GGUF v3: metadata, tensor infos (ne innermost first), 32-aligned data, exact values', () => {
  const ck = loadCheckpoint(path.join(fixtures, 'bstar_tiny'));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-gguf-'));
  try {
    for (const type of ['f32', 'f16'] as const) {
      const file = path.join(tmp, `m-${type}.gguf`);
      const { metadata, tensors } = ggufFromCheckpoint(ck.config, ck.weights, ck.tokenizer, { type });
      const size = writeGguf(file, metadata, tensors);
      const buf = readFileSync(file);
      assert.equal(buf.length, size);
      const g = readGguf(buf);
      assert.equal(g.version, 3);
      assert.equal(g.kv.get('general.architecture'), 'llama');
      assert.equal(g.kv.get('general.file_type'), type === 'f32' ? 0 : 1);
      assert.equal(g.kv.get('llama.block_count'), ck.config.num_hidden_layers);
      assert.equal(g.kv.get('llama.attention.head_count_kv'), ck.config.num_key_value_heads);
      assert.equal(g.kv.get('llama.rope.freq_base'), Math.fround(ck.config.rope_theta));
      const toks = g.kv.get('tokenizer.ggml.tokens') as string[];
      assert.equal(toks.length, ck.config.vocab_size);
      assert.equal(g.kv.get('tokenizer.ggml.model'), 'gpt2');
      // tied embeddings: no output.weight (llama.cpp then uses token_embd)
      assert.ok(!g.infos.some((t) => t.name === 'output.weight'));
      const emb = g.infos.find((t) => t.name === 'token_embd.weight')!;
      assert.deepEqual(emb.ne, [ck.config.hidden_size, ck.config.vocab_size]);
      for (const t of g.infos) assert.equal(t.offset % 32, 0, t.name);
      const norm = g.infos.find((t) => t.name === 'blk.0.attn_norm.weight')!;
      assert.equal(norm.type, 0); // 1-D stays F32
      assert.equal(emb.type, type === 'f32' ? 0 : 1);
      const src = ck.weights.get('model.embed_tokens.weight')!;
      const at = g.dataStart + emb.offset;
      for (const i of [0, 1, 17, src.length - 1]) {
        if (type === 'f32') assert.equal(buf.readFloatLE(at + 4 * i), src[i]);
        else assert.equal(buf.readUInt16LE(at + 2 * i), f32ToF16(src[i]));
      }
      const v = g.infos.find((t) => t.name === 'blk.1.attn_v.weight')!;
      const vs = ck.weights.get('model.layers.1.self_attn.v_proj.weight')!;
      if (type === 'f32') assert.equal(buf.readFloatLE(g.dataStart + v.offset + 4 * 7), vs[7]);
    }
    assert.throws(() => ggufFromCheckpoint(ck.config, ck.weights, null), (e: Error) => e instanceof GgufError && /no tokenizer/.test(e.message));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// llama.cpp

function findNodeLlamaCpp(): string | null {
  const env = process.env.BSTAR_NODE_LLAMA_CPP;
  if (env) {
    const p = path.resolve(env);
    return existsSync(p) ? pathToFileURL(path.join(p, 'dist', 'index.js')).href : null;
  }
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve('node-llama-cpp')).href;
  } catch {
    return null;
  }
}

const nlc = findNodeLlamaCpp();
const skip = nlc ? false : 'node-llama-cpp is not installed (it is a 700 MB optional download): `npm i --no-save -E node-llama-cpp@3.21.1` or set BSTAR_NODE_LLAMA_CPP=<its package dir>';

function llamaCpp(model: string, prompts: number[][], n: number, texts: string[] = []) {
  const r = spawnSync(process.execPath, [path.join(fixtures, 'llama_cpp_greedy.mjs'), nlc!, JSON.stringify({ model, prompts, n, texts })], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `llama.cpp run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { greedy: number[][]; tokenized: number[][]; detokenized: string[] };
}

/** bstar's greedy tokens; llama.cpp's evaluate() ends on the end-of-generation token without yielding it, so it is dropped here. */
function bstarGreedy(config: ModelConfig, weights: ReadonlyMap<string, Float32Array>, tok: Tokenizer, prompts: number[][], n: number): number[][] {
  return new Sampler(config, weights, tok).generate(prompts.map((prompt) => ({ prompt })), { seed: 0, temperature: 0, maxNewTokens: n }).samples
    .map((g) => (g[0].finishReason === 'eos' ? g[0].tokens.slice(0, -1) : g[0].tokens));
}

/** Weights as the f16 file stores them (matrices rounded to half), for comparing greedy paths. */
function halfRounded(w: Map<string, Float32Array>): Map<string, Float32Array> {
  const f16ToF32 = (h: number) => {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    return e === 0 ? s * m * 2 ** -24 : e === 31 ? s * Infinity : s * (1 + m / 1024) * 2 ** (e - 15);
  };
  const out = new Map<string, Float32Array>();
  for (const [k, v] of w) out.set(k, /\.weight$/.test(k) && !/norm/.test(k) ? v.map((x) => f16ToF32(f32ToF16(x))) : v);
  return out;
}

test('llama.cpp loads the exported Llama (f32 and f16) and its greedy continuation equals bstar\'s', { skip }, () => {
  const ck = loadCheckpoint(path.join(fixtures, 'bstar_tiny'));
  const tok = ck.tokenizer!;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-gguf-'));
  try {
    const prompts = [tok.encode('12+30=', { addBos: true }), tok.encode('7*6=', { addBos: true }), [1, 19, 5, 6, 14, 7, 20, 16, 8, 18]];
    for (const type of ['f32', 'f16'] as const) {
      const file = path.join(tmp, `m.${type}.gguf`);
      const { metadata, tensors } = ggufFromCheckpoint(ck.config, ck.weights, tok, { type });
      writeGguf(file, metadata, tensors);
      const texts = ['12+30=42', '7*6= 42\n'].filter((t) => [...t].every((c) => (tok as CharTokenizer).alphabet.includes(c)));
      const got = llamaCpp(file, prompts, 20, texts);
      const w = type === 'f32' ? ck.weights : halfRounded(ck.weights);
      assert.deepEqual(got.greedy, bstarGreedy(ck.config, w, tok, prompts, 20), type);
      texts.forEach((t, i) => {
        assert.deepEqual(got.tokenized[i], tok.encode(t), `llama.cpp tokenizes ${JSON.stringify(t)} as bstar`);
        assert.equal(got.detokenized[i], t);
      });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('llama.cpp runs exported Mistral (GQA 4:1, head_dim ≠ C/H) and Qwen2 (q/k/v biases) like bstar', { skip }, () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-gguf-'));
  try {
    for (const name of ['hf_tiny_mistral', 'hf_tiny_qwen2']) {
      const src = loadCheckpoint(path.join(fixtures, name));
      const tok = new CharTokenizer([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].slice(0, src.config.vocab_size - 4));
      const { metadata, tensors } = ggufFromCheckpoint(src.config, src.weights, tok, { type: 'f32' });
      const file = path.join(tmp, `${name}.gguf`);
      writeGguf(file, metadata, tensors);
      const prompts = [[1, 9, 30, 4, 17, 22, 5, 40, 11], [1, 5, 6]];
      const got = llamaCpp(file, prompts, 16);
      assert.deepEqual(got.greedy, bstarGreedy(src.config, src.weights, tok, prompts, 16), name);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a byte-level BPE tokenizer.json exports as a gpt2 vocabulary that llama.cpp tokenizes like bstar', { skip }, async () => {
  const tok = loadTokenizer(path.join(fixtures, 'tokenizers', 'bytelevel'));
  const { tinyConfig, randomWeights } = await import('./helpers.js');
  const config = tinyConfig({ vocab_size: tok.vocabSize, bos_token_id: tok.bosId, eos_token_id: tok.eosId });
  const weights = randomWeights(config, 11, 1);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-gguf-'));
  try {
    const file = path.join(tmp, 'bpe.gguf');
    const { metadata, tensors } = ggufFromCheckpoint(config, weights, tok, { type: 'f32' });
    writeGguf(file, metadata, tensors);
    const texts = ['Hello world', 'The quick brown fox jumps over the lazy dog.', '48 + 24 = 72. The answer is 72.', 'def f(x):\n    return x * 2'];
    const prompts = [tok.encode('The answer is', { addBos: true })];
    const got = llamaCpp(file, prompts, 12, texts);
    texts.forEach((t, i) => assert.deepEqual(got.tokenized[i], tok.encode(t), `llama.cpp tokenizes ${JSON.stringify(t)} as bstar`));
    assert.deepEqual(got.greedy, bstarGreedy(config, weights, tok, prompts, 12));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
