// The `bstar` program: every command registered, TRL-style flag names rewritten to bstar's before
// parsing (aliases.ts), an unknown option answered with a hint toward the bstar spelling, and every
// command's --help ending with a worked example (EXAMPLES). The entry point is main.ts.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { levenshtein, rewriteArgs, unknownOptionHint } from './aliases.js';
import { describeConfig } from '../run/configDoc.js';
import { getKernels } from '../engine/index.js';
import { register as registerData } from './data.js';
import { register as registerGenerate } from './generate.js';
import { register as registerDemo } from './demo.js';
import { register as registerExport } from './export.js';
import { register as registerRun } from './run.js';
import { register as registerServe } from './serve.js';
import { register as registerTrain } from './train.js';
import { register as registerEval } from './eval.js';
import { register as registerCompare } from './compare.js';
import { register as registerExperiment } from './experiment.js';
import { register as registerPrm } from './prm.js';
import { register as registerReport } from './report.js';

/** Every command's worked examples, by command path; --help ends with them (a test checks they parse). */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': ['bstar demo', 'bstar run --preset demo --method bstar --iterations 4 --report-to tensorboard', 'bstar report runs/<name> --serve'],
  info: ['bstar info'],
  data: ['bstar data check --task arith', 'bstar data show --task gsm8k -n 2'],
  generate: ['bstar generate --checkpoint runs/demo/checkpoints/4 --prompt "What is 12 + 7?" --n 4 --temperature 0.8 --max-new-tokens 48'],
  demo: ['bstar demo --set iterations=2'],
  run: [
    'bstar run --preset demo --method bstar --iterations 4 --set train.lr=5e-4 --report-to tensorboard',
    'bstar run --model_name_or_path runs/demo/checkpoints/0 --output_dir runs/x --learning_rate 1e-4   # TRL-style names',
    'bstar run --resume runs/x',
  ],
  eval: ['bstar eval runs/demo/checkpoints/4 --task arith --set eval.k=8'],
  compare: ['bstar compare runs/a runs/b'],
  experiment: ['bstar experiment --preset demo --methods online-rft,bstar --seeds 3 --share-sft'],
  report: ['bstar report runs/a --serve', 'bstar report runs/a runs/b --out comparison.html'],
  export: ['bstar export gguf runs/x/checkpoints/3 model.gguf --type f16'],
  'export gguf': ['bstar export gguf runs/x/checkpoints/3 model.gguf --type f16'],
  serve: [
    'bstar serve runs/demo/checkpoints/4 --port 8000',
    'curl -s http://127.0.0.1:8000/v1/completions -H "Content-Type: application/json" -d \'{"model": "bstar", "prompt": "What is 12 + 7?", "max_tokens": 32, "logprobs": 2}\'',
  ],
  train: [
    'bstar train --data sft.jsonl --init runs/demo/checkpoints/0 --out ckpt-sft --epochs 2 --lr 5e-4',
    'bstar train --model_name_or_path runs/demo/checkpoints/0 --dataset_name sft.jsonl --output_dir ckpt-sft --num_train_epochs 2   # TRL-style names',
  ],
  prm: ['bstar prm sft-policy --task arith --out prm-policy', 'bstar prm annotate --policy prm-policy --out ann.jsonl --limit 40', 'bstar prm train --annotations ann.jsonl --policy prm-policy --out prm', 'bstar prm eval --prm prm --annotations ann-val.jsonl'],
  'prm sft-policy': ['bstar prm sft-policy --task arith --steps 1500 --out prm-policy'],
  'prm annotate': ['bstar prm annotate --policy prm-policy --task arith --limit 40 --rollouts 8 --out ann.jsonl'],
  'prm train': ['bstar prm train --annotations ann.jsonl --policy prm-policy --out prm --epochs 3'],
  'prm eval': ['bstar prm eval --prm prm --annotations ann-val.jsonl --k 4,16'],
};

