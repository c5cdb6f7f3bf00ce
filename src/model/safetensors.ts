// safetensors reader/writer, written to the format's spec (huggingface/safetensors, "Format"):
//
//   [8 bytes]  N, unsigned little-endian 64-bit: size of the header
//   [N bytes]  UTF-8 JSON object: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//              …, "__metadata__": {"<key>": "<string value>"}}; it starts with '{' and may be
//              padded at the end with spaces (0x20) — writers pad so the data starts 8-aligned
//   [rest]     the byte buffer: tensor data, little-endian, row-major; offsets are relative to its
//              start; the tensors must cover it entirely, without holes or overlaps
//
// Reading converts F32, F16, BF16 and F64 to Float32Array; writing emits F32, F16 or BF16 (rounded
// to nearest even, as torch's .to(dtype) does). Every problem is a
// SafetensorsError naming the file and the tensor/field, what was expected and what was found.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export type SafeDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL' | 'U16' | 'U32' | 'U64' | 'F8_E4M3' | 'F8_E5M2';

export const DTYPE_BYTES: Record<SafeDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, U16: 2, U32: 4, U64: 8, F8_E4M3: 1, F8_E5M2: 1,
};

/** Header larger than this is refused (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

export interface TensorInfo {
  dtype: SafeDtype;
  shape: number[];
  /** [begin, end) relative to the byte buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In header order. */
  tensors: Map<string, TensorInfo>;
  /** Absolute file offset of the byte buffer (8 + N). */
  dataStart: number;
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
  /** Stored format (default F32). */
  dtype?: 'F32' | 'F16' | 'BF16';
}

// ----------------------------------------------------------------------------------------------
// writing

/** The complete file bytes for `tensors` (each in its dtype, default F32; in map order) and string metadata. */
export function encodeSafetensors(tensors: Map<string, TensorToWrite>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`safetensors write: __metadata__.${k} must be a string, found ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('safetensors write: "__metadata__" is reserved and cannot name a tensor');
    const numel = checkShape(t.shape, `safetensors write: tensor "${name}"`);
    if (numel !== t.data.length) {
      throw new SafetensorsError(`safetensors write: tensor "${name}": shape [${t.shape}] has ${numel} elements, data has ${t.data.length}`);
    }
    const dtype = t.dtype ?? 'F32';
    if (!(dtype === 'F32' || dtype === 'F16' || dtype === 'BF16')) throw new SafetensorsError(`safetensors write: tensor "${name}": dtype ${JSON.stringify(dtype)}, expected F32, F16 or BF16`);
    const bytes = numel * DTYPE_BYTES[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = Buffer.allocUnsafe(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let p = 8 + json.length;
  for (const t of tensors.values()) {
    const dtype = t.dtype ?? 'F32';
    const n = t.data.length;
    if (dtype === 'F32') {
      const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      if (LITTLE_ENDIAN) bytes.copy(out, p);
      else for (let i = 0; i < n; i++) out.writeFloatLE(t.data[i], p + 4 * i);
      p += 4 * n;
    } else {
      const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < n; i++) out.writeUInt16LE(conv(t.data[i]), p + 2 * i);
      p += 2 * n;
    }
  }
  return out;
}

const F32_BUF = new Float32Array(1);
const U32_OF_F32 = new Uint32Array(F32_BUF.buffer);

/** float32 → bfloat16 bits, round to nearest even (NaN stays a quiet NaN), as torch's .to(torch.bfloat16). */
export function f32ToBf16(x: number): number {
  F32_BUF[0] = x;
  const u = U32_OF_F32[0];
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 → IEEE half bits, round to nearest even (overflow → ±inf), as numpy's astype(float16). */
export function f32ToF16(x: number): number {
  F32_BUF[0] = x;
  const u = U32_OF_F32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++; // may carry into the exponent: still correct
  return sign | half;
}

// ----------------------------------------------------------------------------------------------
// reading

/** The header length N from the first 8 bytes, checked against the limit and the file size. */
function headerLength(b: Buffer, total: number, file: string): number {
  if (total < 8 || b.length < 8) throw new SafetensorsError(`${file}: truncated: ${total} bytes, a safetensors file starts with an 8-byte header length`);
  const n64 = b.readBigUInt64LE(0);
  if (n64 > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(`${file}: header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  const n = Number(n64);
  if (8 + n > total) throw new SafetensorsError(`${file}: truncated: header length says ${n} bytes, only ${total - 8} follow the length field`);
  return n;
}

