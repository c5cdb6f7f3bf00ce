// Validate before writing: `bstar run` with a config or data that cannot work prints one line naming the
// key (or the row and the key), exits non-zero and leaves no run directory. The cases are those of the
// reliability review: counts far too large, a context shorter than the data (valid GSM8K at 512, a 5 MB
// line), counts above the training pool, sampling.maxTokens beyond the context, a NaN, and configs that
// cannot fit in memory. Plus the plan's pure parts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BOUNDS, boundProblems } from '../../src/run/bounds.js';
import { describeConfig } from '../../src/run/configDoc.js';
import { loadConfig } from '../../src/run/configLoad.js';
import { checkMemory, maxTrainSeq, memoryParts, PlanError, planRun, rowsOverContext } from '../../src/run/plan.js';
import { dataFile, readDataText } from '../../src/tasks/data.js';
import { tinyConfig } from './tiny.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-plan-'));
after(() => rmSync(root, { recursive: true, force: true }));

function bstar(argv: string[]) {
  return spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
}

// A GSM8K data directory whose training file has a 5 MB question on line 3.
const bigData = path.join(root, 'data');
mkdirSync(path.join(bigData, 'gsm8k'), { recursive: true });
{
  const train = readDataText(dataFile('gsm8k/train.jsonl')).split('\n').slice(0, 12);
  const row = JSON.parse(train[2]) as { question: string };
  row.question = 'How many? '.repeat(512 * 1024);
  train[2] = JSON.stringify(row);
  writeFileSync(path.join(bigData, 'gsm8k', 'train.jsonl'), train.join('\n') + '\n');
  writeFileSync(path.join(bigData, 'gsm8k', 'test.jsonl'), readDataText(dataFile('gsm8k/test.jsonl')).split('\n').slice(0, 5).join('\n') + '\n');
}

const huge = ['model.hidden_size=16384', 'model.intermediate_size=65536', 'model.num_hidden_layers=64', 'model.num_attention_heads=128', 'model.num_key_value_heads=128'];

