// "Done when" of issue 15: a miniature checkpoint of each family, made by a script that is not bstar's
// (test/fixtures/make_family_goldens.py), trains in a tiny `bstar run` (SFT + 1 iteration of online RFT
// on arith), and afterwards bstar's greedy output equals an independent PyTorch forward token for token
// (the same script's forward on the checkpoint bstar wrote). Needs /usr/bin/python3 with torch; skips
// with a note otherwise (the per-family PyTorch goldens in families.test.ts need no Python).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/model/checkpoint.js';
import { Sampler } from '../../src/model/sampler.js';
import { startRun } from '../../src/run/run.js';
import { ARITH_ALPHABET } from '../../src/tasks/arith.js';
import { CharTokenizer } from '../../src/tokenizer/index.js';
import { tinyConfig } from '../run/tiny.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../../test/fixtures');
const script = path.join(fixtures, 'make_family_goldens.py');
const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const skip = torchOk ? false : 'needs /usr/bin/python3 with torch (Debian python3-torch) for the independent forward';

for (const family of ['llama32', 'qwen25', 'mistral', 'smollm2']) {
  test(`${family}: a PyTorch-made miniature trains in bstar run (SFT + 1 iteration); bstar's greedy then equals PyTorch's forward on the result`, { skip }, async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), `bstar-famrun-${family}-`));
    try {
      const ck = path.join(tmp, 'init');
      cpSync(path.join(fixtures, `family_${family}`), ck, { recursive: true });
      const tok = new CharTokenizer(ARITH_ALPHABET);
      for (const [name, v] of Object.entries(tok.toHfFiles())) writeFileSync(path.join(ck, name), JSON.stringify(v));
      const c = tinyConfig([
        `model.checkpoint=${JSON.stringify(ck)}`, 'iterations=1', 'method=online-rft', 'sft.lr=0.003', 'train.lr=0.003', 'task.trainSize=8',
        'queriesPerIteration=4', 'targetSamples=6', 'sampling.maxTokens=24', 'eval.testSize=3',
      ]);
      await startRun(c, path.join(tmp, 'run'), { log: () => {} });
      const out = path.join(tmp, 'run', 'checkpoints', '1');
      const trained = loadCheckpoint(out);
      assert.equal(trained.config.model_type, loadCheckpoint(ck).config.model_type);
      const prompt = tok.encode('12+30=', { addBos: true });
      const n = 12;
      const mine = new Sampler(trained.config, trained.weights, trained.tokenizer!).generate([{ prompt }], { seed: 0, temperature: 0, maxNewTokens: n, ignoreEos: true }).samples[0][0].tokens;
      const r = spawnSync('/usr/bin/python3', [script, 'greedy', out, JSON.stringify(prompt), String(n), String(tok.vocabSize)], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const torch = JSON.parse(r.stdout.trim().split('\n').pop()!) as { tokens: number[]; margin: number };
      assert.deepEqual(mine, torch.tokens, `greedy differs (PyTorch's smallest top-2 margin ${torch.margin})`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
