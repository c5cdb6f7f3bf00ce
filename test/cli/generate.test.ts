import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../src/cli/main.js');
const ckpt = path.resolve(here, '../../../test/fixtures/bstar_tiny');

test('bstar generate: greedy from a checkpoint equals the committed greedy continuation', () => {
  const exp = JSON.parse(readFileSync(path.join(ckpt, 'bstar_expected.json'), 'utf8'));
  const r = spawnSync(process.execPath, [cli, 'generate', '--checkpoint', ckpt, '--prompt', '(12+3)*4=', '--max-new-tokens', String(exp.max_new_tokens)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  assert.deepEqual(lines[0].tokens, exp.greedy_ids);
});

test('bstar generate: bad values are one-line errors with a non-zero exit', () => {
  const r = spawnSync(process.execPath, [cli, 'generate', '--checkpoint', ckpt, '--prompt', '1', '--top-p', '2'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^bstar: top_p must be in \(0, 1\], found 2$/m);
});

test('bstar generate: --max-new-tokens beyond the context is refused (one line), not cut short', () => {
  const ctx = JSON.parse(readFileSync(path.join(ckpt, 'config.json'), 'utf8')).max_position_embeddings as number;
  const r = spawnSync(process.execPath, [cli, 'generate', '--checkpoint', ckpt, '--prompt', '1+1=', '--max-new-tokens', String(ctx)], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^bstar: --max-new-tokens ${ctx}: prompt 1 has (\\d+) tokens \\(with BOS\\), so at most \\d+ new tokens fit the context \\(max_position_embeddings ${ctx}\\)$`, 'm'));
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const fit = Number(/at most (\d+) new tokens/.exec(r.stderr)![1]);
  const ok = spawnSync(process.execPath, [cli, 'generate', '--checkpoint', ckpt, '--prompt', '1+1=', '--max-new-tokens', String(fit)], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
});
