// `bstar train --data sft.jsonl --init <checkpoint> --out <checkpoint>`: supervised fine-tuning of a
// Llama checkpoint on a JSONL dataset of {"prompt", "completion"} lines (the format the external-trainer
// backend writes; loss on completion tokens + EOS only). A small, real trainer command for that backend
// and for users; it writes an HF checkpoint (optimizer state not kept: each call is one SFT run) in the
// init checkpoint's dtype unless --dtype says otherwise.
import type { Command } from 'commander';
import { TORCH_DTYPES, type TorchDtype } from '../model/config.js';
import { formatMemoryPlan } from '../model/llama.js';
import { loadLocalPolicy } from '../policy/local.js';
import type { TrainExample } from '../policy/types.js';
import { DivergenceGuard, DIVERGENCE_DEFAULTS, type DivergenceSettings } from '../policy/divergence.js';
import { trainLoop } from '../policy/trainLoop.js';
import { JsonlError, readJsonlLines, type JsonlLine } from '../util/jsonl.js';
import { COMMAND_OPTIMIZERS, commandOptimizer, type CommandOptimizer, type TrainingCommand } from '../train/optimizer.js';

export class TrainDataError extends Error {
  override readonly name = 'TrainDataError';
}

/**
 * Reads SFT JSONL: {"prompt": str, "completion": str} per line, optionally with the sampled
 * "prompt_ids"/"completion_ids" (lists of token ids; then training uses exactly them) and token-level
 * "targets" [{at, token, weight}] (loss only there: a PRM's labels at its step tags); plain or .gz,
 * blank lines skipped (the one JSONL reader, util/jsonl.ts); errors name file:line.
 */
export function readSftJsonl(file: string): TrainExample[] {
  const out: TrainExample[] = [];
  let rows: JsonlLine[];
  try {
    rows = readJsonlLines(file).rows;
  } catch (e) {
    throw e instanceof JsonlError ? new TrainDataError(e.message) : e;
  }
  for (const { value, line, text } of rows) {
    const at = `${file}:${line}`;
    const r = value as { prompt?: unknown; completion?: unknown; prompt_ids?: unknown; completion_ids?: unknown; targets?: unknown };
    if (typeof r.prompt !== 'string' || typeof r.completion !== 'string') {
      throw new TrainDataError(`${at}: expected {"prompt": string, "completion": string}, found ${text.slice(0, 80)}`);
    }
    const ids = (field: 'prompt_ids' | 'completion_ids'): number[] | undefined => {
      const v = r[field];
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.length === 0 || !v.every((t) => Number.isInteger(t) && t >= 0)) {
        throw new TrainDataError(`${at}: "${field}" expected a non-empty list of token ids (integers ≥ 0), found ${JSON.stringify(v).slice(0, 80)}`);
      }
      return v as number[];
    };
    const promptIds = ids('prompt_ids');
    const completionIds = ids('completion_ids');
    if ((promptIds === undefined) !== (completionIds === undefined)) throw new TrainDataError(`${at}: "prompt_ids" and "completion_ids" go together (found only one)`);
    let targets: TrainExample['targets'];
    if (r.targets !== undefined) {
      const t = r.targets;
      const ok = Array.isArray(t) && t.length > 0 && completionIds !== undefined && t.every((g) => {
        const x = g as { at?: unknown; token?: unknown; weight?: unknown };
        return Number.isInteger(x?.at) && (x.at as number) >= 0 && (x.at as number) < completionIds.length && Number.isInteger(x.token) && (x.token as number) >= 0 && typeof x.weight === 'number' && x.weight > 0;
      });
      if (!ok) throw new TrainDataError(`${at}: "targets" expected a non-empty list of {at: index into completion_ids, token: id, weight: > 0} (and completion_ids), found ${JSON.stringify(t).slice(0, 80)}`);
      targets = t as TrainExample['targets'];
    }
    out.push({ prompt: r.prompt, completion: r.completion, ...(promptIds && completionIds ? { promptIds, completionIds } : {}), ...(targets ? { targets } : {}) });
  }
  if (out.length === 0) throw new TrainDataError(`${file}: no examples`);
  return out;
}

