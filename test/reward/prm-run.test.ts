// The PRM in the loop: `reward.prm.checkpoint` is loaded by the run, its vocabulary checked against the
// policy's, and every sample of the run carries prmSteps with reward = answer + (2·min − 1).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { tsKernels } from '../../src/engine/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { tinyModelConfig } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { combineReward } from '../../src/reward/combine.js';
import { TagPrm } from '../../src/reward/prm/model.js';
import { STEP_SPLITS } from '../../src/reward/prm/steps.js';
import { startRun } from '../../src/run/run.js';
import { ARITH_ALPHABET } from '../../src/tasks/arith.js';
import { CharTokenizer } from '../../src/tokenizer/char.js';
import { tinyConfig } from '../run/tiny.js';

const root = mkdtempSync(path.join(tmpdir(), 'bstar-prm-run-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A random tiny PRM over `alphabet` (the policy vocabulary it records). */
function makePrm(name: string, alphabet: string): string {
  const tok = new CharTokenizer(alphabet);
  const cfg = tinyModelConfig(tok.vocabSize, { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 256 });
  const m = new LlamaModel(cfg, { maxBatch: 1, maxSeq: 8, kernels: tsKernels });
  m.initWeights(3);
  const weights = new Map<string, Float32Array>();
  for (const [n, v] of m.namedParams()) weights.set(n, Float32Array.from(v));
  const pol = path.join(root, `${name}-policy`);
  saveCheckpoint(pol, { config: cfg, weights, tokenizer: tok });
  const prm = TagPrm.fromPolicy(loadCheckpoint(pol), pol, { split: STEP_SPLITS.line, task: 'arith', labels: 'hard', kernels: tsKernels });
  const dir = path.join(root, name);
  prm.save(dir);
  return dir;
}

test('run: reward.prm.enabled without a checkpoint says how to get one', async () => {
  await assert.rejects(startRun(tinyConfig(['method=bstar', 'iterations=1', 'reward.prm.enabled=true']), path.join(root, 'r0'), { log: () => {} }),
    /reward\.prm\.checkpoint is null; train a PRM first \(bstar prm annotate, bstar prm train/);
});

test('run: a PRM of another vocabulary is refused naming prm.json base_vocab', async () => {
  const prm = makePrm('other', ARITH_ALPHABET.slice(0, 40));
  await assert.rejects(startRun(tinyConfig(['method=bstar', 'iterations=1', 'reward.prm.enabled=true', `reward.prm.checkpoint=${prm}`]), path.join(root, 'r1'), { log: () => {} }),
    /prm\.json: base_vocab\.size: expected the policy \(the arith tokenizer\) vocabulary size 44/);
});

test('run: with a PRM every sample carries prmSteps and reward = answer + 2·min − 1', async () => {
  const prm = makePrm('ok', ARITH_ALPHABET);
  const dir = path.join(root, 'r2');
  await startRun(tinyConfig(['method=bstar', 'iterations=1', 'reward.prm.enabled=true', `reward.prm.checkpoint=${prm}`]), dir, { log: () => {} });
  const samples = readFileSync(path.join(dir, 'iterations/1/samples.jsonl'), 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
  assert.ok(samples.length > 0);
  for (const s of samples) {
    assert.ok(Array.isArray(s.prmSteps) && s.prmSteps.length >= 1 && s.prmSteps.every((p: number) => p >= 0 && p <= 1), JSON.stringify(s.prmSteps));
    assert.ok(Math.abs(s.reward - combineReward(s.correct ? 1 : 0, s.prmSteps, 'paper')) < 1e-12);
  }
});
