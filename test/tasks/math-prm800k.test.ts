// Differential check against the PRM800K grader (openai/prm800k grade_answer, run once with sympy by
// scripts/math/prm800k_verdicts.py on the pairs from scripts/math/make-pairs.mjs; verdicts committed
// in test/fixtures/math/prm800k-verdicts.json). Our grader must accept everything PRM800K accepts
// (except unreduced fractions, which we reject in every spelling: PRM800K means to, but only catches
// `a/b`), and must never accept a near miss or another problem's answer that PRM800K rejects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gradeAnswer } from '../../src/tasks/math-grader.js';

type Row = [given: string, gold: string, kind: string, prm: boolean | null];
const rows = JSON.parse(readFileSync(new URL('../../../test/fixtures/math/prm800k-verdicts.json', import.meta.url), 'utf8')) as Row[];

test(`PRM800K differential: ${rows.length} answer pairs`, () => {
  assert.ok(rows.length > 5000);
  const missed: string[] = [];
  const tooLenient: string[] = [];
  let oursOnly = 0;
  for (const [given, gold, kind, prm] of rows) {
    const ours = gradeAnswer(given, gold).correct;
    if (kind === 'near:unreduced') {
      if (ours) tooLenient.push(`${kind}: ${given} vs ${gold}`);
      continue;
    }
    if (prm === true && !ours) missed.push(`${kind}: ${JSON.stringify(given)} vs ${JSON.stringify(gold)}`);
    if (prm !== true && ours) {
      oursOnly++;
      if (kind.startsWith('near:') || kind === 'other-problem') tooLenient.push(`${kind}: ${JSON.stringify(given)} vs ${JSON.stringify(gold)}`);
    }
  }
  assert.deepEqual(missed, [], 'pairs PRM800K accepts and we reject');
  assert.deepEqual(tooLenient, [], 'near misses we accept');
  // Where we are more lenient it is by design ($…$. wrappers, vectors as tuples, x^{1/2}, swapped
  // equation sides, plain-text pi/sqrt inside fractions); the count is pinned so a change shows up.
  assert.equal(oursOnly, 171);
});
