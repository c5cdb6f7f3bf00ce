// A whole tiny run through startRun: the run directory, and the logged metrics recomputed by brute
// force from the logged samples.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseMetricsJsonl } from '../../src/run/records.js';
import { buildContext, startRun } from '../../src/run/run.js';
import { loadConfig } from '../../src/run/configLoad.js';
import { tinyConfig } from './tiny.js';
import { getTask } from '../../src/tasks/index.js';
import { formatRunChange, runChanges } from '../../src/run/runChange.js';

const root = mkdtempSync(path.join(tmpdir(), 'bstar-run-'));
after(() => rmSync(root, { recursive: true, force: true }));

const readJsonl = (f: string) => readFileSync(f, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));

/** All k-subsets of 0..n-1. */
function subsets(n: number, k: number): number[][] {
  const out: number[][] = [];
  const rec = (start: number, cur: number[]) => {
    if (cur.length === k) return void out.push([...cur]);
    for (let i = start; i < n; i++) rec(i + 1, [...cur, i]);
  };
  rec(0, []);
  return out;
}

test('a bstar run writes the run dir; metrics match brute force over the logged samples', async () => {
  const dir = path.join(root, 'r1');
  const c = tinyConfig(['method=bstar', 'iterations=2', 'selection.injectGold=true']);
  const out = await startRun(c, dir, { log: () => {} });
  for (const f of ['config.yaml', 'metrics.jsonl', 'summary.json', 'iterations/0/eval.json', 'iterations/1/samples.jsonl', 'iterations/1/selected.jsonl', 'iterations/1/search.json', 'iterations/2/eval-samples.jsonl', 'checkpoints/0/model.safetensors', 'checkpoints/2/training_state.json', 'checkpoints/2/tokenizer.json']) {
    assert.ok(existsSync(path.join(dir, f)), f);
  }
  // the saved config reads back equal
  assert.deepEqual(loadConfig({ file: path.join(dir, 'config.yaml') }), c);
  const recs = parseMetricsJsonl(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'));
  assert.deepEqual(recs.map((r) => `${r.iteration}/${r.phase}`), ['0/sft', '0/eval', '1/search', '1/sample', '1/select', '1/train', '1/eval', '2/search', '2/sample', '2/select', '2/train', '2/eval']);
  assert.equal(out.rows.length, 3);

  for (const i of [0, 2]) {
    const ev = recs.find((r) => r.iteration === i && r.phase === 'eval')!;
    const all = readJsonl(path.join(dir, `iterations/${i}/eval-samples.jsonl`));
    const greedy = all.filter((s) => s.temperature === 0);
    const sampled = all.filter((s) => s.temperature !== 0);
    assert.equal(greedy.length, c.eval.testSize);
    const pass1 = greedy.filter((s) => s.correct).length / greedy.length;
    assert.equal(ev.metrics['eval/pass@1'], pass1);
    // Pass@K: the fraction of K-subsets holding a correct sample, per query, averaged
    const ids = [...new Set(sampled.map((s) => s.queryId))];
    const k = c.eval.k;
    let sum = 0;
    for (const id of ids) {
      const xs = sampled.filter((s) => s.queryId === id);
      const subs = subsets(xs.length, k);
      sum += subs.filter((sub) => sub.some((j) => xs[j].correct)).length / subs.length;
    }
    assert.ok(Math.abs(ev.metrics['eval/pass@k']! - sum / ids.length) < 1e-12);
  }

  // selection counts from the logged pool: reward > τ, unique by text, gold injected
  for (const i of [1, 2]) {
    const sel = JSON.parse(readFileSync(path.join(dir, `iterations/${i}/selection.json`), 'utf8'));
    const pool = readJsonl(path.join(dir, `iterations/${i}/samples.jsonl`));
    const rec = recs.find((r) => r.iteration === i && r.phase === 'select')!;
    let selected = 0;
    for (const id of sel.queries as string[]) {
      const texts = new Set(pool.filter((s) => s.queryId === id && s.reward > sel.threshold).map((s) => s.text));
      // the injected gold solution has reward 1
      if (1 > sel.threshold) {
        const gold = readJsonl(path.join(dir, `iterations/${i}/selected.jsonl`)).find((s) => s.queryId === id && s.gold);
        if (gold) texts.add(gold.text);
      }
      selected += texts.size;
    }
    assert.equal(rec.metrics['select/selected'], selected);
    const search = recs.find((r) => r.iteration === i && r.phase === 'search')!;
    assert.equal(search.metrics['search/temperature'], sel.temperature);
    assert.equal(search.searchTable!.length, 4);
  }
});

test('an existing run dir is refused and left untouched', async () => {
  const dir = path.join(root, 'r1');
  const before = readFileSync(path.join(dir, 'metrics.jsonl'));
  await assert.rejects(startRun(tinyConfig(), dir, { log: () => {} }), /already exists; resume it with `bstar run --resume/);
  assert.deepEqual(readFileSync(path.join(dir, 'metrics.jsonl')), before);
});

test('eval.split=dev evaluates the dev split, never test queries', async () => {
  const dir = path.join(root, 'dev-eval');
  const c = tinyConfig(['method=online-rft', 'iterations=1', 'sft.epochs=1', 'eval.split=dev']);
  const lines: string[] = [];
  await startRun(c, dir, { log: (l) => lines.push(l) });
  assert.ok(!lines.some((l) => l.startsWith('warning')), 'arith dev is disjoint from train: no warning');
  const task = getTask('arith');
  const opts = { ...c.task.options };
  const dev = new Set((await task.load('dev', opts)).map((q) => q.id));
  const testIds = new Set((await task.load('test', opts)).map((q) => q.id));
  const evaluated = new Set(readJsonl(path.join(dir, 'iterations/0/eval-samples.jsonl')).map((s) => s.queryId as string));
  assert.equal(evaluated.size, c.eval.testSize);
  for (const id of evaluated) {
    assert.ok(dev.has(id), `${id} is a dev query`);
    assert.ok(!testIds.has(id), `${id} is not a test query`);
  }
});

test('runChanges: the paired last − first difference of the logged per-query monitors', () => {
  const dir = path.join(root, 'r1');
  const changes = runChanges(dir, ['pass@1', 'pass@k'], { level: 0.9, resamples: 200, seed: 1 });
  assert.deepEqual(changes.map((c) => [c.monitor, c.from, c.to]), [['pass@1', 0, 2], ['pass@k', 0, 2]]);
  // brute force from the greedy samples of iterations 0 and 2
  const greedy = (i: number) => new Map(readJsonl(path.join(dir, `iterations/${i}/eval-samples.jsonl`)).filter((s) => s.temperature === 0).map((s) => [s.queryId, s.correct ? 1 : 0]));
  const g0 = greedy(0);
  const g2 = greedy(2);
  const diffs = [...g2].map(([id, v]) => v - g0.get(id)!);
  const d = changes[0].diff;
  assert.ok(Math.abs(d.mean - diffs.reduce((a, b) => a + b, 0) / diffs.length) < 1e-12);
  assert.equal(d.pairs, diffs.length);
  assert.ok(d.lo <= d.mean && d.mean <= d.hi);
  assert.equal(d.verdict, d.lo > 0 || d.hi < 0 ? 'beyond' : 'within');
  const line = formatRunChange(changes[0], 2, 1);
  assert.match(line, /^greedy Pass@1, iteration 2 − 0: [+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\] \(90 % CI, 5 paired queries\): /);
  assert.match(formatRunChange(changes[1], 2, 1), /^Pass@2, iteration 2 − 0/);
  // a fabricated rise beyond the CI reads as such
  assert.match(formatRunChange({ ...changes[0], diff: { ...d, mean: 0.1, lo: 0.05, hi: 0.15, verdict: 'beyond' } }, 2, 1), /\+0\.100 \[\+0\.050, \+0\.150\].*: up beyond the CI$/);
});

test('eval.split=dev on a task whose dev split is part of train warns that it measures fit', async () => {
  const lines: string[] = [];
  const c = tinyConfig(['task.name=gsm8k', 'task.trainSize=null', 'task.options={}', 'eval.split=dev', 'eval.testSize=20', 'model.max_position_embeddings=2048']);
  await buildContext(c, { log: (l) => lines.push(l) });
  assert.ok(lines.some((l) => /^warning: eval.split dev: 20 of the 20 evaluated queries are also training queries/.test(l)), lines.join('\n'));
});
