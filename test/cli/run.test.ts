// `bstar run` / `bstar eval` bad input: one-line error naming the key or path, non-zero exit, and
// nothing written (no run dir created, an existing one untouched).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-cli-run-'));
after(() => rmSync(root, { recursive: true, force: true }));

function bstar(argv: string[]) {
  return spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
}

const cases: [string, string[], RegExp][] = [
  ['invalid config value', ['--set', 'train.lr=-1'], /train\.lr: expected a number > 0, found -1/],
  ['unknown key', ['--set', 'train.lrr=1'], /train\.lrr/],
  ['unknown task', ['--set', 'task.name=nope'], /task\.name: expected one of arith.*found "nope"/],
  ['empty grid', ['--set', 'search.temperatures=[]'], /search\.temperatures\.values: expected a non-empty list/],
  ['K < S', ['--set', 'eval.k=2', '--set', 'eval.s=5'], /eval\.s: expected S ≤ K/],
  ['missing checkpoint', ['--set', 'model.checkpoint=/nonexistent/ck'], /model\.checkpoint: \/nonexistent\/ck: no checkpoint there/],
  ['bad config file', [path.join(root, 'missing.yaml')], /missing\.yaml/],
  ['unknown method', ['--method', 'magic'], /method/],
  ['bad --stop-after', ['--stop-after', '1.5'], /--stop-after expects an integer ≥ 0, found "1\.5"/],
];

for (const [what, args, re] of cases) {
  test(`bstar run, ${what}: one-line error, exit 1, no run dir`, () => {
    const r = bstar(['run', '--runs-dir', root, '--name', 'x', ...args]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(path.join(root, 'x')));
  });
}

test('an existing run dir without --resume is refused and untouched', () => {
  const dir = path.join(root, 'exists');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'keep.txt'), 'x');
  const r = bstar(['run', '--runs-dir', root, '--name', 'exists']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /already exists; resume it with `bstar run --resume/);
  assert.deepEqual(readdirSync(dir), ['keep.txt']);
});

test('--resume of something that is not a run dir; eval of a missing checkpoint', () => {
  let r = bstar(['run', '--resume', path.join(root, 'nope')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not a run directory/);
  r = bstar(['eval', path.join(root, 'nope')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no config\.json there/);
  r = bstar(['run', '--resume', path.join(root, 'nope'), '--set', 'seed=1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--resume takes the run directory only/);
});

test('a tiny run, then bstar eval --json of its checkpoint and bstar compare of the run', async () => {
  const { TINY_OVERRIDES } = await import('../run/tiny.js');
  const r = bstar(['run', '--runs-dir', root, '--name', 'ok', ...[...TINY_OVERRIDES, 'iterations=1'].flatMap((s) => ['--set', s])]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /iter\s+T\s+τ\s+selected/);
  const ev = bstar(['eval', path.join(root, 'ok', 'checkpoints', '1'), '--task', 'arith', '--set', 'eval.testSize=4', '--set', 'eval.k=2', '--set', 'eval.s=1', '--set', 'threads=1', '--json']);
  assert.equal(ev.status, 0, ev.stderr);
  const out = JSON.parse(ev.stdout);
  assert.equal(out.queries, 4);
  assert.ok(out.metrics['pass@k'].mean >= 0 && out.metrics['pass@k'].mean <= 1);
  const cmp = bstar(['compare', path.join(root, 'ok'), path.join(root, 'ok')]);
  assert.equal(cmp.status, 0, cmp.stderr);
  assert.match(cmp.stdout, /Pass@1 \(greedy\):/);
  assert.equal((cmp.stdout.match(/^\s*ok\s+bstar/gm) ?? []).length, 2);
});
