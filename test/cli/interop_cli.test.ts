// The interop commands from the command line: export gguf, train (errors are one line, exit 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/model/checkpoint.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../src/cli/main.js');
const ckpt = path.resolve(here, '../../../test/fixtures/bstar_tiny');
const bstar = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('bstar export gguf writes a GGUF v3 file; a bad --type is a one-line error', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-cli-'));
  try {
    const out = path.join(tmp, 'm.gguf');
    const r = bstar('export', 'gguf', ckpt, out, '--type', 'f16');
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.deepEqual([info.type, info.tensors, info.architecture], ['f16', 20, 'llama']);
    const b = readFileSync(out);
    assert.equal(b.toString('latin1', 0, 4), 'GGUF');
    assert.equal(b.readUInt32LE(4), 3);
    assert.equal(b.length, info.bytes);
    const bad = bstar('export', 'gguf', ckpt, out, '--type', 'q4');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^bstar: --type: expected f32 or f16, found "q4"$/m);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('bstar train: SFT on JSONL writes a loadable checkpoint with lower loss; bad lines are named', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-cli-'));
  try {
    const data = path.join(tmp, 'd.jsonl');
    writeFileSync(data, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `${i}+2=`, completion: String(i + 2) })).join('\n') + '\n');
    const r = bstar('train', '--data', data, '--init', ckpt, '--out', path.join(tmp, 'out'), '--epochs', '4', '--batch', '4', '--lr', '0.003');
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.steps, 12);
    assert.ok(s.lastEpochLoss < s.firstEpochLoss, r.stdout);
    assert.equal(loadCheckpoint(path.join(tmp, 'out')).config.hidden_size, 64);
    writeFileSync(data, '{"prompt": "1+1=", "completion": "2"}\n{"prompt": 3}\n');
    const bad = bstar('train', '--data', data, '--init', ckpt, '--out', path.join(tmp, 'out2'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /d\.jsonl:2: expected \{"prompt": string, "completion": string\}/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
