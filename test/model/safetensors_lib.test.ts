// bstar's safetensors reader/writer against the reference `safetensors` library
// (test/fixtures/check_safetensors_lib.py; outputs committed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors } from '../../src/model/safetensors.js';
import { paramTable } from '../../src/model/params.js';
import { loadCheckpoint } from '../../src/model/checkpoint.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

test('a file written by safetensors.torch.save_file (F32, F16, BF16, 0-d, empty) reads back exactly', () => {
  const file = path.join(fixtures, 'safetensors_lib', 'model.safetensors');
  const exp = JSON.parse(readFileSync(path.join(fixtures, 'safetensors_lib', 'expected.json'), 'utf8'));
  const { metadata, tensors } = decodeSafetensors(readFileSync(file), file);
  assert.equal(metadata.format, 'pt');
  assert.match(metadata.note, /written by safetensors/);
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(exp).sort());
  const dt: Record<string, string> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };
  for (const [name, e] of Object.entries(exp) as [string, { dtype: string; shape: number[]; values: number[] }][]) {
    const t = tensors.get(name)!;
    assert.equal(t.dtype, dt[e.dtype], name);
    assert.deepEqual(t.shape, e.shape, name);
    assert.deepEqual([...t.data], e.values, name);
  }
});

test('the safetensors library read the checkpoint bstar wrote: same tensors, shapes, metadata, values', () => {
  const check = JSON.parse(readFileSync(path.join(fixtures, 'bstar_tiny_safetensors_check.json'), 'utf8'));
  assert.equal(check.equal_to_hand_reader, true);
  assert.deepEqual(check.metadata, { format: 'pt' });
  const ck = loadCheckpoint(path.join(fixtures, 'bstar_tiny'));
  const shapes = Object.fromEntries(paramTable(ck.config).tensors.map((t) => [t.name, t.shape]));
  assert.deepEqual(check.shapes, Object.fromEntries(Object.keys(shapes).sort().map((k) => [k, shapes[k]])));
});