function num(name: string, min: number, int = false): (v: string) => number {
  return (v: string) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < min || (int && !Number.isInteger(x))) throw new TrainDataError(`--${name} expects ${int ? 'an integer' : 'a number'} ≥ ${min}, found "${v}"`);
    return x;
  };
}

function dtypeArg(v: string): 'auto' | TorchDtype {
  if (v === 'auto' || (TORCH_DTYPES as readonly string[]).includes(v)) return v as 'auto' | TorchDtype;
  throw new TrainDataError(`--dtype expects auto, ${TORCH_DTYPES.join(', ')}, found "${v}"`);
}

export interface SftOptions {
  epochs: number;
  batch: number;
  seed: number;
  maxSeq: number;
  /** Stored dtype of the written weights; 'auto' (default) = the init checkpoint's. */
  dtype?: 'auto' | TorchDtype;
  /** Optimizer settings over COMMAND_OPTIMIZERS.train (lr, minLrRatio, warmupFraction, betas, …). */
  optimizer?: Partial<CommandOptimizer>;
  /** The divergence guard (default: DIVERGENCE_DEFAULTS, stop). */
  divergence?: Partial<DivergenceSettings>;
  log?: (line: string) => void;
}

/**
 * SFT of checkpoint `init` on `data` through the one training loop (ceil(epochs × examples / batch)
 * steps over seeded shuffles), saved to `out` (weights and tokenizer; a fresh optimizer each call);
 * returns the mean loss of the first and the last epoch's steps. A diverging training stops before
 * anything is written.
 */
export async function runSft(data: TrainExample[], init: string, out: string, o: SftOptions): Promise<{ steps: number; firstEpochLoss: number; lastEpochLoss: number }> {
  const policy = loadLocalPolicy(init, { maxSeq: o.maxSeq, maxBatch: o.batch });
  const V = policy.backend.config.vocab_size;
  o.log?.(formatMemoryPlan(policy.backend.model.memoryPlan(), `batch ${o.batch} × ${policy.backend.model.maxSeq} tokens`));
  data.forEach((e, i) => {
    for (const [field, ids] of [['prompt_ids', e.promptIds], ['completion_ids', e.completionIds]] as const) {
      const bad = ids?.findIndex((t) => t >= V) ?? -1;
      if (bad >= 0) throw new TrainDataError(`--data example ${i + 1}: ${field}[${bad}] = ${ids![bad]} is outside the vocabulary [0, ${V}) of ${init}`);
    }
  });
  const stepsPerEpoch = Math.ceil(data.length / o.batch);
  const steps = stepsPerEpoch * o.epochs;
  const spec = commandOptimizer('train', steps, o.batch, o.optimizer);
  await policy.configureOptimizer(spec, { reset: true });
  const guard = new DivergenceGuard({ ...DIVERGENCE_DEFAULTS, ...o.divergence }, { where: 'bstar train', lrSetting: { name: '--lr', value: spec.lr }, warmupSteps: spec.warmupSteps, warnSetting: '--divergence warn' }, o.log);
  const losses: number[] = [];
  await trainLoop(policy, data, { steps, batchSize: o.batch, seed: o.seed, guard, onStep: (r) => void losses.push(r.loss) });
  const dtype = o.dtype === undefined || o.dtype === 'auto' ? policy.backend.config.torch_dtype : o.dtype;
  await policy.save(out, { sft: { data: data.length, epochs: o.epochs, batch: o.batch, seed: o.seed, dtype } }, { optimizer: false, dtype });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { steps, firstEpochLoss: mean(losses.slice(0, stepsPerEpoch)), lastEpochLoss: mean(losses.slice(-stepsPerEpoch)) };
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('SFT of a checkpoint on {"prompt","completion"} JSONL, e.g. bstar train --data sft.jsonl --init ckpt --out ckpt2')
    .requiredOption('--data <file>', 'JSONL, one {"prompt": str, "completion": str} per line')
    .requiredOption('--init <dir>', 'checkpoint to start from (HF Llama layout with tokenizer files)')
    .requiredOption('--out <dir>', 'where to write the trained checkpoint (atomically)')
    .option('--epochs <int>', 'passes over the data', num('epochs', 1, true), 1)
    .option('--batch <int>', 'examples per optimizer step', num('batch', 1, true), 8)
    .option('--seed <int>', 'shuffling seed', num('seed', 0, true), 0)
    .option('--max-seq <int>', 'longest prompt + completion in tokens', num('max-seq', 2, true), 512)
    .option('--dtype <t>', `stored dtype of the written weights: auto (the init checkpoint's) or one of ${TORCH_DTYPES.join(', ')}`, dtypeArg, 'auto');
  optimizerFlags(cmd, 'train');
  cmd.action(async (o: { data: string; init: string; out: string; epochs: number; batch: number; seed: number; maxSeq: number; dtype: 'auto' | TorchDtype } & OptimizerFlags) => {
    const data = readSftJsonl(o.data);
    const r = await runSft(data, o.init, o.out, { ...o, optimizer: optimizerOf(o), divergence: { action: o.divergence }, log: (l) => console.error(l) });
    console.log(JSON.stringify({ out: o.out, examples: data.length, ...r }));
  });
}

