// Progress off a TTY: an in-phase line every everyMs with done/total, rate and ETA, and a final line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeProgress } from '../../src/run/progress.js';

test('off a TTY, progress logs a line every everyMs with the ETA, and one at the end', () => {
  let t = 0;
  const lines: string[] = [];
  const p = makeProgress((l) => lines.push(l), process.stderr, { live: false, everyMs: 60_000, now: () => t });
  p.start('sft', 100, 'steps');
  t = 30_000;
  p.update(10);
  assert.equal(lines.length, 0, 'nothing before everyMs');
  t = 60_000;
  p.update(20);
  // 20 of 100 in 60 s: 0.3 steps/s, 80 left → 240 s = 4 min
  assert.deepEqual(lines, ['  sft: 20/100 steps after 60 s (0.3 steps/s), ETA 4 min']);
  t = 90_000;
  p.update(30, 90_000);
  assert.equal(lines.length, 1, 'the next line waits another everyMs');
  t = 120_000;
  p.update(40, 120_000);
  assert.equal(lines[1], '  sft: 40/100 steps after 2 min (1000 tok/s), ETA 3 min');
  t = 300_000;
  p.update(100, 300_000);
  assert.equal(lines.length, 2, 'no in-phase line once the phase is done');
  p.stop();
  assert.equal(lines[2], '  sft: 100/100 steps in 300.0 s (1000 tok/s)');
});

test('everyMs 0 logs only the line at the end', () => {
  let t = 0;
  const lines: string[] = [];
  const p = makeProgress((l) => lines.push(l), process.stderr, { live: false, everyMs: 0, now: () => t });
  p.start('sample', 8, 'samples');
  t = 1e9;
  p.update(4);
  p.stop();
  assert.equal(lines.length, 1);
});
