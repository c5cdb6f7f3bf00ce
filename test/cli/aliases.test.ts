// TRL-style flag names (src/cli/aliases.ts), the unknown-option hint, --version and the worked
// example at the end of every command's --help (src/cli/program.ts); and the done-when command of
// issue 17: `bstar run --model_name_or_path DIR --output_dir runs/x --learning_rate 1e-4` runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { AliasError, rewriteArgs, unknownOptionHint } from '../../src/cli/aliases.js';
import { buildProgram, commandPaths, EXAMPLES, rewriteArgv } from '../../src/cli/program.js';
import { startRun } from '../../src/run/run.js';
import { TINY_OVERRIDES, tinyConfig } from '../run/tiny.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.join(here, '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'bstar-aliases-'));
after(() => rmSync(root, { recursive: true, force: true }));
const bstar = (argv: string[], cwd?: string) => spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', cwd, env: { ...process.env, CI: '1' } });

const RUN_OPTS = ['--preset', '--name', '--set', '--method', '--iterations', '--seed', '--resume', '--runs-dir', '--report-to', '--micro-batch', '--stop-after'];

test('bstar run: each TRL name becomes the bstar option or config key it stands for', () => {
  const r = (...a: string[]) => rewriteArgs('run', a, RUN_OPTS);
  assert.deepEqual(r('--model_name_or_path', 'ck/0'), ['--set', 'model.checkpoint="ck/0"']);
  assert.deepEqual(r('--dataset_name', 'my.jsonl'), ['--set', 'task.file="my.jsonl"']);
  assert.deepEqual(r('--output_dir', 'runs/x'), ['--runs-dir', 'runs', '--name', 'x']);
  assert.deepEqual(r('--output_dir', 'x'), ['--runs-dir', '.', '--name', 'x']);
  assert.deepEqual(r('--set', 'iterations=2', '--config', 'c.yaml'), ['c.yaml', '--set', 'iterations=2']);
  assert.deepEqual(r('--learning_rate', '1e-4'), ['--set', 'train.lr=1e-4']);
  assert.deepEqual(r('--per_device_train_batch_size', '4'), ['--micro-batch', '4']);
  assert.deepEqual(r('--gradient_accumulation_steps', '2'), ['--set', 'train.gradAccum=2']);
  assert.deepEqual(r('--num_train_epochs', '2'), ['--set', 'train.epochsPerIteration=2', '--set', 'train.stepsPerIteration=null']);
  assert.deepEqual(r('--seed', '3'), ['--seed', '3']);
  assert.deepEqual(r('--report_to', 'tensorboard'), ['--report-to', 'tensorboard']);
  // HfArgumentParser's other spelling and the --flag=value form
  assert.deepEqual(r('--learning-rate=1e-4', '--report-to=none'), ['--set', 'train.lr=1e-4', '--report-to', 'none']);
  // resume: a run directory, a checkpoint in one (bstar resumes from the latest), or bare with --output_dir
  assert.deepEqual(r('--resume_from_checkpoint', 'runs/x'), ['--resume', 'runs/x']);
  assert.deepEqual(r('--resume_from_checkpoint', 'runs/x/checkpoints/3'), ['--resume', 'runs/x']);
  assert.deepEqual(r('--output_dir', 'runs/x', '--resume_from_checkpoint'), ['--resume', 'runs/x']);
  assert.deepEqual(r('--resume_from_checkpoint', '--output_dir', 'runs/x'), ['--resume', 'runs/x']);
  assert.throws(() => r('--resume_from_checkpoint'), (e: Error) => e instanceof AliasError && /needs --output_dir/.test(e.message));
  assert.throws(() => r('--learning_rate'), (e: Error) => e instanceof AliasError && e.message === '--learning_rate expects a value');
  // the command's own options in snake_case; anything else is left for the parser to refuse
  assert.deepEqual(r('--runs_dir', 'out', '--stop_after=1', '--no_such', 'x'), ['--runs-dir', 'out', '--stop-after=1', '--no_such', 'x']);
  // after "--" nothing is rewritten
  assert.deepEqual(r('--', '--learning_rate', '1'), ['--', '--learning_rate', '1']);
});

