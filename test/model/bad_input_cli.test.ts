// Bad checkpoints given to `bstar run`: each is one line naming the file and the field or tensor, exit 1,
// and no run directory is created (everything is validated before anything is written).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, encodeSafetensors } from '../../src/model/safetensors.js';
import { ARITH_ALPHABET } from '../../src/tasks/arith.js';
import { CharTokenizer } from '../../src/tokenizer/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../src/cli/main.js');
// the SmolLM2 miniature (F32) with a char tokenizer that covers the arith task
const base = path.resolve(here, '../../../test/fixtures/family_smollm2');

type Edit = (dir: string) => void;
const editConfig = (f: (c: Record<string, unknown>) => void): Edit => (dir) => {
  const p = path.join(dir, 'config.json');
  const c = JSON.parse(readFileSync(p, 'utf8'));
  f(c);
  writeFileSync(p, JSON.stringify(c));
};
const editHeader = (from: string, to: string): Edit => (dir) => {
  const p = path.join(dir, 'model.safetensors');
  writeFileSync(p, Buffer.from(readFileSync(p).toString('latin1').replace(from, to), 'latin1'));
};

const CASES: [string, Edit, RegExp][] = [
  ['a field of another family', editConfig((c) => (c.use_sliding_window = false)), /config\.json: field "use_sliding_window": expected no such field for model_type "llama" \(it belongs to qwen2\), found false/],
  ['an unknown rope_scaling kind', editConfig((c) => (c.rope_scaling = { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32 })), /config\.json: field "rope_scaling\.rope_type": expected "default" \(none\), "linear" or "llama3" \(other RoPE scalings are not implemented\), found "yarn"/],
  ['a feature bstar does not implement', editConfig((c) => (c.mlp_bias = true)), /config\.json: field "mlp_bias": expected false \(bstar has no MLP biases\), found true/],
  ['a dtype bstar cannot read', editHeader('"model.norm.weight":{"dtype":"F32"', '"model.norm.weight":{"dtype":"I32"'), /model\.safetensors: tensor "model\.norm\.weight": dtype I32 cannot be read \(expected F32, F16 or BF16\)/],
  ['mismatched tensor shapes', editConfig((c) => (c.intermediate_size = 80)), /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight": shape \[64,48\], expected \[80,48\] from config/],
  ['a tokenizer larger than vocab_size', editConfig((c) => (c.vocab_size = 80)), /tokenizer\.json: tokenizer has 86 ids but .*config\.json field "vocab_size" is 80/],
  ['a NaN weight', (dir) => {
    const p = path.join(dir, 'model.safetensors');
    const d = decodeSafetensors(readFileSync(p), p);
    d.tensors.get('model.layers.0.self_attn.q_proj.weight')!.data[9] = NaN;
    writeFileSync(p, encodeSafetensors(new Map([...d.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }])), d.metadata));
  }, /model\.safetensors: tensor "model\.layers\.0\.self_attn\.q_proj\.weight" has NaN at flat index 9/],
];

test('bstar run on a bad checkpoint: one line naming the file and field/tensor, exit 1, no run directory', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bstar-badck-'));
  try {
    for (const [what, edit, want] of CASES) {
      const ck = path.join(tmp, what.replace(/\W+/g, '_'));
      cpSync(base, ck, { recursive: true });
      for (const [name, v] of Object.entries(new CharTokenizer(ARITH_ALPHABET).toHfFiles())) writeFileSync(path.join(ck, name), JSON.stringify(v));
      // a context that holds every arith row, so the run plan passes and the checkpoint's own checks speak
      editConfig((c) => (c.max_position_embeddings = 512))(ck);
      edit(ck);
      const runs = path.join(tmp, 'runs');
      const r = spawnSync(process.execPath, [cli, 'run', '--runs-dir', runs, '--name', 'x', '--set', `model.checkpoint=${ck}`, '--set', 'threads=1'], { encoding: 'utf8' });
      assert.equal(r.status, 1, `${what}: ${r.stdout}${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
      assert.match(lines[0], /^bstar: /, what);
      assert.match(lines[0], want, what);
      assert.ok(lines[0].includes(ck), `${what}: the line names the checkpoint's file: ${lines[0]}`);
      assert.equal(existsSync(path.join(runs, 'x')), false, `${what}: a run directory was created`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
