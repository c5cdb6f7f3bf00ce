// TRL-style flag names (Hugging Face TrainingArguments / TRL's scripts) accepted as aliases for what
// bstar has, and the hint an unknown option gets. Pure: argv in, argv out; the table is the
// documentation too (docs/running.md shows it).
//
//   bstar run --model_name_or_path DIR --output_dir runs/x --learning_rate 1e-4
//     = bstar run --set model.checkpoint=DIR --runs-dir runs --name x --set train.lr=1e-4
//
// Both spellings of a TRL name are accepted (`--learning_rate` and `--learning-rate`, as
// HfArgumentParser does), with the value after a space or `=`. Any other `--snake_case` option is
// read as the `--kebab-case` option of the same name when the command has one.
import path from 'node:path';

export class AliasError extends Error {
  override readonly name = 'AliasError';
}

/** One TRL flag: what it means for a bstar command (argv to splice in for its value), and the doc line. */
export interface TrlAlias {
  trl: string;
  /** bstar's spelling, for the docs and for unknown-option hints. */
  bstar: string;
  /** The bstar arguments for the value; a value-less use (`--resume_from_checkpoint`) gets null. */
  to: (value: string | null, all: ReadonlyMap<string, string | null>) => string[];
  /** The flag takes no value of its own (optional value). */
  optionalValue?: boolean;
}

const set = (key: string, v: string, quote = false) => ['--set', `${key}=${quote ? JSON.stringify(v) : v}`];
const need = (flag: string, v: string | null): string => {
  if (v === null || v.startsWith('--')) throw new AliasError(`--${flag} expects a value`);
  return v;
};

/** `bstar run`: TRL names → the run's options and config keys. */
export const RUN_ALIASES: readonly TrlAlias[] = [
  { trl: 'model_name_or_path', bstar: '--set model.checkpoint=DIR', to: (v) => set('model.checkpoint', need('model_name_or_path', v), true) },
  { trl: 'dataset_name', bstar: '--set task.file=PATH', to: (v) => set('task.file', need('dataset_name', v), true) },
  {
    trl: 'output_dir',
    bstar: '--runs-dir PARENT --name NAME (the run directory)',
    to: (v, all) => {
      const d = need('output_dir', v);
      if (all.has('resume_from_checkpoint')) return []; // the run directory to resume (below)
      return ['--runs-dir', path.dirname(d), '--name', path.basename(d)];
    },
  },
  { trl: 'config', bstar: 'the [config] argument', to: (v) => [need('config', v)] },
  { trl: 'learning_rate', bstar: '--set train.lr=X (self-training; SFT has sft.lr)', to: (v) => set('train.lr', need('learning_rate', v)) },
  { trl: 'per_device_train_batch_size', bstar: '--micro-batch N (train.batchSize = N × train.gradAccum)', to: (v) => ['--micro-batch', need('per_device_train_batch_size', v)] },
  { trl: 'gradient_accumulation_steps', bstar: '--set train.gradAccum=N', to: (v) => set('train.gradAccum', need('gradient_accumulation_steps', v)) },
  { trl: 'num_train_epochs', bstar: '--set train.epochsPerIteration=N --set train.stepsPerIteration=null (passes over each iteration\'s selection)', to: (v) => [...set('train.epochsPerIteration', need('num_train_epochs', v)), ...set('train.stepsPerIteration', 'null')] },
  { trl: 'seed', bstar: '--seed N', to: (v) => ['--seed', need('seed', v)] },
  { trl: 'report_to', bstar: '--report-to none|tensorboard', to: (v) => ['--report-to', need('report_to', v)] },
  {
    trl: 'resume_from_checkpoint',
    bstar: '--resume RUN_DIR (from its latest checkpoint)',
    optionalValue: true,
    to: (v, all) => {
      const out = all.get('output_dir') ?? null;
      if (v === null || v === 'true' || v === 'True') {
        if (out === null) throw new AliasError('--resume_from_checkpoint without a path needs --output_dir (the run directory to resume)');
        return ['--resume', out];
      }
      // a checkpoint inside a run directory (runs/x/checkpoints/3) stands for its run: bstar resumes from the latest
      const m = /^(.*?)[/\\]checkpoints[/\\]\d+[/\\]?$/.exec(v);
      return ['--resume', m ? m[1] || '.' : v];
    },
  },
];

/** `bstar train` (SFT of a checkpoint on JSONL): TRL names → its options. */
export const TRAIN_ALIASES: readonly TrlAlias[] = [
  { trl: 'model_name_or_path', bstar: '--init DIR', to: (v) => ['--init', need('model_name_or_path', v)] },
  { trl: 'dataset_name', bstar: '--data FILE', to: (v) => ['--data', need('dataset_name', v)] },
  { trl: 'output_dir', bstar: '--out DIR', to: (v) => ['--out', need('output_dir', v)] },
  { trl: 'learning_rate', bstar: '--lr X', to: (v) => ['--lr', need('learning_rate', v)] },
  {
    trl: 'per_device_train_batch_size',
    bstar: '--batch N×G (with --gradient_accumulation_steps G)',
    to: (v, all) => ['--batch', String(positive('per_device_train_batch_size', need('per_device_train_batch_size', v)) * positive('gradient_accumulation_steps', all.get('gradient_accumulation_steps') ?? '1'))],
  },
  { trl: 'gradient_accumulation_steps', bstar: '(folded into --batch)', to: (v, all) => (all.has('per_device_train_batch_size') ? [] : ['--batch', String(8 * positive('gradient_accumulation_steps', need('gradient_accumulation_steps', v)))]) },
  { trl: 'num_train_epochs', bstar: '--epochs N', to: (v) => ['--epochs', need('num_train_epochs', v)] },
  { trl: 'seed', bstar: '--seed N', to: (v) => ['--seed', need('seed', v)] },
];