test('bstar train: TRL names map to its options; the batch is per device × accumulation steps', () => {
  const r = (...a: string[]) => rewriteArgs('train', a, ['--data', '--init', '--out', '--epochs', '--batch', '--lr', '--seed', '--max-seq']);
  assert.deepEqual(r('--model_name_or_path', 'a', '--dataset_name', 'd.jsonl', '--output_dir', 'b', '--learning_rate', '1e-3', '--num_train_epochs', '2', '--seed', '1'), ['--init', 'a', '--data', 'd.jsonl', '--out', 'b', '--lr', '1e-3', '--epochs', '2', '--seed', '1']);
  assert.deepEqual(r('--per_device_train_batch_size', '4', '--gradient_accumulation_steps', '3'), ['--batch', '12']);
  assert.deepEqual(r('--gradient_accumulation_steps', '3', '--per_device_train_batch_size', '4'), ['--batch', '12']);
  assert.deepEqual(r('--max_seq', '128'), ['--max-seq', '128']);
  assert.throws(() => r('--per_device_train_batch_size', '0'), /--per_device_train_batch_size expects an integer ≥ 1, found "0"/);
});

test('an unknown option gets the closest bstar spelling: an option, a TRL name, or a config key', () => {
  const ctx = { command: 'run', options: RUN_OPTS, configKeys: ['train.lr', 'train.batchSize', 'sft.batchSize', 'eval.k', 'reportTo'] };
  assert.equal(unknownOptionHint('--learning_rat', ctx), 'did you mean --learning_rate (TRL name; bstar: --set train.lr=X (self-training; SFT has sft.lr))?');
  assert.equal(unknownOptionHint('--lr', ctx), 'did you mean --set train.lr=VALUE?');
  assert.equal(unknownOptionHint('--batch-size', ctx), 'did you mean --set train.batchSize=VALUE or --set sft.batchSize=VALUE?');
  assert.equal(unknownOptionHint('--runs-dri', ctx), 'did you mean --runs-dir?');
  assert.equal(unknownOptionHint('--reportto', ctx), 'did you mean --report-to or --report_to (TRL name; bstar: --report-to none|tensorboard) or --set reportTo=VALUE?');
  assert.equal(unknownOptionHint('--zzzzzzzz', ctx), null);
  // a TRL name that another command takes
  assert.equal(unknownOptionHint('--output_dir', { command: 'generate', options: ['--checkpoint'] }), 'did you mean --output_dir (a TRL name bstar run and bstar train accept)?');
});

