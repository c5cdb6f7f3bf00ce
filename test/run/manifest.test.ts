// A self-checking run directory (src/run/manifest.ts): every file of a finished tiny run is truncated in
// turn; the resume either continues to the same final state as the uninterrupted run, or names the file
// and falls back to the newest checkpoint that still verifies. An edited config.yaml is refused unless
// --allow-config-change lists the keys, and the accepted change is recorded in metrics.jsonl.
//
// For every file the resume plan is checked (which checkpoint, which warning). The full resume to the end
// runs for one file of each kind (a newest-checkpoint file, a checkpoint-0 file, an iteration file,
// metrics.jsonl, config.yaml, the report, the summary); BSTAR_SLOW_TESTS=1 runs it for every file.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { planResume, MANIFEST } from '../../src/run/manifest.js';
import { deterministicPart, parseMetricsJsonl, parseRunEvents } from '../../src/run/records.js';
import { resumeRun, startRun } from '../../src/run/run.js';
import { RunDir, RunDirError } from '../../src/run/runDir.js';
import { refreshReport } from '../../src/report/live.js';
import { tinyConfig } from './tiny.js';

const root = mkdtempSync(path.join(tmpdir(), 'bstar-manifest-'));
after(() => rmSync(root, { recursive: true, force: true }));
const ref = path.join(root, 'ref');
const quiet = { log: () => {}, report: refreshReport };

function files(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel)).sort().flatMap((e) => {
    const r = rel ? `${rel}/${e}` : e;
    return statSync(path.join(dir, r)).isDirectory() ? files(dir, r) : [r];
  });
}

function final(dir: string) {
  const ck = path.join(dir, 'checkpoints', '1');
  return {
    weights: readFileSync(path.join(ck, 'model.safetensors')),
    optimizer: readFileSync(path.join(ck, 'training_state.safetensors')),
    state: readFileSync(path.join(ck, 'training_state.json'), 'utf8'),
    metrics: parseMetricsJsonl(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).map((r) => ({ ...deterministicPart(r), run: '' })),
    selected: readFileSync(path.join(dir, 'iterations/1/selected.jsonl'), 'utf8'),
    eval: readFileSync(path.join(dir, 'iterations/1/eval.json'), 'utf8'),
    summary: (JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Array<Record<string, unknown>>).map(({ seconds: _s, ...r }) => r),
    config: readFileSync(path.join(dir, 'config.yaml'), 'utf8'),
    report: readFileSync(path.join(dir, 'report.html'), 'utf8').length > 1000,
  };
}

function assertSameFinal(dir: string, what: string) {
  const got = final(dir);
  const want = final(ref);
  assert.ok(got.weights.equals(want.weights), `${what}: weights`);
  assert.ok(got.optimizer.equals(want.optimizer), `${what}: optimizer state`);
  assert.equal(got.state, want.state, what);
  assert.deepEqual(got.metrics, want.metrics, what);
  assert.equal(got.selected, want.selected, what);
  assert.equal(got.eval, want.eval, what);
  assert.deepEqual(got.summary, want.summary, what);
  assert.equal(got.config, want.config, what);
  assert.ok(got.report, `${what}: report.html rewritten`);
}

