// `npm run bench -- padding [--hidden 256,192] [--steps 8] [--threads 2]`: training steps of 32 rows
// with the demo SFT's real length distribution (arith gold solutions, random token ids), split into
// micro-batches in order (every row padded to the step's longest) and by length (lengthSplit); prints
// ms/step, the padded share, and the ratio, both measured in this run, interleaved over two rounds.
import { getKernels } from '../src/engine/index.js';
import { tinyModelConfig } from '../src/model/config.js';
import { LlamaModel } from '../src/model/llama.js';
import { task } from '../src/tasks/arith.js';
import { microBatches, type Example, type MicroBatchSplit } from '../src/train/batch.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { arg } from './args.js';
import type { BenchOptions } from './main.js';

export async function run(o: BenchOptions): Promise<unknown> {
  const hiddens = (arg(o.args, '--hidden') ?? '256,192').split(',').map(Number);
  const nSteps = Number(arg(o.args, '--steps') ?? 8);
  const threads = Number(arg(o.args, '--threads') ?? 2);
  const k = getKernels();
  k.setThreads(threads);
  const V = 90;
  const rng = new Rng(1);
  const queries = task.load('train', { size: 2000 }) as Parameters<typeof task.formatPrompt>[0][];
  const rows = (n: number): Example[] =>
    Array.from({ length: n }, () => {
      const q = queries[rng.int(queries.length)];
      const ids = (len: number) => Array.from({ length: len }, () => 4 + rng.int(V - 4));
      return { prompt: ids(task.formatPrompt(q).length + 1), completion: ids(task.goldSolution(q).length + 1) };
    });
  const steps = Array.from({ length: nSteps }, () => rows(32));
  const opts = { padId: 0, vocabSize: V, maxSeq: 320 };
  const out: { hidden: number; threads: number; orderMs: number; lengthMs: number; orderPadding: number; lengthPadding: number; ratio: number }[] = [];
  for (const hidden of hiddens) {
    const model = new LlamaModel(tinyModelConfig(V, { hidden_size: hidden, intermediate_size: 3 * hidden }), { maxBatch: 32, maxSeq: 320 });
    model.initWeights(1);
    const tr = new Trainer(model, { lr: 1e-4, schedule: 'constant', totalSteps: 1_000_000, microBatch: 32 });
    const ms: Record<MicroBatchSplit, number[]> = { order: [], length: [] };
    const pad: Record<MicroBatchSplit, number> = { order: 0, length: 0 };
    for (let round = 0; round < 2; round++) {
      for (const split of ['order', 'length'] as const) {
        const t0 = performance.now();
        let positions = 0;
        let padded = 0;
        for (const st of steps) {
          const r = tr.step(microBatches(st, 32, opts, split));
          positions += r.positions;
          padded += r.padded;
        }
        ms[split].push((performance.now() - t0) / nSteps);
        pad[split] = padded / positions;
      }
    }
    const best = (a: number[]) => Math.min(...a);
    const row = { hidden, threads, orderMs: best(ms.order), lengthMs: best(ms.length), orderPadding: pad.order, lengthPadding: pad.length, ratio: best(ms.order) / best(ms.length) };
    out.push(row);
    if (!o.json) {
      console.log(`hidden ${hidden}, ${threads} thread(s), 32 rows/step: in order ${row.orderMs.toFixed(0)} ms/step (${(100 * row.orderPadding).toFixed(0)} % padding), by length ${row.lengthMs.toFixed(0)} ms/step (${(100 * row.lengthPadding).toFixed(0)} % padding): ${row.ratio.toFixed(2)}×`);
    }
  }
  return out;
}
