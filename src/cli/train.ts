// `bstar train --data sft.jsonl --init <checkpoint> --out <checkpoint>`: supervised fine-tuning of a
// Llama checkpoint on a JSONL dataset of {"prompt", "completion"} lines (the format the external-trainer
// backend writes; loss on completion tokens + EOS only). A small, real trainer command for that backend
// and for users; it writes an HF checkpoint (optimizer state not kept: each call is one SFT run) in the
// init checkpoint's dtype unless --dtype says otherwise.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { TORCH_DTYPES, type TorchDtype } from '../model/config.js';
import { LocalBackend } from '../policy/local.js';
import { PolicyError, type TrainExample } from '../policy/types.js';
import { Rng } from '../util/rng.js';

export class TrainDataError extends Error {
  override readonly name = 'TrainDataError';
}

/** Reads SFT JSONL: {"prompt": str, "completion": str} per line (blank lines skipped); errors name file:line. */
export function readSftJsonl(file: string): TrainExample[] {
  const out: TrainExample[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw new TrainDataError(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const r = o as { prompt?: unknown; completion?: unknown };
    if (typeof r?.prompt !== 'string' || typeof r?.completion !== 'string') {
      throw new TrainDataError(`${file}:${i + 1}: expected {"prompt": string, "completion": string}, found ${line.slice(0, 80)}`);
    }
    out.push({ prompt: r.prompt, completion: r.completion });
  });
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
  lr: number;
  seed: number;
  maxSeq: number;
  /** Stored dtype of the written weights; 'auto' (default) = the init checkpoint's. */
  dtype?: 'auto' | TorchDtype;
}

/** SFT of checkpoint `init` on `data`, saved to `out`; returns the mean loss of the first and last epoch. */
export async function runSft(data: TrainExample[], init: string, out: string, o: SftOptions): Promise<{ steps: number; firstEpochLoss: number; lastEpochLoss: number }> {
  const ck = loadCheckpoint(init, { trainingState: false });
  if (!ck.tokenizer) throw new PolicyError(`${init}: no tokenizer.json; training needs the tokenizer files`);
  const config = ck.config;
  const backend = new LocalBackend({ config, tokenizer: ck.tokenizer, maxSeq: o.maxSeq, maxBatch: o.batch });
  // weights only: each SFT run starts a fresh optimizer, whatever the checkpoint's training state says
  for (const [name, view] of backend.model.namedParams()) {
    const w = ck.weights.get(name);
    if (!w || w.length !== view.length) throw new PolicyError(`${init}: tensor ${name} missing or of the wrong size`);
    view.set(w);
  }
  const stepsPerEpoch = Math.ceil(data.length / o.batch);
  await backend.configureOptimizer({
    lr: o.lr, minLr: o.lr / 10, schedule: 'cosine', warmupSteps: 0, totalSteps: stepsPerEpoch * o.epochs, beta1: 0.9, beta2: 0.95,
    eps: 1e-8, weightDecay: 0, maxGradNorm: 1, freeze: [], microBatch: o.batch,
  }, { reset: true });
  const rng = new Rng(o.seed);
  const epochLoss: number[] = [];
  let steps = 0;
  for (let e = 0; e < o.epochs; e++) {
    const order = data.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    let sum = 0;
    for (let s = 0; s < order.length; s += o.batch) {
      const r = await backend.train(order.slice(s, s + o.batch).map((i) => data[i]));
      sum += r.loss;
      steps++;
    }
    epochLoss.push(sum / stepsPerEpoch);
  }
  const dtype = o.dtype === undefined || o.dtype === 'auto' ? ck.config.torch_dtype : o.dtype;
  saveCheckpoint(out, {
    config, weights: backend.model.namedParams() as Map<string, Float32Array>, tokenizer: ck.tokenizer,
    trainingState: { tensors: new Map(), state: { sft: { data: data.length, ...o, dtype } } },
  }, { dtype });
  return { steps, firstEpochLoss: epochLoss[0], lastEpochLoss: epochLoss[epochLoss.length - 1] };
}

export function register(program: Command): void {
  program
    .command('train')
    .description('SFT of a checkpoint on {"prompt","completion"} JSONL, e.g. bstar train --data sft.jsonl --init ckpt --out ckpt2')
    .requiredOption('--data <file>', 'JSONL, one {"prompt": str, "completion": str} per line')
    .requiredOption('--init <dir>', 'checkpoint to start from (HF Llama layout with tokenizer files)')
    .requiredOption('--out <dir>', 'where to write the trained checkpoint (atomically)')
    .option('--epochs <int>', 'passes over the data', num('epochs', 1, true), 1)
    .option('--batch <int>', 'examples per optimizer step', num('batch', 1, true), 8)
    .option('--lr <x>', 'peak learning rate (cosine to lr/10)', num('lr', 0), 1e-3)
    .option('--seed <int>', 'shuffling seed', num('seed', 0, true), 0)
    .option('--max-seq <int>', 'longest prompt + completion in tokens', num('max-seq', 2, true), 512)
    .option('--dtype <t>', `stored dtype of the written weights: auto (the init checkpoint's) or one of ${TORCH_DTYPES.join(', ')}`, dtypeArg, 'auto')
    .action(async (o: { data: string; init: string; out: string; epochs: number; batch: number; lr: number; seed: number; maxSeq: number; dtype: 'auto' | TorchDtype }) => {
      const data = readSftJsonl(o.data);
      const r = await runSft(data, o.init, o.out, o);
      console.log(JSON.stringify({ out: o.out, examples: data.length, ...r }));
    });
}
