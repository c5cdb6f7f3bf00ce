import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedSizeTargets, gridOf, nStarOf, selectionOptions } from '../../src/run/config.js';
import { ConfigError, loadConfig, parseOverride, serializeConfig } from '../../src/run/configLoad.js';
import { PRESETS } from '../../src/run/presets.js';
import { task as arithTask } from '../../src/tasks/arith.js';
import type { Query } from '../../src/tasks/types.js';

/** Asserts loadConfig throws a ConfigError with these fields. */
function fails(opts: Parameters<typeof loadConfig>[0], want: { source?: string; line?: number; path: string; expected?: RegExp; found?: string }) {
  assert.throws(
    () => loadConfig(opts),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
      assert.equal(e.path, want.path, e.message);
      if (want.source !== undefined) assert.equal(e.source, want.source, e.message);
      if (want.line !== undefined) assert.equal(e.line, want.line, e.message);
      if (want.expected) assert.match(e.expected, want.expected, e.message);
      if (want.found !== undefined) assert.equal(e.found, want.found, e.message);
      return true;
    },
  );
}

test('defaults: arith + bstar; the demo preset is the defaults with a minutes-sized budget on a narrower model; derived values', () => {
  const c = loadConfig();
  assert.equal(c.task.name, 'arith');
  assert.equal(c.method, 'bstar');
  assert.equal(nStarOf(c), Math.ceil(c.targetSamples / c.queriesPerIteration));
  assert.deepEqual(gridOf(c.search.temperatures), [0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2]);
  assert.equal(gridOf(c.search.thresholds).length, 21);
  // The demo preset keeps the defaults' task and method and carries the calibrated budget (docs/calibration.md).
  const demo = loadConfig({ preset: 'demo' });
  assert.deepEqual([demo.task.name, demo.method, demo.preset], ['arith', 'bstar', 'demo']);
  // ... on a narrower tiny model (hidden 192, the default's depth and heads) to fit the Zen 4 time budget
  assert.deepEqual([demo.model.hidden_size, demo.model.intermediate_size, demo.model.num_hidden_layers, demo.model.num_attention_heads], [192, 576, c.model.num_hidden_layers, c.model.num_attention_heads]);
  // Every gold solution of the test split (char tokens + </s>) fits in the demo's completion budget.
  const longest = Math.max(...(arithTask.load('test', {}) as Query[]).map((q) => arithTask.goldSolution(q).length + 1));
  assert.ok(longest <= demo.sampling.maxTokens, `longest gold solution ${longest} tokens > maxTokens ${demo.sampling.maxTokens}`);
  assert.ok(demo.iterations >= 2 && gridOf(demo.search.temperatures).length >= 2, 'several iterations, T searched');
});

test('every preset validates; paper presets carry the paper settings', () => {
  for (const name of Object.keys(PRESETS)) assert.equal(loadConfig({ preset: name }).preset, name);
  const math = loadConfig({ preset: 'math' });
  assert.deepEqual([math.iterations, math.train.stepsPerIteration, math.train.batchSize, math.samplesPerQuery], [9, 500, 128, 64]);
  // The paper's PRM is optional (off until one is trained); its annotation settings are the paper's.
  assert.equal(math.reward.prm.enabled, false);
  assert.deepEqual([math.reward.prm.solutionsPerQuery, math.reward.prm.completionsPerStep], [15, 8]);
  assert.deepEqual([math.eval.k, math.eval.s, math.search.devSize], [32, 4, 600]);
  const code = loadConfig({ preset: 'code' });
  assert.deepEqual(gridOf(code.search.temperatures), [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1]);
  assert.equal(code.reward.prm.enabled, false);
  assert.equal(loadConfig({ preset: 'arc' }).sft.epochs, 0);
});