/** The optimizer flags of a training command, as parsed by commander. */
export interface OptimizerFlags {
  lr: number;
  minLrRatio: number;
  warmupFraction: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
  divergence: 'stop' | 'warn';
}

/** Adds --lr, --min-lr-ratio, --warmup-fraction, --beta1, --beta2, --eps, --weight-decay, --max-grad-norm, --divergence with the command's defaults (train/optimizer.ts COMMAND_OPTIMIZERS). */
export function optimizerFlags(cmd: Command, command: TrainingCommand): Command {
  const d = COMMAND_OPTIMIZERS[command];
  return cmd
    .option('--lr <x>', `peak learning rate (cosine to lr × --min-lr-ratio)`, num('lr', 0), d.lr)
    .option('--min-lr-ratio <x>', 'cosine floor as a fraction of --lr', num('min-lr-ratio', 0), d.minLrRatio)
    .option('--warmup-fraction <x>', 'share of the steps with a linear LR warm-up', num('warmup-fraction', 0), d.warmupFraction)
    .option('--beta1 <x>', 'AdamW β1', num('beta1', 0), d.beta1)
    .option('--beta2 <x>', 'AdamW β2', num('beta2', 0), d.beta2)
    .option('--eps <x>', 'AdamW ε', num('eps', 0), d.eps)
    .option('--weight-decay <x>', 'AdamW weight decay (matrices only)', num('weight-decay', 0), d.weightDecay)
    .option('--max-grad-norm <x>', 'global grad-norm clip', num('max-grad-norm', 0), d.maxGradNorm ?? 0)
    .option('--divergence <action>', 'on a diverging loss/gradient/weights: stop (nothing saved) or warn', (v: string) => {
      if (v !== 'stop' && v !== 'warn') throw new TrainDataError(`--divergence expects stop or warn, found "${v}"`);
      return v;
    }, DIVERGENCE_DEFAULTS.action);
}

/** The CommandOptimizer overrides of parsed optimizer flags. */
export function optimizerOf(o: OptimizerFlags): Partial<CommandOptimizer> {
  return { lr: o.lr, minLrRatio: o.minLrRatio, warmupFraction: o.warmupFraction, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, maxGradNorm: o.maxGradNorm > 0 ? o.maxGradNorm : null };
}
