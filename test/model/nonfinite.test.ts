// Finite numbers everywhere (issue 20): a checkpoint with a NaN/Inf weight is refused at load, naming the
// tensor and its flat index; non-finite logits in the sampler (generate, eval, serve) and in scoring fail
// with one line naming the request/sample and token, and the first non-finite weight when there is one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getKernels, tsKernels } from '../../src/engine/index.js';
import { CheckpointError, loadCheckpoint } from '../../src/model/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/model/safetensors.js';
import { NonFiniteLogitsError, Sampler } from '../../src/model/sampler.js';
import { CharTokenizer } from '../../src/tokenizer/index.js';
import { randomWeights, tinyConfig } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../src/cli/main.js');
const fixtures = path.resolve(here, '../../../test/fixtures');

test('a NaN or Inf weight in a checkpoint is refused at load (bf16 and f32), naming the file, tensor and flat index; bstar generate exits 1 with that line', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-nan-'));
  try {
    for (const [fixture, tensor, index, value] of [['bstar_tiny', 'model.layers.1.mlp.up_proj.weight', 123, NaN], ['family_qwen25', 'model.layers.0.self_attn.k_proj.bias', 5, -Infinity]] as const) {
      const dir = path.join(tmp, fixture);
      cpSync(path.join(fixtures, fixture), dir, { recursive: true });
      const f = path.join(dir, 'model.safetensors');
      const d = decodeSafetensors(readFileSync(f), f);
      const t = new Map([...d.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data, dtype: v.dtype as 'F32' | 'BF16' }]));
      t.get(tensor)!.data[index] = value;
      writeFileSync(f, encodeSafetensors(t, d.metadata));
      const want = new RegExp(`model\\.safetensors: tensor "${tensor.replace(/\./g, '\\.')}" has ${value} at flat index ${index} \\(non-finite weights`);
      assert.throws(() => loadCheckpoint(dir), (e: unknown) => e instanceof CheckpointError && want.test((e as Error).message));
      if (fixture === 'bstar_tiny') {
        const r = spawnSync(process.execPath, [cli, 'generate', '--checkpoint', dir, '--prompt', '1+1=', '--max-new-tokens', '4'], { encoding: 'utf8' });
        assert.equal(r.status, 1, r.stdout);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, want);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

const tok = new CharTokenizer([...'0123456789+-*=() ab\n']);
const cfg = tinyConfig();

for (const [bname, kernels] of [['ts', tsKernels], ['default', getKernels()]] as const) {
  test(`non-finite logits end generate and scoring with one line naming the place and the weight (${bname} kernels)`, () => {
    const weights = randomWeights(cfg, 3);
    weights.get('model.layers.0.mlp.down_proj.weight')![77] = NaN;
    const s = new Sampler(cfg, weights, tok, { kernels });
    for (const temperature of [0, 1]) {
      assert.throws(() => s.generate([{ prompt: '1+2=' }, { prompt: '3', n: 2 }], { seed: 0, temperature, maxNewTokens: 5 }), (e: unknown) =>
        e instanceof NonFiniteLogitsError && /^non-finite logits for requests\[\d\] sample \d at generated token 1: weight tensor "model\.layers\.0\.mlp\.down_proj\.weight" has NaN at flat index 77$/.test((e as Error).message));
    }
    assert.throws(() => s.logprobs([{ prompt: '1+', completion: '2' }]), /^NonFiniteLogitsError: non-finite logits for items\[0\] at completion token 0: weight tensor "model\.layers\.0\.mlp\.down_proj\.weight" has NaN at flat index 77$/);

    // finite but huge weights: the activations overflow, and the message says so
    const big = randomWeights(cfg, 3);
    big.get('model.layers.0.mlp.down_proj.weight')!.fill(3e38);
    assert.throws(() => new Sampler(cfg, big, tok, { kernels }).generate([{ prompt: '1' }], { seed: 0, temperature: 0, maxNewTokens: 3 }),
      /non-finite logits for requests\[0\] sample 0 at generated token 1: every weight is finite, so an activation overflowed/);
  });
}

test('weights that become non-finite between decode steps (the native multi-step path) are caught at the step they break', () => {
  const weights = randomWeights(cfg, 4);
  const s = new Sampler(cfg, weights, tok);
  let poisoned = false;
  // the token callback runs between chunks of decode steps; poisoning there makes a later step non-finite
  assert.throws(() => s.generate([{ prompt: '7' }], {
    seed: 0, temperature: 0, maxNewTokens: 20, ignoreEos: true,
    onToken: (e) => {
      if (!poisoned && e.tokens.length === 2) {
        weights.get('model.norm.weight')![0] = Infinity;
        poisoned = true;
      }
    },
  }), /non-finite logits for requests\[0\] sample 0 at generated token (3|4|5|6|7|8|9|10|11): weight tensor "model\.norm\.weight" has Infinity at flat index 0/);
});