/**
 * Parses and validates the header; `buf` holds the file from its start (at least the length field
 * and the header), `total` is the whole file's size (default: buf is the whole file). `file` names
 * it in errors.
 */
export function parseSafetensorsHeader(buf: Uint8Array, file: string, total = buf.byteLength): SafetensorsHeader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = headerLength(b, total, file);
  if (n < 2 || b[8] !== 0x7b) throw new SafetensorsError(`${file}: header must be a JSON object starting with '{', found ${JSON.stringify(b.subarray(8, 8 + Math.min(n, 16)).toString('latin1'))}`);
  let raw: unknown;
  try {
    raw = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  } catch (e) {
    throw new SafetensorsError(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SafetensorsError(`${file}: header must be a JSON object`);
  const dataStart = 8 + n;
  const dataLen = total - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SafetensorsError(`${file}: __metadata__ must be an object of strings`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw new SafetensorsError(`${file}: __metadata__.${k}: expected a string, found ${JSON.stringify(s)}`);
        metadata[k] = s;
      }
      continue;
    }
    const where = `${file}: tensor "${name}"`;
    if (typeof v !== 'object' || v === null) throw new SafetensorsError(`${where}: expected {dtype, shape, data_offsets}, found ${JSON.stringify(v)}`);
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      throw new SafetensorsError(`${where}: dtype ${JSON.stringify(e.dtype)} is not a safetensors dtype (${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const dtype = e.dtype as SafeDtype;
    if (!Array.isArray(e.shape)) throw new SafetensorsError(`${where}: shape must be a list of integers, found ${JSON.stringify(e.shape)}`);
    const numel = checkShape(e.shape, where);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0) || off[0] > off[1]) {
      throw new SafetensorsError(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(off)}`);
    }
    const want = numel * DTYPE_BYTES[dtype];
    if (off[1] - off[0] !== want) {
      throw new SafetensorsError(`${where}: data_offsets ${JSON.stringify(off)} span ${off[1] - off[0]} bytes, shape [${e.shape}] of ${dtype} needs ${want}`);
    }
    if (off[1] > dataLen) {
      throw new SafetensorsError(`${where}: data_offsets end ${off[1]} is beyond the ${dataLen}-byte data buffer (file truncated or offsets out of range)`);
    }
    tensors.set(name, { dtype, shape: e.shape as number[], dataOffsets: [off[0], off[1]] });
  }
  // The tensors must tile the byte buffer exactly: no holes, no overlaps, nothing after the end.
  const spans = [...tensors].sort((x, y) => x[1].dataOffsets[0] - y[1].dataOffsets[0] || x[1].dataOffsets[1] - y[1].dataOffsets[1]);
  let end = 0;
  for (const [name, t] of spans) {
    const [s, e] = t.dataOffsets;
    if (s < end) throw new SafetensorsError(`${file}: tensor "${name}" data_offsets [${s}, ${e}] overlap the previous tensor, which ends at ${end}`);
    if (s > end) throw new SafetensorsError(`${file}: tensor "${name}" starts at ${s} but the previous tensor ends at ${end}: a hole in the data buffer`);
    end = e;
  }
  if (end !== dataLen) throw new SafetensorsError(`${file}: the tensors cover ${end} bytes but the data buffer has ${dataLen} (trailing bytes)`);
  return { metadata, tensors, dataStart };
}

/** One tensor of a parsed file image as a fresh Float32Array (F32/F16/BF16/F64 converted). */
export function readTensorF32(buf: Uint8Array, header: SafetensorsHeader, name: string, file: string): Float32Array {
  const t = header.tensors.get(name);
  if (!t) throw new SafetensorsError(`${file}: no tensor "${name}"`);
  const start = buf.byteOffset + header.dataStart + t.dataOffsets[0];
  return toF32(new Uint8Array(buf.buffer, start, t.dataOffsets[1] - t.dataOffsets[0]), t.dtype, name, file);
}

