// A small SFT policy for the PRM's end-to-end proof on a char-level task (arith): a tiny Llama trained
// from scratch on the gold solutions (loss on the solution + EOS) through the one training loop, saved
// as an HF-layout checkpoint with its char tokenizer. (The self-improvement loop has its own SFT phase;
// this one only makes the generator/completer the PRM annotation needs.) The optimizer comes from the
// caller (`bstar prm sft-policy`: COMMAND_OPTIMIZERS['prm-sft-policy'] with its flags).
import { freshLocalPolicy } from '../../policy/local.js';
import type { OptimizerSpec, TrainExample } from '../../policy/types.js';
import { ARITH_ALPHABET } from '../../tasks/arith.js';
import type { Query, Task } from '../../tasks/types.js';
import { CharTokenizer } from '../../tokenizer/char.js';
import { DivergenceGuard, DIVERGENCE_DEFAULTS, type DivergenceSettings } from '../../policy/divergence.js';
import { trainLoop } from '../../policy/trainLoop.js';
import { deriveSeed } from '../../util/rng.js';

export interface SftPolicyOptions {
  steps: number;
  batch: number;
  seed: number;
  hidden: number;
  layers: number;
  maxSeq: number;
  optimizer: OptimizerSpec;
  divergence?: Partial<DivergenceSettings>;
}

export async function trainSftPolicy(task: Task, train: readonly Query[], out: string, o: SftPolicyOptions, log: (l: string) => void = console.log): Promise<void> {
  const tok = new CharTokenizer(ARITH_ALPHABET);
  const policy = freshLocalPolicy(tok, {
    hidden_size: o.hidden, intermediate_size: 3 * o.hidden, num_hidden_layers: o.layers, num_attention_heads: 4, num_key_value_heads: 4,
    max_position_embeddings: o.maxSeq,
  }, { maxSeq: o.maxSeq, maxBatch: o.batch, initSeed: deriveSeed(o.seed, 'sft-policy', 'init') });
  // gold text encoded once here (the row must fit the context); training uses these ids
  const exs: TrainExample[] = train
    .map((q) => {
      const prompt = task.formatPrompt(q);
      const completion = task.goldSolution(q);
      return { prompt, completion, promptIds: tok.encode(prompt, { addBos: true }), completionIds: [...tok.encode(completion), tok.eosId] };
    })
    .filter((e) => e.promptIds.length + e.completionIds.length - 1 <= o.maxSeq);
  const spec = o.optimizer;
  await policy.configureOptimizer(spec, { reset: true });
  const guard = new DivergenceGuard({ ...DIVERGENCE_DEFAULTS, ...o.divergence }, { where: 'prm sft-policy', lrSetting: { name: '--lr', value: spec.lr }, warmupSteps: spec.warmupSteps, warnSetting: '--divergence warn' }, log);
  const t0 = performance.now();
  let toks = 0;
  await trainLoop(policy, exs, {
    steps: o.steps, batchSize: o.batch, seed: deriveSeed(o.seed, 'sft-policy', 'data'), guard,
    onStep: (r) => {
      toks += r.positions;
      if (r.loopStep % 25 === 0 || r.loopStep === o.steps) {
        const sec = (performance.now() - t0) / 1000;
        log(`  step ${r.loopStep}/${o.steps}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${Math.round(toks / sec)} tokens/s  ${sec.toFixed(0)} s`);
      }
    },
  });
  await policy.save(out, null, { optimizer: false });
  log(`saved ${out}`);
}
