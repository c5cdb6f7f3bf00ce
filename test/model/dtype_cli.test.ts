// Saving keeps the source dtype unless told otherwise: `bstar train --dtype` writes the weights in the
// asked format (config.json torch_dtype and every safetensors tensor), and by default (auto) in the
// init checkpoint's; a bad value is a one-line error before anything is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { SafetensorsFile } from '../../src/model/safetensors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../src/cli/main.js');
const tiny = path.resolve(here, '../../../test/fixtures/bstar_tiny');

function storedDtypes(dir: string): string[] {
  const st = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
  try {
    return [...new Set([...st.header.tensors.values()].map((t) => t.dtype))];
  } finally {
    st.close();
  }
}

test('bstar train --dtype: bfloat16 on request, then auto keeps bfloat16; values are the f32 weights rounded', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-dtype-'));
  try {
    const data = path.join(tmp, 'sft.jsonl');
    writeFileSync(data, ['1+2=', '3+4=', '5+1='].map((p, i) => JSON.stringify({ prompt: p, completion: String([3, 7, 6][i]) })).join('\n') + '\n');
    const train = (init: string, out: string, ...extra: string[]) =>
      spawnSync(process.execPath, [cli, 'train', '--data', data, '--init', init, '--out', out, '--batch', '3', '--lr', '0.001', ...extra], { encoding: 'utf8' });
    const bf = path.join(tmp, 'bf16');
    let r = train(tiny, bf, '--dtype', 'bfloat16');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(path.join(bf, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
    assert.deepEqual(storedDtypes(bf), ['BF16']);
    const ck = loadCheckpoint(bf);
    assert.equal(ck.config.torch_dtype, 'bfloat16');
    // bf16 values: the low 16 bits of every float32 are zero
    for (const w of ck.weights.values()) assert.ok(new Uint32Array(w.buffer, w.byteOffset, w.length).every((u) => (u & 0xffff) === 0));

    const again = path.join(tmp, 'again');
    r = train(bf, again);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(storedDtypes(again), ['BF16']);

    const f32 = path.join(tmp, 'f32');
    r = train(bf, f32, '--dtype', 'float32');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(storedDtypes(f32), ['F32']);

    r = train(tiny, path.join(tmp, 'bad'), '--dtype', 'int8');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^bstar: --dtype expects auto, float32, float16, bfloat16, found "int8"$/m);
    assert.equal(existsSync(path.join(tmp, 'bad')), false);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