/** A copy of the reference run with one file cut to half its size. */
function damaged(name: string, file: string): string {
  const dir = path.join(root, name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(ref, dir, { recursive: true });
  truncateSync(path.join(dir, file), Math.floor(statSync(path.join(dir, file)).size / 2));
  return dir;
}

before(async () => {
  await startRun(tinyConfig(['method=bstar', 'iterations=1', 'selection.injectGold=true']), ref, quiet);
});

test('every checkpoint has a manifest covering the config, metrics, iterations and checkpoints 0 and i', () => {
  for (const i of [0, 1]) {
    const m = JSON.parse(readFileSync(path.join(ref, 'checkpoints', String(i), MANIFEST), 'utf8'));
    assert.equal(m.iteration, i);
    // every line up to the checkpoint: phase records and step records of iterations ≤ i
    const lines = readFileSync(path.join(ref, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { iteration: number });
    assert.equal(m.metrics.lines, lines.filter((r) => r.iteration <= i).length);
    assert.ok(lines.filter((r) => r.iteration <= i).length > parseMetricsJsonl(readFileSync(path.join(ref, 'metrics.jsonl'), 'utf8')).filter((r) => r.iteration <= i).length, 'step records are covered too');
    const covered = Object.keys(m.files);
    assert.ok(covered.includes('checkpoints/0/model.safetensors'));
    assert.ok(covered.includes(`checkpoints/${i}/training_state.json`));
    assert.ok(covered.includes('iterations/0/eval.json'));
    assert.equal(covered.includes('iterations/1/selected.jsonl'), i === 1);
    assert.ok(!covered.some((f) => f.endsWith(MANIFEST)));
  }
  const plan = planResume(RunDir.open(ref));
  assert.deepEqual([plan.checkpoint, plan.discard, plan.warnings, plan.restoreConfig], [1, [], [], false]);
});

test('any single file truncated: the resume plan names it and falls back, or the file is not needed', () => {
  const all = files(ref);
  assert.ok(all.length > 25, `${all.length} files`);
  for (const f of all) {
    const dir = damaged('plan', f);
    const plan = planResume(RunDir.open(dir));
    const text = plan.warnings.join('\n');
    if (f === 'report.html' || f === 'summary.json' || f === 'status.json' || f === 'checkpoints/0/manifest.json') {
      // Not part of the resume point (rewritten by the resume, or only needed to fall back to checkpoint 0).
      assert.deepEqual([plan.checkpoint, plan.warnings], [1, []], f);
    } else if (f === 'config.yaml') {
      assert.equal(plan.restoreConfig, true, f);
      assert.match(text, /config\.yaml is cut short/);
      assert.equal(plan.checkpoint, 1);
    } else {
      const want = f.startsWith('checkpoints/1/') || f.startsWith('iterations/1/') ? 0 : f === 'metrics.jsonl' ? plan.checkpoint : null;
      assert.equal(plan.checkpoint, want, `${f}: resume point`);
      assert.ok(plan.checkpoint === null || plan.checkpoint < 1, `${f}: fell back`);
      assert.ok(text.includes(f), `${f}: the warning names it: ${text}`);
      assert.ok(plan.discard.includes(1), `${f}: checkpoint 1 discarded`);
    }
  }
});

const REPRESENTATIVE = ['checkpoints/1/model.safetensors', 'iterations/0/eval.json', 'iterations/1/selected.jsonl', 'metrics.jsonl', 'config.yaml', 'report.html', 'summary.json'];

test('a truncated file, resumed: the same final state as the uninterrupted run; damaged copies kept in discarded/', async () => {
  const which = process.env.BSTAR_SLOW_TESTS ? files(ref) : REPRESENTATIVE;
  for (const f of which) {
    const dir = damaged(`full-${f.replace(/\//g, '_')}`, f);
    const lines: string[] = [];
    await resumeRun(dir, { log: (l) => lines.push(l), report: refreshReport });
    assertSameFinal(dir, f);
    const warned = lines.filter((l) => l.startsWith('warning:')).join('\n');
    if (!['report.html', 'summary.json', 'checkpoints/0/manifest.json'].includes(f)) {
      assert.ok(warned.includes(f), `${f}: warned: ${warned}`);
      assert.ok(existsSync(path.join(dir, 'discarded')), `${f}: discarded/ holds what was set aside`);
    }
    // Resuming again: everything verifies now.
    assert.deepEqual(planResume(RunDir.open(dir)).warnings, [], `${f}: clean after the resume`);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an edited config.yaml is refused (nothing changes); --allow-config-change accepts it and metrics.jsonl records it', async () => {
  const dir = path.join(root, 'edited');
  cpSync(ref, dir, { recursive: true });
  const cfg = path.join(dir, 'config.yaml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/^seed: 0$/m, 'seed: 8').replace(/^ {2}every: 1$/m, '  every: 2'));
  const before = files(dir).map((f) => [f, readFileSync(path.join(dir, f))] as const);
  await assert.rejects(resumeRun(dir, quiet), (e: Error) => e instanceof RunDirError && /config\.yaml: changed since checkpoint 1: eval\.every 1 → 2, seed 0 → 8;.*--allow-config-change eval\.every,seed/.test(e.message));
  assert.deepEqual(files(dir).map((f) => [f, readFileSync(path.join(dir, f))] as const), before, 'nothing was written');
  await assert.rejects(resumeRun(dir, { ...quiet, allowConfigChange: ['seed'] }), /eval\.every 1 → 2/);
  await assert.rejects(resumeRun(dir, { ...quiet, allowConfigChange: ['seed', 'eval.evry'] }), /--allow-config-change: eval\.evry is not a config key/);
  const lines: string[] = [];
  await resumeRun(dir, { log: (l) => lines.push(l), report: refreshReport, allowConfigChange: ['seed', 'eval'] });
  assert.ok(lines.some((l) => /config changed since checkpoint 1 \(allowed\): eval\.every 1 → 2, seed 0 → 8/.test(l)), lines.join('\n'));
  const events = parseRunEvents(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'));
  assert.deepEqual(events.map((e) => [e.event, e.iteration, e.changes]), [['config-change', 1, [{ key: 'eval.every', from: 1, to: 2 }, { key: 'seed', from: 0, to: 8 }]]]);
  // The phase records are unchanged and readable; the next resume takes the new config as the run's.
  assert.deepEqual(parseMetricsJsonl(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')).map((r) => ({ ...deterministicPart(r), run: '' })), final(ref).metrics);
});

test('a damaged (non-YAML) config.yaml is restored from the manifest; a run from before manifests resumes unverified', async () => {
  const dir = path.join(root, 'garbled');
  cpSync(ref, dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), 'seed: [unclosed\n');
  const plan = planResume(RunDir.open(dir));
  assert.equal(plan.restoreConfig, true);
  assert.match(plan.warnings.join('\n'), /config\.yaml is damaged/);
  await resumeRun(dir, quiet);
  assert.equal(readFileSync(path.join(dir, 'config.yaml'), 'utf8'), readFileSync(path.join(ref, 'config.yaml'), 'utf8'));
  const kept = readdirSync(path.join(dir, 'discarded'));
  assert.equal(readFileSync(path.join(dir, 'discarded', kept[0], 'config.yaml'), 'utf8'), 'seed: [unclosed\n');

  const legacy = path.join(root, 'legacy');
  cpSync(ref, legacy, { recursive: true });
  for (const i of [0, 1]) rmSync(path.join(legacy, 'checkpoints', String(i), MANIFEST));
  const lp = planResume(RunDir.open(legacy));
  assert.equal(lp.checkpoint, 1);
  assert.match(lp.warnings.join('\n'), /no checkpoint manifests \(made by an older bstar\)/);
});