test('layers: preset ← file ← overrides, grids replaced whole', () => {
  const text = 'preset: math\nmethod: online-rft\ntrain:\n  lr: 0.0002\nsearch:\n  temperatures: {values: [0.7, 0.9]}\n';
  const c = loadConfig({ text, file: 'run.yaml', overrides: ['train.lr=1e-4', 'iterations=3', 'search.thresholds=[-0.1, 0, 0.1]'] });
  assert.equal(c.preset, 'math');
  assert.equal(c.method, 'online-rft');
  assert.equal(c.train.lr, 1e-4); // override beats file
  assert.equal(c.train.stepsPerIteration, 500); // preset kept where not overridden
  assert.equal(c.iterations, 3);
  assert.deepEqual(gridOf(c.search.temperatures), [0.7, 0.9]); // not merged with the preset's {from, to, step}
  assert.deepEqual(gridOf(c.search.thresholds), [-0.1, 0, 0.1]);
  // Explicit preset beats the file's.
  assert.equal(loadConfig({ text: 'preset: math\n', preset: 'code' }).task.name, 'mbpp');
});

test('override values are typed: numbers, booleans, null, lists, strings', () => {
  assert.deepEqual(parseOverride('train.lr=1e-4').value, 1e-4);
  assert.deepEqual(parseOverride('selection.injectGold=true').value, true);
  assert.deepEqual(parseOverride('model.checkpoint=null').value, null);
  assert.deepEqual(parseOverride('train.freeze=[embed_tokens, norm]').value, ['embed_tokens', 'norm']);
  assert.deepEqual(parseOverride('model.checkpoint=ckpt/sft').value, 'ckpt/sft');
  assert.deepEqual(parseOverride('task.options.digits=3').path, ['task', 'options', 'digits']); // below a record: any key
  const c = loadConfig({ overrides: ['selection.nStar=8', 'selection.fixedSizeTarget=3550', 'model.checkpoint=/tmp/m'] });
  assert.equal(nStarOf(c), 8);
  assert.equal(c.selection.fixedSizeTarget, 3550);
  assert.deepEqual(fixedSizeTargets(c), { pool: 3550, dev: Math.round((3550 * 32) / 64) });
  // The official numbers: 67,500 on 11.5k queries scales to ≈ 3,550 on a 600-query dev subset.
  const off = loadConfig({ preset: 'math', overrides: ['selection.mode=fixed-size', 'selection.fixedSizeTarget=67500', 'queriesPerIteration=11500'] });
  assert.deepEqual(fixedSizeTargets(off), { pool: 67500, dev: 3522 });
  assert.equal(fixedSizeTargets(loadConfig({ overrides: ['selection.fixedSizeDevTarget=3550'] })).dev, 3550);
  assert.equal(fixedSizeTargets(loadConfig()).pool, 256); // 'N' = targetSamples
  assert.equal(c.model.checkpoint, '/tmp/m');
  // Into a grid's parts, and a plain list as a grid.
  assert.deepEqual(gridOf(loadConfig({ overrides: ['search.temperatures.step=0.35'] }).search.temperatures), [0.5, 0.85, 1.2]);
  assert.deepEqual(gridOf(loadConfig({ text: 'search:\n  thresholds: [0, 0.5]\n' }).search.thresholds), [0, 0.5]);
  assert.throws(() => parseOverride('search.temperatures.stepp=1'), /search.temperatures.stepp: expected one of from, to, step, values \(did you mean "step"\?\)/);
});

test('unknown keys name the full path, the source and line, and suggest the near key', () => {
  fails({ text: 'train:\n  lrr: 1\n', file: 'run.yaml' }, { source: 'run.yaml', line: 2, path: 'train.lrr', expected: /did you mean "lr"\?/, found: 'unknown key "lrr"' });
  fails({ text: 'search:\n  temperatures:\n    form: 0.5\n', file: 'run.yaml' }, { line: 3, path: 'search.temperatures.form', expected: /"from"/ });
  fails({ text: 'bogus: 1\n', file: 'run.yaml' }, { line: 1, path: 'bogus' });
  fails({ overrides: ['train.lrr=1'] }, { source: '--set train.lrr=1', path: 'train.lrr', expected: /did you mean "lr"/ });
  fails({ overrides: ['train.lr.x=1'] }, { path: 'train.lr.x', expected: /no key below train.lr/ });
  fails({ overrides: ['nokey'] }, { source: '--set nokey', path: '', expected: /key.path=value/ });
});

