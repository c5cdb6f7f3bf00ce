// The built-in demo job (`bstar demo`, `npm start`) until the self-improvement loop exists: train the
// default tiny llama from scratch on generated two-digit additions ("37+45=082"), char-level, with
// the loss on the answer only, and show the loss falling, the throughput, and greedy answers on
// held-out problems. Everything is derived from one seed.
import type { Kernels } from '../engine/kernels.js';
import { getKernels } from '../engine/index.js';
import { tinyLlamaConfig, type LlamaConfig } from '../model/config.js';
import { LlamaModel } from '../model/llama.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { microBatches, type Example } from './batch.js';
import { Trainer } from './trainer.js';

// ----------------------------------------------------------------------------------------------
// a tiny char vocabulary (the real tokenizer lives elsewhere)

/** Id 0 is padding; the rest are the characters of the corpus. */
export const DEMO_CHARS = '0123456789+=\n';
export const DEMO_VOCAB = DEMO_CHARS.length + 1;

export function encodeChars(s: string): number[] {
  return [...s].map((ch) => {
    const i = DEMO_CHARS.indexOf(ch);
    if (i < 0) throw new RangeError(`demo vocabulary has no character ${JSON.stringify(ch)}`);
    return i + 1;
  });
}

export function decodeChars(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) s += ids[i] === 0 ? '∅' : DEMO_CHARS[ids[i] - 1];
  return s;
}

/** "a+b=" and the zero-padded 3-digit sum with a newline, a, b in [0, 100). */
export function additionProblem(rng: Rng): { prompt: string; answer: string } {
  const a = rng.int(100);
  const b = rng.int(100);
  const two = (x: number) => String(x).padStart(2, '0');
  return { prompt: `${two(a)}+${two(b)}=`, answer: `${String(a + b).padStart(3, '0')}\n` };
}

// ----------------------------------------------------------------------------------------------
// greedy decoding by full recomputation (prompts of equal length; fine for a few short lines)

export function greedyComplete(model: LlamaModel, prompts: number[][], maxNew: number): number[][] {
  const B = prompts.length;
  const P = prompts[0].length;
  if (prompts.some((p) => p.length !== P)) throw new RangeError('greedyComplete: prompts must have equal length');
  const T = P + maxNew - 1;
  const V = model.config.vocab_size;
  const tokens = new Int32Array(B * T);
  const out = prompts.map(() => [] as number[]);
  for (let i = 0; i < maxNew; i++) {
    const t = P + i; // tokens known so far per row
    for (let b = 0; b < B; b++) {
      const row = [...prompts[b], ...out[b]];
      for (let j = 0; j < t; j++) tokens[b * t + j] = row[j];
    }
    model.forward(tokens, null, null, B, t);
    const logits = model.logits();
    for (let b = 0; b < B; b++) {
      const o = (b * t + t - 1) * V;
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[o + v] > logits[o + best]) best = v;
      out[b].push(best);
    }
    void T;
  }
  return out;
}

// ----------------------------------------------------------------------------------------------

export interface DemoOptions {
  steps: number;
  /** Examples per optimizer step. */
  batch: number;
  lr: number;
  seed: number;
  /** Held-out problems answered greedily at the end. */
  evalProblems: number;
  config?: LlamaConfig;
  kernels?: Kernels;
  log?: (line: string) => void;
}

export interface DemoResult {
  losses: number[];
  tokensPerSecond: number;
  accuracy: number;
  seconds: number;
}

export function runDemo(opts: DemoOptions): DemoResult {
  const log = opts.log ?? ((l: string) => console.log(l));
  const kernels = opts.kernels ?? getKernels();
  const config = opts.config ?? tinyLlamaConfig(DEMO_VOCAB, { pad_token_id: 0, max_position_embeddings: 16 });
  const maxSeq = 12;
  const model = new LlamaModel(config, { maxBatch: Math.max(opts.batch, opts.evalProblems), maxSeq, kernels });
  model.initWeights(deriveSeed(opts.seed, 'demo', 'init'));
  const trainer = new Trainer(model, {
    lr: opts.lr, betas: [0.9, 0.95], weight_decay: 0.1, schedule: 'cosine',
    warmup_steps: Math.min(20, Math.floor(opts.steps / 10)), total_steps: opts.steps, min_lr_ratio: 0.1, max_grad_norm: 1,
  });
  const info = kernels.info();
  log(`bstar demo: training a llama (hidden ${config.hidden_size}, ${config.num_hidden_layers} layers, ${config.num_attention_heads} heads, ffn ${config.intermediate_size}, ${(model.numParams / 1e6).toFixed(2)}M params) to add two-digit numbers`);
  log(`  ${opts.steps} steps × ${opts.batch} problems, loss on the answer digits only; backend ${info.backend} (${info.isa}, ${info.threads} threads)`);

  const dataRng = new Rng(deriveSeed(opts.seed, 'demo', 'data'));
  const evalRng = new Rng(deriveSeed(opts.seed, 'demo', 'eval'));
  const heldOut = Array.from({ length: opts.evalProblems }, () => additionProblem(evalRng));
  const heldOutSet = new Set(heldOut.map((p) => p.prompt));
  const bopts = { padId: 0, vocabSize: config.vocab_size, maxSeq };

  const losses: number[] = [];
  let positions = 0;
  const t0 = performance.now();
  let lastT = t0;
  let lastPos = 0;
  const every = Math.max(1, Math.floor(opts.steps / 15));
  for (let s = 0; s < opts.steps; s++) {
    const exs: Example[] = [];
    while (exs.length < opts.batch) {
      const p = additionProblem(dataRng);
      if (heldOutSet.has(p.prompt)) continue;
      exs.push({ prompt: encodeChars(p.prompt), completion: encodeChars(p.answer) });
    }
    const mbs = microBatches(exs, opts.batch, bopts);
    const r = trainer.step(mbs);
    losses.push(r.loss);
    positions += mbs.reduce((a, b) => a + b.B * b.T, 0);
    if ((s + 1) % every === 0 || s === opts.steps - 1) {
      const now = performance.now();
      const tps = ((positions - lastPos) / (now - lastT)) * 1000;
      log(`  step ${String(s + 1).padStart(4)}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  grad-norm ${r.gradNorm.toFixed(2)}  ${Math.round(tps)} tokens/s`);
      lastT = now;
      lastPos = positions;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const tokensPerSecond = positions / seconds;

  const answers = greedyComplete(model, heldOut.map((p) => encodeChars(p.prompt)), 4);
  let correct = 0;
  answers.forEach((a, i) => {
    if (decodeChars(a) === heldOut[i].answer) correct++;
  });
  for (let i = 0; i < Math.min(5, heldOut.length); i++) {
    const got = decodeChars(answers[i]).split('\n')[0];
    log(`  ${heldOut[i].prompt}${got}  ${decodeChars(answers[i]) === heldOut[i].answer ? '✓' : `✗ (want ${heldOut[i].answer.trim()})`}`);
  }
  const accuracy = heldOut.length ? correct / heldOut.length : 0;
  log(`  greedy accuracy on ${heldOut.length} held-out problems: ${(100 * accuracy).toFixed(1)}%; loss ${losses[0].toFixed(3)} → ${losses[losses.length - 1].toFixed(3)}; ${Math.round(tokensPerSecond)} tokens/s over ${seconds.toFixed(1)} s`);
  return { losses, tokensPerSecond, accuracy, seconds };
}
