import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeSafetensors, encodeSafetensors, halfToFloat, SafetensorsError, SafetensorsFile } from '../../src/model/safetensors.js';

/** A file image from a header object and raw data bytes, header padded as the caller says. */
function image(header: unknown, data: Uint8Array, pad = 0): Buffer {
  const json = Buffer.concat([Buffer.from(JSON.stringify(header)), Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

test('writer follows the spec byte for byte: LE u64 length, space-padded JSON header, contiguous F32 data', () => {
  const buf = encodeSafetensors(
    new Map([
      ['a', { shape: [2], data: new Float32Array([1, -2]) }],
      ['b', { shape: [1, 1], data: new Float32Array([0.5]) }],
    ]),
    { format: 'pt' },
  );
  const expectedJson = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}';
  const n = Math.ceil(expectedJson.length / 8) * 8;
  assert.equal(buf.readBigUInt64LE(0), BigInt(n));
  assert.equal(n % 8, 0);
  assert.equal(buf.subarray(8, 8 + n).toString('utf8'), expectedJson + ' '.repeat(n - expectedJson.length));
  assert.equal(buf.length, 8 + n + 12);
  assert.deepEqual([buf.readFloatLE(8 + n), buf.readFloatLE(8 + n + 4), buf.readFloatLE(8 + n + 8)], [1, -2, 0.5]);
  const back = decodeSafetensors(buf, 'x');
  assert.deepEqual(back.metadata, { format: 'pt' });
  assert.deepEqual([...back.tensors.keys()], ['a', 'b']);
  assert.deepEqual(back.tensors.get('b')!.shape, [1, 1]);
  assert.deepEqual([...back.tensors.get('a')!.data], [1, -2]);
});

test('writer accepts subarray views of one flat buffer', () => {
  const flat = new Float32Array([9, 1, 2, 3, 4]);
  const buf = encodeSafetensors(new Map([['v', { shape: [2, 2], data: flat.subarray(1) }]]));
  assert.deepEqual([...decodeSafetensors(buf, 'x').tensors.get('v')!.data], [1, 2, 3, 4]);
});

test('F16, BF16, F64 read as float32 (hand-encoded bytes); unpadded headers read too', () => {
  // F16: 1.0 = 0x3C00, -2.5 = 0xC100, 65504 = 0x7BFF, smallest subnormal 2^-24 = 0x0001, -inf = 0xFC00
  const f16 = Buffer.alloc(10);
  [0x3c00, 0xc100, 0x7bff, 0x0001, 0xfc00].forEach((h, i) => f16.writeUInt16LE(h, 2 * i));
  // BF16: top half of the f32 bits: 1.0 = 0x3F80, -3.0 = 0xC040, 0.15625 = 0x3E20
  const bf16 = Buffer.alloc(6);
  [0x3f80, 0xc040, 0x3e20].forEach((h, i) => bf16.writeUInt16LE(h, 2 * i));
  const f64 = Buffer.alloc(8);
  f64.writeDoubleLE(0.1);
  const buf = image(
    {
      h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] },
      b: { dtype: 'BF16', shape: [3], data_offsets: [10, 16] },
      d: { dtype: 'F64', shape: [], data_offsets: [16, 24] },
    },
    Buffer.concat([f16, bf16, f64]),
  );
  const t = decodeSafetensors(buf, 'x').tensors;
  assert.deepEqual([...t.get('h')!.data], [1, -2.5, 65504, 2 ** -24, -Infinity]);
  assert.deepEqual([...t.get('b')!.data], [1, -3, 0.15625]);
  assert.equal(t.get('d')!.data[0], Math.fround(0.1));
  assert.deepEqual(t.get('d')!.shape, []);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test('every corruption is an error naming the file and the problem', () => {
  const good = encodeSafetensors(new Map([['w', { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }], ['n', { shape: [2], data: new Float32Array([5, 6]) }]]));
  const cases: [string, Buffer, RegExp][] = [
    ['shorter than the length field', good.subarray(0, 5), /f\.st: truncated: 5 bytes/],
    ['header cut', good.subarray(0, 20), /f\.st: truncated: header length says \d+ bytes, only 12 follow/],
    ['data cut', good.subarray(0, good.length - 3), /tensor "n": data_offsets end 24 is beyond the 21-byte data buffer/],
    ['huge header length', (() => { const b = Buffer.from(good); b.writeBigUInt64LE(2n ** 40n); return b; })(), /header length 1099511627776 exceeds/],
    ['not an object', image([1, 2], new Uint8Array()), /header must be a JSON object starting with '\{'/],
    ['bad JSON', (() => { const b = Buffer.from(good); b[10] = 0x22; return b; })(), /header is not valid JSON/],
    ['unknown dtype', image({ w: { dtype: 'F12', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "w": dtype "F12" is not a safetensors dtype/],
    ['negative shape', image({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "w": shape\[0\] must be a non-negative integer, found -1/],
    ['offsets vs shape', image({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "w": data_offsets \[0,4\] span 4 bytes, shape \[2\] of F32 needs 8/],
    ['offsets reversed', image({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, new Uint8Array(4)), /data_offsets must be \[begin, end\] with 0 <= begin <= end/],
    ['offsets out of range', image({ w: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(4)), /tensor "w": data_offsets end 12 is beyond the 4-byte data buffer/],
    ['hole', image({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12)), /tensor "b" starts at 8 but the previous tensor ends at 4: a hole/],
    ['overlap', image({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /tensor "b" data_offsets \[4, 8\] overlap the previous tensor, which ends at 8/],
    ['trailing bytes', Buffer.concat([good, Buffer.alloc(4)]), /the tensors cover 24 bytes but the data buffer has 28/],
    ['metadata not strings', image({ __metadata__: { step: 3 } }, new Uint8Array()), /__metadata__\.step: expected a string, found 3/],
    ['non-float dtype', image({ w: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "w" has dtype I32; only F32, F16, BF16 and F64 convert/],
  ];
  for (const [what, buf, re] of cases) {
    assert.throws(() => decodeSafetensors(buf, 'f.st'), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `${what}: ${e}`);
      assert.match((e as Error).message, re, what);
      assert.match((e as Error).message, /^f\.st/, what);
      return true;
    });
  }
});

test('writer refuses data that does not match its shape, and the reserved name', () => {
  assert.throws(() => encodeSafetensors(new Map([['w', { shape: [3], data: new Float32Array(2) }]])), /tensor "w": shape \[3\] has 3 elements, data has 2/);
  assert.throws(() => encodeSafetensors(new Map([['__metadata__', { shape: [0], data: new Float32Array(0) }]])), /reserved/);
});

test('SafetensorsFile reads tensor by tensor from disk, with the same checks as the in-memory reader', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bstar-st-'));
  try {
    const f16 = Buffer.alloc(4);
    f16.writeUInt16LE(0x3c00, 0);
    f16.writeUInt16LE(0xc100, 2);
    const good = image({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, h: { dtype: 'F16', shape: [2], data_offsets: [8, 12] }, i: { dtype: 'I32', shape: [1], data_offsets: [12, 16] } },
      Buffer.concat([Buffer.from(new Float32Array([1.5, -3]).buffer), f16, Buffer.alloc(4)]), 5);
    const file = path.join(dir, 'g.safetensors');
    writeFileSync(file, good);
    const st = SafetensorsFile.open(file);
    assert.deepEqual([...st.readF32('a')], [1.5, -3]);
    assert.deepEqual([...st.readF32('h')], [1, -2.5]);
    assert.throws(() => st.readF32('i'), /tensor "i" has dtype I32; only F32, F16, BF16 and F64 convert/);
    assert.throws(() => st.readF32('zz'), /no tensor "zz"/);
    st.close();
    const cases: [Buffer, RegExp][] = [
      [good.subarray(0, 4), /truncated: 4 bytes/],
      [good.subarray(0, 30), /truncated: header length says \d+ bytes, only 22 follow/],
      [good.subarray(0, good.length - 2), /tensor "i": data_offsets end 16 is beyond the 14-byte data buffer/],
      [Buffer.concat([good, Buffer.alloc(8)]), /the tensors cover 16 bytes but the data buffer has 24/],
    ];
    for (const [buf, re] of cases) {
      writeFileSync(file, buf);
      assert.throws(() => SafetensorsFile.open(file), (e: unknown) => e instanceof SafetensorsError && re.test((e as Error).message) || assert.fail(String(e)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