test('wrong types and ranges name expected and found', () => {
  fails({ text: 'train:\n  lr: abc\n', file: 'a.yaml' }, { line: 2, path: 'train.lr', expected: /^a number$/, found: '"abc"' });
  fails({ text: 'seed: 1.5\n', file: 'a.yaml' }, { line: 1, path: 'seed', expected: /an integer/, found: '1.5' });
  fails({ text: 'method: bstr\n', file: 'a.yaml' }, { path: 'method', expected: /one of "sft", "star", "iterative-rft", "online-rft", "bstar"/, found: '"bstr"' });
  fails({ text: 'selection:\n  nStar: foo\n', file: 'a.yaml' }, { line: 2, path: 'selection.nStar', expected: /"ceil\(N\/M\)" or a number/ });
  fails({ text: 'sampling:\n  temperature: -0.5\n', file: 'a.yaml' }, { path: 'sampling.temperature', expected: /≥ 0/, found: '-0.5' });
  fails({ text: 'train: 3\n', file: 'a.yaml' }, { path: 'train', expected: /an object/ });
  fails({ text: '{"train": {"lr": -1}}', file: 'a.json' }, { source: 'a.json', line: 1, path: 'train.lr', expected: /> 0/ });
  const taskNames = ['arith', 'gsm8k', 'math', 'arc', 'code'];
  fails({ text: 'task:\n  name: chess\n', file: 'a.yaml', taskNames }, { source: 'a.yaml', line: 2, path: 'task.name', expected: /one of arith, gsm8k, math, arc, code/, found: '"chess"' });
  fails({ overrides: ['task.name=chess'], taskNames }, { source: '--set task.name=chess', path: 'task.name' });
  assert.equal(loadConfig({ overrides: ['task.name=chess'] }).task.name, 'chess'); // without a registry: checked at run start
  fails({ text: 'task:\n  name: ""\n', file: 'a.yaml' }, { path: 'task.name', expected: /non-empty/ });
  fails({ overrides: ['train.lr=abc'] }, { source: '--set train.lr=abc', path: 'train.lr', found: '"abc"' });
});

test('cross-field checks: K ≥ S, non-empty and in-range grids, model shapes, one training length', () => {
  fails({ text: 'eval:\n  k: 2\n  s: 4\n', file: 'a.yaml' }, { line: 3, path: 'eval.s', expected: /S ≤ K \(eval.k = 2\)/, found: '4' });
  fails({ overrides: ['eval.s=40'] }, { source: '--set eval.s=40', path: 'eval.s' });
  fails({ text: 'search:\n  thresholds: {values: []}\n', file: 'a.yaml' }, { path: 'search.thresholds.values', expected: /non-empty/ });
  fails({ text: 'search:\n  temperatures: {from: 1, to: 0.5, step: 0.1}\n', file: 'a.yaml' }, { line: 2, path: 'search.temperatures.to', expected: /≥ from/ });
  fails({ text: 'search:\n  temperatures: {from: 0.5, to: 1}\n', file: 'a.yaml' }, { path: 'search.temperatures.step', expected: /grid needs from, to and step/ });
  fails({ text: 'search:\n  thresholds: {values: [0, 9]}\n', file: 'a.yaml' }, { path: 'search.thresholds.values.1', expected: /in \[-2, 3\]/, found: '9' });
  fails({ text: 'search:\n  temperatures: {values: [0.5, 0.5]}\n', file: 'a.yaml' }, { path: 'search.temperatures.values', expected: /distinct/ });
  fails({ text: 'search:\n  temperatures: {from: 0.5, to: 1, step: 0.1, values: [1]}\n', file: 'a.yaml' }, { path: 'search.temperatures', expected: /not both/ });
  fails({ text: 'search:\n  temperatures: {values: [-0.1]}\n', file: 'a.yaml' }, { path: 'search.temperatures.values.0' });
  fails({ text: 'model:\n  hidden_size: 66\n', file: 'a.yaml' }, { path: 'model.hidden_size', expected: /multiple of num_attention_heads/ });
  fails({ text: 'model:\n  hidden_size: 12\n  num_attention_heads: 4\n', file: 'a.yaml' }, { path: 'model.hidden_size', expected: /even head size/ });
  fails({ text: 'model:\n  num_key_value_heads: 3\n', file: 'a.yaml' }, { path: 'model.num_key_value_heads' });
  fails({ text: 'train:\n  epochsPerIteration: 1\n', file: 'a.yaml' }, { path: 'train.stepsPerIteration', expected: /exactly one/ });
  fails({ text: 'sft:\n  startEpoch: 4\n', file: 'a.yaml' }, { path: 'sft.startEpoch', expected: /≤ sft.epochs \(3\)/ });
});

