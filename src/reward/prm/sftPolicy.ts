// A small SFT policy for the PRM's end-to-end proof on a char-level task (arith): a tiny Llama
// trained from scratch on the gold solutions (loss on the solution + EOS), saved as an HF-layout
// checkpoint with its char tokenizer. (The self-improvement loop has its own SFT method; this one
// only makes the generator/completer the PRM annotation needs.)
import { saveCheckpoint } from '../../model/checkpoint.js';
import { tinyModelConfig } from '../../model/config.js';
import { LlamaModel } from '../../model/llama.js';
import { CharTokenizer } from '../../tokenizer/char.js';
import { microBatches, type Example } from '../../train/batch.js';
import { Trainer } from '../../train/trainer.js';
import { ARITH_ALPHABET } from '../../tasks/arith.js';
import type { Query, Task } from '../../tasks/types.js';
import { Rng, deriveSeed } from '../../util/rng.js';

export interface SftPolicyOptions {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  hidden: number;
  layers: number;
  maxSeq: number;
}

export function trainSftPolicy(task: Task, train: readonly Query[], out: string, o: SftPolicyOptions, log: (l: string) => void = console.log): void {
  const tok = new CharTokenizer(ARITH_ALPHABET);
  const cfg = tinyModelConfig(tok.vocabSize, {
    hidden_size: o.hidden, intermediate_size: 3 * o.hidden, num_hidden_layers: o.layers, num_attention_heads: 4, num_key_value_heads: 4,
    max_position_embeddings: o.maxSeq, bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId,
  });
  const model = new LlamaModel(cfg, { maxBatch: o.batch, maxSeq: o.maxSeq });
  model.initWeights(deriveSeed(o.seed, 'sft-policy', 'init'));
  const trainer = new Trainer(model, {
    lr: o.lr, betas: [0.9, 0.95], weight_decay: 0.1, schedule: 'cosine', warmup_steps: Math.floor(o.steps / 20), total_steps: o.steps, min_lr_ratio: 0.1, max_grad_norm: 1,
  });
  const exs: Example[] = train
    .map((q) => ({ prompt: tok.encode(task.formatPrompt(q), { addBos: true }), completion: [...tok.encode(task.goldSolution(q)), tok.eosId] }))
    .filter((e) => e.prompt.length + e.completion.length - 1 <= o.maxSeq);
  const rng = new Rng(deriveSeed(o.seed, 'sft-policy', 'data'));
  const bopts = { padId: tok.padId, vocabSize: cfg.vocab_size, maxSeq: o.maxSeq };
  const t0 = performance.now();
  let toks = 0;
  for (let s = 0; s < o.steps; s++) {
    const batch = Array.from({ length: o.batch }, () => exs[rng.int(exs.length)]);
    const mbs = microBatches(batch, o.batch, bopts);
    const r = trainer.step(mbs);
    toks += mbs.reduce((a, b) => a + b.B * b.T, 0);
    if ((s + 1) % 25 === 0 || s === o.steps - 1) {
      const sec = (performance.now() - t0) / 1000;
      log(`  step ${s + 1}/${o.steps}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${Math.round(toks / sec)} tokens/s  ${sec.toFixed(0)} s`);
    }
  }
  const weights = new Map<string, Float32Array>();
  for (const [n, v] of model.namedParams()) weights.set(n, Float32Array.from(v));
  saveCheckpoint(out, { config: cfg, weights, tokenizer: tok });
  log(`saved ${out}`);
}