const cases: Array<[string, string[], RegExp]> = [
  ['samplesPerQuery=1e9', ['samplesPerQuery=1e9'], /^bstar: --set samplesPerQuery=1e9: samplesPerQuery: expected at most 100 000 \(K; .*\), found 1000000000$/],
  ['eval.bootstrapResamples=1e12', ['eval.bootstrapResamples=1e12'], /eval\.bootstrapResamples: expected at most 1 000 000 .*found 1000000000000$/],
  ['model.hidden_size=1e9', ['model.hidden_size=1e9'], /model\.hidden_size: expected at most 65 536 .*found 1000000000$/],
  ['a NaN', ['train.lr=.nan'], /train\.lr: expected a number, found NaN$/],
  ['valid GSM8K at a 512-token context', ['task.name=gsm8k', 'task.trainSize=null'], /task gsm8k: \d+ of \d+ rows do not fit model\.max_position_embeddings \(512\); the longest is gsm8k-train-\d+ \(BOS \+ prompt \d+ \+ gold solution \d+ \+ EOS − 1 = \d+ positions\); raise model\.max_position_embeddings to at least \d+/],
  ['a 5 MB data line', ['task.name=gsm8k', `task.options={"dataDir": ${JSON.stringify(bigData)}}`, 'model.max_position_embeddings=4096', 'queriesPerIteration=8', 'search.devSize=4'], /task gsm8k: 1 of \d+ rows do not fit model\.max_position_embeddings \(4096\); the longest is gsm8k-train-2 \(BOS \+ prompt 524\d{4} \+ gold solution \d+/],
  ['queriesPerIteration above the pool', ['task.trainSize=50', 'queriesPerIteration=64'], /^bstar: queriesPerIteration: expected at most the training pool's 50 queries \(task arith, task\.trainSize 50\), found 64; set queriesPerIteration=50/],
  ['search.devSize above the pool', ['task.trainSize=20', 'queriesPerIteration=20'], /^bstar: search\.devSize: expected at most the training pool's 20 queries .*found 32$/],
  ['sampling.maxTokens beyond the context', ['sampling.maxTokens=600'], /^bstar: sampling\.maxTokens: expected at most \d+ \(model\.max_position_embeddings \(512\) − BOS − the longest prompt, \d+ tokens: arith-\w+\), found 600/],
  ['a model that cannot fit in RAM', huge, /^bstar: memory: the run needs at least [\d.]+ GiB, more than .* \([\d.]+ GiB\); the largest part is model weights.*: lower model\.hidden_size$/],
  ['sample pools that cannot fit in RAM', ['queriesPerIteration=2000', 'samplesPerQuery=100000'], /^bstar: memory: the run needs at least [\d.]+ GiB.*the largest part is the iteration's sample pool \(200000000 samples\), [\d.]+ GiB: lower samplesPerQuery \(with queriesPerIteration, sampling\.maxTokens\)$/],
];

for (const [what, sets, re] of cases) {
  test(`bstar run, ${what}: one line naming the key, exit non-zero, no run directory`, () => {
    const r = bstar(['run', '--runs-dir', root, '--name', 'x', ...sets.flatMap((s) => ['--set', s])]);
    assert.notEqual(r.status, 0);
    const err = r.stderr.trim();
    assert.equal(err.split('\n').length, 1, err);
    assert.match(err, re);
    assert.ok(!existsSync(path.join(root, 'x')), 'no run directory');
  });
}

test('every integer count or size of the config has an upper bound', () => {
  const counts = describeConfig().filter((k) => /^integer/.test(k.type) && k.path !== 'seed').map((k) => k.path);
  assert.deepEqual(counts.filter((k) => !(k in BOUNDS)), []);
  for (const k of Object.keys(BOUNDS)) assert.ok(describeConfig().some((d) => d.path === k), `${k} is a config key`);
  assert.deepEqual(boundProblems(loadConfig()), []);
  for (const p of ['math', 'gsm8k', 'arc', 'code', 'demo']) assert.deepEqual(boundProblems(loadConfig({ preset: p })), [], p);
});

test('rowsOverContext: a sampled row needs BOS + prompt + 1; a trained row BOS + prompt + gold + EOS − 1', () => {
  const rows = [
    { id: 'a', prompt: 10, gold: -1 },
    { id: 'b', prompt: 10, gold: 5 },
    { id: 'c', prompt: 14, gold: -1 },
    { id: 'd', prompt: 15, gold: -1 },
  ];
  assert.deepEqual(rowsOverContext(rows, 16).map((r) => [r.id, r.need]), [['d', 17]]);
  assert.deepEqual(rowsOverContext(rows, 15).map((r) => [r.id, r.need]), [['d', 17], ['b', 16], ['c', 16]]);
  assert.deepEqual(rowsOverContext(rows, 17), []);
  assert.equal(maxTrainSeq(512, 100, 30, 40), 100 + 1 + 40 + 1);
  assert.equal(maxTrainSeq(128, 100, 30, 40), 128);
});

test('memory: parts by hand for a small model; over the RAM or the heap limit names the largest part', () => {
  const model = { V: 10, C: 8, F: 16, L: 1, H: 2, KV: 2, P: 1000 };
  const parts = memoryParts({ model, modelKey: 'model.hidden_size', maxSeq: 4, microBatch: 2, kvTokens: 16, charsPerToken: 1, maxTokens: 10, poolSamples: 3, searchSamples: 0, evalSamples: 2, dataBytes: 50 });
  const by = (w: RegExp) => parts.find((p) => w.test(p.what))!.bytes;
  assert.equal(by(/^model weights/), 24_000);
  // N = 8 rows; per layer C*5 + 2 + H*D*2 + KV*D*2 + H + F*3 = 40 + 2 + 16 + 16 + 2 + 48 = 124;
  // N*(2C + 2 + L*124 + 2V) + N*(2C + 2HD + 2KVD + 3F) = 8*(16+2+124+20) + 8*(16+16+16+48) = 1296 + 768
  assert.equal(by(/^training activations/), 4 * (1296 + 768));
  assert.equal(by(/KV cache/), 4 * (2 * 1 * 16 * 2 * 4 + 256 * 10));
  assert.equal(by(/sample pool/), 3 * (600 + 20));
  assert.equal(by(/evaluation/), 2 * (600 + 20));
  const total = parts.reduce((a, p) => a + p.bytes, 0);
  assert.equal(checkMemory(parts, { bytes: total, what: 'test RAM' }, total), total);
  assert.throws(() => checkMemory(parts, { bytes: total - 1, what: 'test RAM' }, total), (e: Error) => e instanceof PlanError && /more than test RAM .* the largest part is Node and the engine/.test(e.message));
  assert.throws(() => checkMemory(parts, { bytes: total, what: 'test RAM' }, 100), /in the JS heap, more than its limit .* the largest part is the iteration's sample pool \(3 samples\), .*: lower samplesPerQuery/);
});

test('planRun on the tiny config: the numbers it reports', async () => {
  const plan = await planRun(tinyConfig());
  assert.equal(plan.trainQueries, 24);
  assert.equal(plan.testQueries, 5);
  assert.equal(plan.context, 256);
  assert.equal(plan.maxSeq, maxTrainSeq(256, plan.maxPrompt, plan.maxGold, 40));
  assert.ok(plan.memoryBytes > 100 * 2 ** 20 && plan.memoryBytes < 2 ** 30, String(plan.memoryBytes));
  assert.match(plan.summary, /^plan: 24 training and 5 test queries; longest prompt \d+ and gold \d+ tokens \(context 256, training sequences \d+\); memory at least/);
});