/** Raw little-endian tensor bytes → a fresh Float32Array. */
function toF32(raw: Uint8Array, dtype: SafeDtype, name: string, file: string): Float32Array {
  const bytes = raw.byteLength;
  const numel = bytes / DTYPE_BYTES[dtype];
  const dv = new DataView(raw.buffer, raw.byteOffset, bytes);
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN) {
        const out = new Float32Array(numel);
        new Uint8Array(out.buffer).set(raw);
        return out;
      }
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = dv.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const u = new Uint32Array(numel);
      for (let i = 0; i < numel; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return new Float32Array(u.buffer);
    }
    default:
      throw new SafetensorsError(`${file}: tensor "${name}" has dtype ${dtype}; only F32, F16, BF16 and F64 convert to float32`);
  }
}

/** Parses a whole file image: metadata and every tensor as Float32Array with its shape and stored dtype. */
export function decodeSafetensors(
  buf: Uint8Array,
  file: string,
): { metadata: Record<string, string>; tensors: Map<string, { dtype: SafeDtype; shape: number[]; data: Float32Array }> } {
  const header = parseSafetensorsHeader(buf, file);
  const tensors = new Map<string, { dtype: SafeDtype; shape: number[]; data: Float32Array }>();
  for (const [name, t] of header.tensors) tensors.set(name, { dtype: t.dtype, shape: t.shape, data: readTensorF32(buf, header, name, file) });
  return { metadata: header.metadata, tensors };
}

/**
 * A safetensors file read tensor by tensor (positioned reads; the file is never held whole, so
 * files beyond Node's Buffer limit and large models read with one copy of each tensor). Close it.
 */
export class SafetensorsFile {
  readonly header: SafetensorsHeader;
  private fd: number;

  private constructor(readonly file: string, fd: number, header: SafetensorsHeader) {
    this.fd = fd;
    this.header = header;
  }

  static open(file: string): SafetensorsFile {
    const fd = openSync(file, 'r');
    try {
      const total = fstatSync(fd).size;
      const head = Buffer.alloc(Math.min(8, total));
      readFully(fd, head, 0, file);
      const n = headerLength(head, total, file);
      const prefix = Buffer.alloc(8 + n);
      readFully(fd, prefix, 0, file);
      return new SafetensorsFile(file, fd, parseSafetensorsHeader(prefix, file, total));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** One tensor as a fresh Float32Array (F32/F16/BF16/F64 converted). */
  readF32(name: string): Float32Array {
    const t = this.header.tensors.get(name);
    if (!t) throw new SafetensorsError(`${this.file}: no tensor "${name}"`);
    const bytes = t.dataOffsets[1] - t.dataOffsets[0];
    const pos = this.header.dataStart + t.dataOffsets[0];
    if (t.dtype === 'F32' && LITTLE_ENDIAN) {
      const out = new Float32Array(bytes / 4);
      readFully(this.fd, new Uint8Array(out.buffer), pos, this.file);
      return out;
    }
    if (!(t.dtype in CONVERTIBLE)) return toF32(new Uint8Array(0), t.dtype, name, this.file);
    const raw = Buffer.alloc(bytes);
    readFully(this.fd, raw, pos, this.file);
    return toF32(raw, t.dtype, name, this.file);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

const CONVERTIBLE = { F32: 1, F16: 1, BF16: 1, F64: 1 };

function readFully(fd: number, into: Uint8Array, position: number, file: string): void {
  let off = 0;
  while (off < into.byteLength) {
    const n = readSync(fd, into, off, into.byteLength - off, position + off);
    if (n === 0) throw new SafetensorsError(`${file}: truncated while reading (file changed under us?)`);
    off += n;
  }
}

/** IEEE 754 binary16 → number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f === 0 ? s * Infinity : NaN;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function checkShape(shape: unknown[], where: string): number {
  let numel = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (!Number.isSafeInteger(d) || (d as number) < 0) throw new SafetensorsError(`${where}: shape[${i}] must be a non-negative integer, found ${JSON.stringify(d)}`);
    numel *= d as number;
  }
  if (!Number.isSafeInteger(numel)) throw new SafetensorsError(`${where}: shape [${shape}] is too large`);
  return numel;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
