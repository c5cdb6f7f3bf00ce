// train.precision and sampling.precision: validated, resolved ('auto' follows the kernels' bf16Fast),
// logged, and reaching the model: a tiny bf16 run is reproducible and trains other weights than fp32.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { getKernels, resolvePrecision } from '../../src/engine/index.js';
import { ConfigError, loadConfig } from '../../src/run/configLoad.js';
import { startRun } from '../../src/run/run.js';
import { tinyConfig } from './tiny.js';

const root = mkdtempSync(path.join(tmpdir(), 'bstar-precision-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('precision keys: fp32 by default, fp32|bf16|auto accepted, anything else refused naming the key', () => {
  const c = loadConfig();
  assert.deepEqual([c.train.precision, c.sampling.precision], ['fp32', 'fp32']);
  const d = loadConfig({ overrides: ['train.precision=bf16', 'sampling.precision=auto'] });
  assert.deepEqual([d.train.precision, d.sampling.precision], ['bf16', 'auto']);
  assert.throws(() => loadConfig({ overrides: ['train.precision=fp16'] }), (e: unknown) => e instanceof ConfigError && e.path === 'train.precision');
  assert.throws(() => loadConfig({ overrides: ['sampling.precision=int8'] }), (e: unknown) => e instanceof ConfigError && e.path === 'sampling.precision');
});

async function tinyRun(name: string, extra: string[]): Promise<{ lines: string[]; weights: Buffer; metrics: string }> {
  const dir = path.join(root, name);
  const lines: string[] = [];
  await startRun(tinyConfig(['method=online-rft', 'iterations=1', ...extra]), dir, { log: (l) => lines.push(l) });
  return { lines, weights: readFileSync(path.join(dir, 'checkpoints/1/model.safetensors')), metrics: readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8') };
}

test('a bf16 run logs its GEMM precisions, repeats itself exactly, and trains other weights than fp32', async () => {
  const b1 = await tinyRun('bf16-a', ['train.precision=bf16', 'sampling.precision=bf16']);
  assert.ok(b1.lines.some((l) => /GEMMs: training bf16, sampling bf16, bf16 (avx512bf16|emulated)/.test(l)), b1.lines.join('\n'));
  const b2 = await tinyRun('bf16-b', ['train.precision=bf16', 'sampling.precision=bf16']);
  assert.ok(b1.weights.equals(b2.weights), 'same seed and threads: the same bf16 weights');
  const f = await tinyRun('fp32', []);
  assert.ok(f.lines.some((l) => /GEMMs: training fp32, sampling fp32\)/.test(l)));
  assert.ok(!f.weights.equals(b1.weights), 'bf16 and fp32 training give different weights');
  const auto = await tinyRun('auto', ['train.precision=auto', 'sampling.precision=auto']);
  const want = resolvePrecision('auto', getKernels());
  assert.ok(auto.lines.some((l) => l.includes(`GEMMs: training ${want}, sampling ${want}`)));
});