test('file problems: bad YAML with its line, duplicate keys, non-mapping, missing file, unknown preset', () => {
  fails({ text: 'train:\n  lr: [1\nseed: 2\n', file: 'bad.yaml' }, { source: 'bad.yaml', path: '', expected: /valid YAML/ });
  assert.throws(() => loadConfig({ text: 'a: [1\n', file: 'bad.yaml' }), (e: unknown) => e instanceof ConfigError && typeof e.line === 'number');
  fails({ text: 'seed: 1\nseed: 2\n', file: 'dup.yaml' }, { path: '', found: 'Map keys must be unique', line: 2 });
  fails({ text: '- 1\n- 2\n', file: 'list.yaml' }, { path: '', expected: /a mapping/ });
  fails({ file: '/nonexistent/run.yaml' }, { source: '/nonexistent/run.yaml', path: '', found: 'ENOENT' });
  fails({ text: 'preset: nope\n', file: 'p.yaml' }, { line: 1, path: 'preset', expected: /one of demo, math, gsm8k, arc, code/ });
  fails({ preset: 'nope' }, { source: '--preset', path: 'preset' });
  assert.match(String((() => { try { loadConfig({ text: 'train:\n  lrr: 1\n', file: 'run.yaml' }); } catch (e) { return (e as Error).message; } })()), /^run\.yaml:2:3: train\.lrr: expected one of lr, .* found unknown key "lrr"$/);
});

test('an empty file is the defaults; files are read from disk, YAML and JSON alike', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bstar-config-'));
  writeFileSync(join(dir, 'empty.yaml'), '');
  assert.deepEqual(loadConfig({ file: join(dir, 'empty.yaml') }), loadConfig());
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ method: 'star', eval: { k: 8, s: 2 } }));
  const c = loadConfig({ file: join(dir, 'c.json') });
  assert.deepEqual([c.method, c.eval.k, c.eval.s], ['star', 8, 2]);
});

test('serialised config reads back identical (for every preset, with overrides)', () => {
  for (const name of Object.keys(PRESETS)) {
    const c = loadConfig({ preset: name, overrides: ['seed=7', 'selection.nStar=8', 'search.thresholds={values: [-0.5, 0.25]}'] });
    const yaml = serializeConfig(c);
    assert.deepEqual(loadConfig({ text: yaml, file: 'config.yaml' }), c);
  }
});

test('selectionOptions: paper defaults, and the official options mapped through', () => {
  const paper = selectionOptions(loadConfig(), 'dev');
  assert.deepEqual(paper, {
    thresholds: gridOf(loadConfig().search.thresholds), thresholdTies: 'higher', nStar: 4, selection: 'threshold', perQueryCap: null,
    capBeforeDedup: false, emptyQueries: 'zero', uniqueBy: 'text', goldReward: 1,
  });
  const c = loadConfig({
    overrides: ['selection.mode=fixed-size', 'selection.nStar=8', 'selection.capBeforeDedup=true', 'selection.emptyQueries=exclude', 'search.thresholdTies=lower', 'search.thresholds={from: -1, to: 0.99, step: 0.01}', 'selection.fixedSizeTarget=1000'],
  });
  const pool = selectionOptions(c, 'pool');
  const dev = selectionOptions(c, 'dev');
  assert.deepEqual([pool.selection, pool.targetSize, dev.targetSize, pool.maxCap, pool.nStar, pool.thresholdTies, pool.thresholds.length], ['fixed-size', 1000, 500, 64, 8, 'lower', 200]);
});