test('the CLI: unknown options and commands are one line with a hint, exit 1; --version prints the package version', () => {
  const a = bstar(['run', '--learning_rat', '1e-4']);
  assert.equal(a.status, 1);
  assert.equal(a.stderr, "error: unknown option '--learning_rat' for 'bstar run'; did you mean --learning_rate (TRL name; bstar: --set train.lr=X (self-training; SFT has sft.lr))?\n");
  const b = bstar(['serve', 'ck', '--max-tokenz', '5']);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /^error: unknown option '--max-tokenz' for 'bstar serve'; did you mean --max-tokens\?\n$/);
  const c = bstar(['prm', 'trian']);
  assert.equal(c.stderr, "error: unknown command 'trian' for 'bstar prm'; did you mean train?\n");
  const pkg = JSON.parse(readFileSync(path.join(here, '../../../package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const v = bstar([flag]);
    assert.equal(v.status, 0);
    assert.equal(v.stdout, `bstar ${pkg.version}\n`);
  }
});

/** Shell-like words of an example line (quotes grouped, a trailing `# comment` dropped). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(#.*$)|(\S+)/g;
  for (const m of line.matchAll(re)) {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2] ?? m[4]);
  }
  return out;
}

test('every command\'s --help ends with a worked example that names it and uses only its options', () => {
  const program = buildProgram();
  const paths = commandPaths(program);
  assert.ok(paths.length >= 19, `${paths.length} commands`);
  for (const { path: p } of [{ path: '' }, ...paths]) {
    const r = bstar([...(p ? p.split(' ') : []), '--help']);
    assert.equal(r.status, 0, `${p} --help`);
    const m = /\nExamples?:\n((?: {2}.+\n)+)\n?$/.exec(r.stdout);
    assert.ok(m, `bstar ${p} --help ends with an example:\n${r.stdout.slice(-300)}`);
    const lines = m[1].split('\n').filter((l) => l.trim()).map((l) => l.trim());
    for (const line of lines.filter((l) => l.startsWith('bstar '))) {
      const argv = rewriteArgv(program, words(line).slice(1));
      // the command the example runs, and its options
      let cmd = program;
      let i = 0;
      for (; i < argv.length; i++) {
        const sub = cmd.commands.find((c) => c.name() === argv[i]);
        if (!sub) break;
        cmd = sub;
      }
      const named = argv.slice(0, i).join(' ');
      // a command's example runs it; a group's (data, prm, export) runs one of its subcommands
      if (p !== '') assert.ok(named === p || named.startsWith(`${p} `), `example of ${p}: ${line}`);
      assert.equal(cmd.commands.length, 0, `example "${line}" runs a command, not a group`);
      const flags = argv.slice(i).filter((w) => /^--?[a-zA-Z]/.test(w)).map((w) => w.split('=')[0]);
      const known = cmd.options.flatMap((o) => [o.long, o.short]).filter(Boolean);
      for (const f of flags) assert.ok(known.includes(f), `example "${line}": ${f} is not an option of bstar ${named}`);
      for (const o of cmd.options.filter((x) => x.mandatory)) assert.ok(flags.includes(o.long!), `example "${line}" lacks the required ${o.long}`);
    }
  }
  assert.ok(Object.keys(EXAMPLES).length >= 18);
});

test('bstar run --model_name_or_path DIR --output_dir runs/x --learning_rate 1e-4 (TRL names) runs', { timeout: 300_000 }, async () => {
  // a starting checkpoint: iteration 0 of a tiny run
  const base = path.join(root, 'base');
  await startRun(tinyConfig(['method=sft', 'iterations=1']), base, { log: () => {} });
  const ck = path.join(base, 'checkpoints', '0');
  const r = bstar([
    'run', '--model_name_or_path', ck, '--output_dir', 'runs/x', '--learning_rate', '1e-4',
    '--per_device_train_batch_size', '2', '--gradient_accumulation_steps', '2', '--report_to', 'tensorboard', '--seed', '5',
    '--method', 'star', '--iterations', '1', ...TINY_OVERRIDES.filter((o) => !o.startsWith('model.')).flatMap((o) => ['--set', o]),
  ], root);
  assert.equal(r.status, 0, r.stderr);
  const dir = path.join(root, 'runs', 'x');
  assert.ok(existsSync(path.join(dir, 'summary.json')), 'the run finished');
  const c = parseYaml(readFileSync(path.join(dir, 'config.yaml'), 'utf8')) as { model: { checkpoint: string }; train: { lr: number; batchSize: number; gradAccum: number }; reportTo: string; seed: number };
  assert.equal(c.model.checkpoint, ck);
  assert.equal(c.train.lr, 1e-4);
  assert.deepEqual([c.train.batchSize, c.train.gradAccum], [4, 2]);
  assert.equal(c.reportTo, 'tensorboard');
  assert.equal(c.seed, 5);
  assert.equal(readdirSync(path.join(dir, 'tensorboard')).filter((f) => f.startsWith('events.out.tfevents.')).length, 1);
});
