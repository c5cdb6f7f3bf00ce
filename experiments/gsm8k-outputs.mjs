#!/usr/bin/env node
// What a GSM8K run's model writes: for the greedy evaluation samples of one iteration, the share that
// is right, that ends in a `#### answer` line, the equations per solution, and how many of those
// equations are arithmetically true (left side = right side) and use only numbers of the question or
// earlier results (the equation check's step rule). Usage (after npm run build):
//   node experiments/gsm8k-outputs.mjs runs/gsm8k-feasibility [iteration=0]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getTask } from '../dist/src/tasks/index.js';
import { evalFlat, parseNumber } from '../dist/src/tasks/numeric.js';
import { equationStepScores } from '../dist/src/reward/equationCheck.js';

const [dir, it = '0'] = process.argv.slice(2);
if (!dir) throw new Error('usage: node experiments/gsm8k-outputs.mjs RUN_DIR [iteration]');
const file = path.join(dir, 'iterations', it, 'eval-samples.jsonl');
const samples = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((s) => s.temperature === 0);
const task = getTask('gsm8k');
const queries = new Map();
for (const split of ['test', 'train']) for (const q of await task.load(split, {})) queries.set(q.id, q);
function stats(items) {
  let right = 0, answered = 0, eqs = 0, trueEqs = 0, provenEqs = 0;
  for (const { q, text, correct } of items) {
    if (correct) right++;
    if (/####\s*-?[\d.,]+/.test(text)) answered++;
    const bodies = [...text.matchAll(/<<([^<>]*)>>/g)].map((m) => m[1].replace(/\s+/g, ''));
    eqs += bodies.length;
    for (const b of bodies) {
      const e = b.lastIndexOf('=');
      const v = e > 0 ? evalFlat(b.slice(0, e)) : null;
      const r = e > 0 ? parseNumber(b.slice(e + 1)) : null;
      if (v !== null && r !== null && Math.abs(v - r) < 1e-9) trueEqs++;
    }
    if (bodies.length) provenEqs += equationStepScores(task.formatPrompt(q), text).slice(0, bodies.length).reduce((a, x) => a + x, 0);
  }
  return { n: items.length, right, answered, eqs, trueEqs, provenEqs };
}
const items = samples.map((s) => {
  const q = queries.get(s.queryId);
  if (!q) throw new Error(`${file}: query ${s.queryId} is not a gsm8k train or test query`);
  return { q, text: s.text, correct: s.correct };
});
const model = stats(items);
const gold = stats(items.map(({ q }) => ({ q, text: task.goldSolution(q), correct: true })));
const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(1)} %` : '—');
console.log(`${file}: ${samples.length} greedy samples (model | the gold solutions of the same queries)`);
const row = (label, f) => console.log(`${label.padEnd(32)}${f(model).padEnd(24)}${f(gold)}`);
row('right answer', (x) => `${x.right} (${pct(x.right, x.n)})`);
row('#### answer line', (x) => `${x.answered} (${pct(x.answered, x.n)})`);
row('equations per solution', (x) => (x.eqs / x.n).toFixed(2));
row('equations true', (x) => `${x.trueEqs} of ${x.eqs} (${pct(x.trueEqs, x.eqs)})`);
row('true, operands known', (x) => `${x.provenEqs} of ${x.eqs} (${pct(x.provenEqs, x.eqs)})`);
