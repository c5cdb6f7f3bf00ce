// Writes answer pairs [given, gold] for the PRM800K differential check (see prm800k_verdicts.py):
// MATH500 golds against our automatic rewrites, plain-text spellings a model might use, near misses
// (off by one, sign flips, rounded decimals) and other problems' answers. Run after `npm run build:ts`:
//   node scripts/math/make-pairs.mjs > /tmp/pairs.json
import { loadMath } from '../../dist/src/tasks/math.js';
import { rewriteAnswer } from '../../dist/src/tasks/math-rewrite.js';

const golds = loadMath('test').map((q) => q.gold.answer);
const pairs = [];
const add = (given, gold, kind) => { if (given !== null && given !== gold) pairs.push([given, gold, kind]); };
golds.forEach((g, i) => {
  for (const [name, t] of rewriteAnswer(g)) add(t, g, `rewrite:${name}`);
  // Plain-text spellings.
  add(g.replace(/\\sqrt\{([^{}]+)\}/g, 'sqrt($1)').replace(/\\pi/g, 'pi'), g, 'plain:sqrt-pi');
  add(g.replace(/\\frac\{([^{}]+)\}\{([^{}]+)\}/g, '($1)/($2)').replace(/\\sqrt\{([^{}]+)\}/g, 'sqrt($1)').replace(/\\pi/g, 'pi').replace(/\\cdot/g, '*'), g, 'plain:all');
  add(g.replace(/\\sqrt\{([^{}]+)\}/g, '$1^{1/2}'), g, 'plain:power-half');
  add(g.replace(/\s+/g, ''), g, 'spaces-removed');
  // Near misses (should be unequal).
  if (/^-?\d+$/.test(g)) { add(String(BigInt(g) + 1n), g, 'near:plus-one'); add(g.startsWith('-') ? g.slice(1) : `-${g}`, g, 'near:sign'); }
  const f = /^(-?)\\frac\{(\d+)\}\{(\d+)\}$/.exec(g);
  if (f) {
    const v = (f[1] ? -1 : 1) * Number(f[2]) / Number(f[3]);
    add(v.toFixed(2), g, 'near:rounded-2dp');
    add(`\\frac{${f[3]}}{${f[2]}}`, g, 'near:inverted');
    add(`\\frac{${2 * Number(f[2])}}{${2 * Number(f[3])}}`, g, 'near:unreduced');
  }
  if (/\\sqrt\{\d+\}/.test(g)) add(g.replace(/\\sqrt\{(\d+)\}/, (_m, n) => `\\sqrt{${Number(n) + 1}}`), g, 'near:radicand');
  if (/[+-]/.test(g.slice(1)) && !/[(\[]/.test(g)) add(g.slice(0, 1) + g.slice(1).replace(/[+-]/, (c) => (c === '+' ? '-' : '+')), g, 'near:op-flip');
  for (const k of [1, 2, 3]) add(golds[(i + k) % golds.length], g, 'other-problem');
});
process.stdout.write(JSON.stringify(pairs));