function positive(flag: string, v: string): number {
  const x = Number(v);
  if (!Number.isSafeInteger(x) || x < 1) throw new AliasError(`--${flag} expects an integer ≥ 1, found "${v}"`);
  return x;
}

export const ALIASES: Readonly<Record<string, readonly TrlAlias[]>> = { run: RUN_ALIASES, train: TRAIN_ALIASES };

/** Every TRL flag name bstar knows, with where it applies (for unknown-option hints). */
export const ALL_TRL_NAMES: readonly string[] = [...new Set(Object.values(ALIASES).flatMap((as) => as.map((a) => a.trl)))];

const norm = (flag: string) => flag.replace(/^-+/, '').replace(/-/g, '_');

/**
 * Rewrites the TRL-style flags of `command`'s arguments (argv after the command name) into bstar's,
 * and `--snake_case` spellings of the command's own `--kebab-case` options. `known` lists the
 * command's long options (e.g. `--runs-dir`). Throws AliasError for a TRL flag without its value.
 */
export function rewriteArgs(command: string, args: readonly string[], known: readonly string[]): string[] {
  const table = ALIASES[command] ?? [];
  const byName = new Map(table.map((a) => [a.trl, a]));
  // first pass: which TRL flags are present, with their values (some mappings look at the others)
  const uses: { i: number; n: number; alias: TrlAlias; value: string | null }[] = [];
  const all = new Map<string, string | null>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    const name = norm(eq > 0 ? a.slice(0, eq) : a);
    const alias = byName.get(name);
    if (!alias) continue;
    let value: string | null;
    let n = 1;
    if (eq > 0) value = a.slice(eq + 1);
    else if (i + 1 < args.length && !(alias.optionalValue && args[i + 1].startsWith('--'))) {
      value = args[i + 1];
      n = 2;
    } else value = null;
    uses.push({ i, n, alias, value });
    all.set(name, value);
  }
  const out: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < args.length; ) {
    const u = uses.find((x) => x.i === i);
    if (u) {
      const to = u.alias.to(u.value, all);
      if (u.alias.trl === 'config') positional.push(...to);
      else out.push(...to);
      i += u.n;
      continue;
    }
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (a.startsWith('--') && a.includes('_')) {
      // --runs_dir → --runs-dir when the command has that option
      const eq = a.indexOf('=');
      const flag = eq > 0 ? a.slice(0, eq) : a;
      const kebab = flag.replace(/_/g, '-');
      if (known.includes(kebab)) {
        out.push(eq > 0 ? kebab + a.slice(eq) : kebab);
        i++;
        continue;
      }
    }
    out.push(a);
    i++;
  }
  return [...positional, ...out];
}

// ---------------------------------------------------------------------------------------------
// unknown options: a hint toward the bstar spelling

/** Edit distance with adjacent transpositions counted as one edit (optimal string alignment). */
export function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Flag names compared without case, dashes, underscores or dots. */
const squash = (s: string) => s.replace(/^-+/, '').replace(/[-_.]/g, '').toLowerCase();

export interface HintContext {
  /** The command's path, e.g. "run" or "prm train". */
  command: string;
  /** Its long options. */
  options: readonly string[];
  /** Config key paths, when the command takes `--set key=value`. */
  configKeys?: readonly string[];
}

/**
 * The hint for an unknown option: the closest of the command's options, of the TRL names it maps
 * (with their bstar meaning), of other commands' TRL names (with where they apply), and of config
 * keys (as `--set key=VALUE`). Null when nothing is close.
 * Example: unknownOptionHint('--learning_rat', {command: 'run', options: [...]}) → "did you mean --learning_rate (TRL; bstar: --set train.lr=X …)?"
 */
export function unknownOptionHint(flag: string, ctx: HintContext): string | null {
  const want = squash(flag.split('=')[0]);
  if (want.length === 0) return null;
  const limit = Math.max(1, Math.min(3, Math.floor(want.length / 4)));
  const cands: { d: number; text: string }[] = [];
  const consider = (name: string, text: string) => {
    const d = levenshtein(want, squash(name));
    if (d <= limit) cands.push({ d, text });
  };
  for (const o of ctx.options) consider(o, o);
  const mine = ALIASES[ctx.command] ?? [];
  for (const a of mine) consider(a.trl, `--${a.trl} (TRL name; bstar: ${a.bstar})`);
  for (const name of ALL_TRL_NAMES) {
    if (mine.some((m) => m.trl === name)) continue;
    const where = Object.entries(ALIASES).filter(([, as]) => as.some((a) => a.trl === name)).map(([cmd]) => `bstar ${cmd}`);
    consider(name, `--${name} (a TRL name ${where.join(' and ')} accept${where.length === 1 ? 's' : ''})`);
  }
  for (const k of ctx.configKeys ?? []) {
    consider(k, `--set ${k}=VALUE`);
    const leaf = k.split('.').at(-1)!;
    if (squash(leaf).length >= 4 || squash(leaf) === want) consider(leaf, `--set ${k}=VALUE`);
  }
  if (cands.length === 0) return null;
  cands.sort((a, b) => a.d - b.d);
  const best = [...new Set(cands.filter((c) => c.d === cands[0].d).map((c) => c.text))].slice(0, 3);
  return `did you mean ${best.join(' or ')}?`;
}