/** The commands of a program, depth first, with their paths ("prm train"). */
export function commandPaths(program: Command): { path: string; cmd: Command }[] {
  const out: { path: string; cmd: Command }[] = [];
  const walk = (c: Command, prefix: string) => {
    for (const sub of c.commands) {
      const p = prefix ? `${prefix} ${sub.name()}` : sub.name();
      out.push({ path: p, cmd: sub });
      walk(sub, p);
    }
  };
  walk(program, '');
  return out;
}

/** bstar's version (package.json). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Commands that take `--set key=value` (their unknown options may be config keys). */
const TAKES_SET = new Set(['run', 'demo', 'eval', 'experiment']);

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('bstar')
    .description('Self-taught reasoning with B-STaR')
    .version(`bstar ${version()}`, '-V, --version', 'print the version')
    .showSuggestionAfterError(false) // our own hint (unknownOptionHint) instead
    .exitOverride();

  program
    .command('info')
    .description('print the engine backend, instruction set and threads')
    .action(() => {
      const k = getKernels();
      console.log(JSON.stringify(k.info()));
    });
  registerData(program);
  registerGenerate(program);

  registerDemo(program);
  registerRun(program);
  registerEval(program);
  registerCompare(program);
  registerExperiment(program);
  registerReport(program);

  registerExport(program);

  registerServe(program);

  registerTrain(program);
  registerPrm(program);

  const longs = (c: Command) => c.options.map((o) => o.long).filter((x): x is string => !!x);
  for (const { path, cmd } of [{ path: '', cmd: program }, ...commandPaths(program)]) {
    const ex = EXAMPLES[path];
    if (ex && path !== 'data check' && path !== 'data show') cmd.addHelpText('after', `\nExample${ex.length > 1 ? 's' : ''}:\n${ex.map((l) => `  ${l}`).join('\n')}`);
    // an unknown option: one line naming the command, with the closest bstar spelling
    (cmd as unknown as { unknownOption: (flag: string) => void }).unknownOption = (flag: string) => {
      const keys = TAKES_SET.has(path) ? configKeyPaths() : undefined;
      const hint = unknownOptionHint(flag, { command: path, options: longs(cmd), configKeys: keys });
      cmd.error(`error: unknown option '${flag}' for 'bstar${path ? ` ${path}` : ''}'${hint ? `; ${hint}` : ` (bstar${path ? ` ${path}` : ''} --help lists the options)`}`, { code: 'commander.unknownOption' });
    };
  }
  for (const { path, cmd } of [{ path: '', cmd: program }, ...commandPaths(program)]) {
    if (cmd.commands.length === 0) continue;
    (cmd as unknown as { unknownCommand: () => void }).unknownCommand = () => {
      const name = cmd.args[0] ?? '';
      const names = cmd.commands.map((c) => c.name());
      const near = names.filter((n) => levenshtein(n, name) <= Math.max(2, Math.floor(n.length / 3)));
      cmd.error(`error: unknown command '${name}' for 'bstar${path ? ` ${path}` : ''}'${near.length ? `; did you mean ${near.join(' or ')}?` : ` (commands: ${names.join(', ')})`}`, { code: 'commander.unknownCommand' });
    };
  }
  return program;
}

/** The config's key paths (for hints), loaded only when an unknown option needs them. */
function configKeyPaths(): string[] {
  return describeConfig().map((k) => k.path);
}

/** argv with TRL-style names rewritten for the command it names (aliases.ts). */
export function rewriteArgv(program: Command, argv: readonly string[]): string[] {
  let cmd = program;
  let i = 0;
  const names: string[] = [];
  while (i < argv.length) {
    const sub = cmd.commands.find((c) => c.name() === argv[i]);
    if (!sub) break;
    cmd = sub;
    names.push(argv[i]);
    i++;
  }
  if (cmd === program) return [...argv];
  const path = names.join(' ');
  const known = cmd.options.map((o) => o.long).filter((x): x is string => !!x);
  return [...argv.slice(0, i), ...rewriteArgs(path, argv.slice(i), known)];
}

