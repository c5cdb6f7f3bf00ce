// One model's training measurement in its own process (so its peak RSS is its own), for
// `npm run bench -- train --model <dir>`: loads the checkpoint straight into the model's parameter
// buffer, runs full fine-tuning steps (forward, backward, clipping, AdamW) on a random batch, and prints
// one JSON line: tokens/s (best and median step), peak RSS, and the memory plan.
// With BSTAR_PROFILE=1 every kernel call is timed (bench/profile.ts) and the timed steps' breakdown goes to
// stderr after a line "kernel profile" (the per-call timing adds a little to the step time).
//   node dist/bench/train_model.js <dir> <batch> <seq> <steps> <threads> <recompute 0|1> [fp32|bf16]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getKernels, type Precision } from '../src/engine/index.js';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { parseModelConfig } from '../src/model/config.js';
import { formatMemoryPlan, LlamaModel } from '../src/model/llama.js';
import { Trainer } from '../src/train/trainer.js';
import type { Batch } from '../src/train/batch.js';
import { Rng } from '../src/util/rng.js';
import { profileKernels } from './profile.js';

function main(): void {
  const [dir, b, t, s, th, rc, prec] = process.argv.slice(2);
  const precision = (prec ?? 'fp32') as Precision;
  if (precision !== 'fp32' && precision !== 'bf16') throw new Error(`train_model: precision must be fp32 or bf16, found ${prec}`);
  const [B, T, steps, threads] = [b, t, s, th].map(Number);
  const recompute = rc === '1';
  const cfgFile = path.join(dir, 'config.json');
  const cfg = parseModelConfig(JSON.parse(readFileSync(cfgFile, 'utf8')), cfgFile);
  const k = getKernels();
  k.setThreads(threads);
  const prof = process.env.BSTAR_PROFILE === '1' ? profileKernels(k) : null;
  const t0 = performance.now();
  const model = new LlamaModel(cfg, { maxBatch: B, maxSeq: T, kernels: prof?.kernels ?? k, recompute, precision });
  const plan = model.memoryPlan();
  console.error(formatMemoryPlan(plan, `${B} × ${T} rows`));
  loadCheckpoint(dir, { into: model.namedParams() as Map<string, Float32Array>, tokenizer: false, trainingState: false });
  const loadSeconds = (performance.now() - t0) / 1000;
  const trainer = new Trainer(model, { lr: 1e-4, maxGradNorm: 1 });
  const r = new Rng(2);
  const V = cfg.vocab_size;
  const batch: Batch = {
    B, T, inputs: new Int32Array(B * T).map(() => r.int(V)), targets: new Int32Array(B * T).map(() => r.int(V)),
    mask: new Float32Array(B * T).fill(1), tokens: B * T, real: B * T,
  };
  trainer.step([batch]); // warm-up: first touch of every buffer
  prof?.reset();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const s0 = performance.now();
    trainer.step([batch]);
    times.push((performance.now() - s0) / 1000);
  }
  const sorted = [...times].sort((x, y) => x - y);
  if (prof) console.error(`kernel profile (${precision}, ${steps} steps, ${threads} threads)\n${prof.report(times.reduce((x, y) => x + y, 0) * 1000)}`);
  console.log(JSON.stringify({
    params: model.numParams, kernels: k.info(), precision, loadSeconds, stepSeconds: times,
    tokensPerSecond: (B * T) / sorted[0], medianTokensPerSecond: (B * T) / sorted[Math.floor(sorted.length / 2)],
    peakRssBytes: process.resourceUsage().maxRSS * 1024, plan,
  }));
}

main();
