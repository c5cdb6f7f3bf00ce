// Every preset `bstar run --help` advertises starts: its config validates, its task loads, the model and
// (optional) reward build — everything a run does before its first step. A paper preset without a model
// of its own says in one line which model the paper started from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/run/configLoad.js';
import { PRESETS, presetModelNote } from '../../src/run/presets.js';
import { buildContext } from '../../src/run/run.js';
import { taskNames } from '../../src/tasks/index.js';

test('every preset builds its run context (task data, model, reward) with no extra settings', async () => {
  assert.deepEqual(Object.keys(PRESETS), ['demo', 'math', 'gsm8k', 'arc', 'code']);
  for (const name of Object.keys(PRESETS)) {
    const c = loadConfig({ preset: name, overrides: ['threads=1'], taskNames: taskNames() });
    const lines: string[] = [];
    const ctx = await buildContext(c, { log: (l) => lines.push(l) });
    assert.ok(ctx.trainIds.length > 0 && ctx.test.length > 0, name);
    assert.equal(ctx.task.name, c.task.name, name);
    // No PRM is required to start; the demo's rule-based equation check is the only step scorer.
    assert.equal(ctx.prm !== undefined, name === 'demo', name);
  }
});

test('paper presets name the model the paper used when run without one; not with --model, not the demo', () => {
  const note = (preset: string, extra: string[] = []) => presetModelNote(loadConfig({ preset, overrides: extra }));
  assert.match(note('math') ?? '', /^preset math: the paper starts this preset from Mistral-7B: pass --model <folder or org\/name>/);
  assert.match(note('code') ?? '', /Llama-3-8B/);
  assert.match(note('arc') ?? '', /Mistral-7B-instruct/);
  assert.equal(note('demo'), null);
  assert.equal(note('math', ['model.checkpoint=some/model']), null);
  assert.equal((note('gsm8k') ?? '').includes('\n'), false);
  assert.match(PRESETS.code.description, /the paper used APPS: --set task\.name=apps --dataset/);
  assert.match(PRESETS.math.description, /reward\.prm\.enabled=true reward\.prm\.checkpoint=<dir>/);
});
