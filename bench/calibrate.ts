// `npm run bench -- calibrate [options] [--json]`
// Calibration of the embedded arith task for the default tiny model (docs/calibration.md): SFT on a
// small gold set, then greedy Pass@1 (with a 90 % bootstrap CI) and Pass@K at temperature T on the
// test split, per difficulty level (number of steps), then a few rejection-sampling fine-tuning
// iterations in the Online-RFT style (same model and AdamW state; K samples per query on M new
// training queries; keep the correct ones, dedup by text; train a few passes), evaluating after each.
// It uses the library directly (task, CharTokenizer, Trainer, Sampler), not the run machinery, so it
// measures the task and the budgets alone. Every phase prints its time and tokens/s.
//
// Options (defaults in DEFAULTS below):
//   --task-json '{...}'     arith knobs for the test split and the RFT query pool
//   --gold-json '{...}'     arith knobs for the SFT gold set (default: same as --task-json)
//   --gold N                gold problems (train split)          --variants V   solution orders per gold problem (1 = gold only)
//   --sft-steps S --batch B --lr X --min-lr X --warmup W         SFT: cosine from lr to min-lr
//   --test N                greedy Pass@1 test problems          --test-k N     of them, how many get K samples
//   --k K --temp T          Pass@K samples and temperature        --max-new N    completion tokens
//   --rft-iters I --rft-m M --rft-k K --rft-temp T --rft-passes P (or --rft-steps S) --rft-lr X
//   --iter-test-k N         Pass@K queries in the evaluations between RFT iterations (default: --test-k)
//   --skip-first-eval       no evaluation before the RFT iterations (a --load model already measured)
//   --out FILE              write the figures as JSON
//   --threads N --seed S --save DIR (save the SFT model) --load DIR (skip SFT, start from DIR)
//   --probe-temps 0.5,0.8,1.1  Pass@K and unique correct samples per query on the RFT pool at each T
//   --dev-temps 0.6,0.9,1.2 --dev-size N --dev-k K --n-star n   B-STaR-style: before each RFT iteration,
//                           sample the fixed dev subset at each T, pick the T of the highest mean query
//                           effect (binary reward, τ = 0.5; ties: lower T) and sample the pool with it
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { getKernels } from '../src/engine/index.js';
import { bootstrapCI } from '../src/metrics/aggregate.js';
import { passAtK } from '../src/metrics/passAtK.js';
import { queryEffect } from '../src/metrics/queryEffect.js';
import { loadCheckpoint, saveCheckpoint } from '../src/model/checkpoint.js';
import { tinyModelConfig } from '../src/model/config.js';
import { LlamaModel } from '../src/model/llama.js';
import { Sampler, type Sample } from '../src/model/sampler.js';
import { ARITH_ALPHABET, solutionVariants, task } from '../src/tasks/arith.js';
import type { Query, Verdict } from '../src/tasks/types.js';
import { CharTokenizer } from '../src/tokenizer/index.js';
import { makeBatch, type Example } from '../src/train/batch.js';
import { Trainer } from '../src/train/trainer.js';
import { deriveSeed, Rng } from '../src/util/rng.js';
import type { BenchOptions } from './main.js';

const DEFAULTS = {
  task: {} as Record<string, unknown>,
  gold: null as Record<string, unknown> | null,
  goldN: 1000,
  variants: 1,
  sftSteps: 300,
  batch: 32,
  lr: 2e-3,
  minLr: 2e-4,
  warmup: 10,
  test: 500,
  testK: 200,
  k: 16,
  temp: 1.0,
  maxNew: 160,
  rftIters: 0,
  rftM: 200,
  rftK: 8,
  rftTemp: 1.0,
  rftPasses: 2,
  rftSteps: 0,
  iterTestK: -1,
  skipFirstEval: false,
  out: null as string | null,
  rftLr: 5e-4,
  threads: 2,
  seed: 0,
  save: null as string | null,
  load: null as string | null,
  probeTemps: [] as number[],
  devTemps: [] as number[],
  devSize: 32,
  devK: 8,
  nStar: 4,
};
type Opts = typeof DEFAULTS;

function parseArgs(args: string[]): Opts {
  const o: Opts = { ...DEFAULTS };
  const num = (name: string, v: string | undefined): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x)) throw new Error(`calibrate: ${name} expects a number, found ${JSON.stringify(v)}`);
    return x;
  };
  const map: Record<string, (v: string | undefined) => void> = {
    '--task-json': (v) => (o.task = JSON.parse(v ?? '{}') as Record<string, unknown>),
    '--gold-json': (v) => (o.gold = JSON.parse(v ?? '{}') as Record<string, unknown>),
    '--gold': (v) => (o.goldN = num('--gold', v)),
    '--variants': (v) => (o.variants = num('--variants', v)),
    '--sft-steps': (v) => (o.sftSteps = num('--sft-steps', v)),
    '--batch': (v) => (o.batch = num('--batch', v)),
    '--lr': (v) => (o.lr = num('--lr', v)),
    '--min-lr': (v) => (o.minLr = num('--min-lr', v)),
    '--warmup': (v) => (o.warmup = num('--warmup', v)),
    '--test': (v) => (o.test = num('--test', v)),
    '--test-k': (v) => (o.testK = num('--test-k', v)),
    '--k': (v) => (o.k = num('--k', v)),
    '--temp': (v) => (o.temp = num('--temp', v)),
    '--max-new': (v) => (o.maxNew = num('--max-new', v)),
    '--rft-iters': (v) => (o.rftIters = num('--rft-iters', v)),
    '--rft-m': (v) => (o.rftM = num('--rft-m', v)),
    '--rft-k': (v) => (o.rftK = num('--rft-k', v)),
    '--rft-temp': (v) => (o.rftTemp = num('--rft-temp', v)),
    '--rft-passes': (v) => (o.rftPasses = num('--rft-passes', v)),
    '--rft-steps': (v) => (o.rftSteps = num('--rft-steps', v)),
    '--iter-test-k': (v) => (o.iterTestK = num('--iter-test-k', v)),
    '--rft-lr': (v) => (o.rftLr = num('--rft-lr', v)),
    '--threads': (v) => (o.threads = num('--threads', v)),
    '--seed': (v) => (o.seed = num('--seed', v)),
    '--out': (v) => (o.out = v ?? null),
    '--save': (v) => (o.save = v ?? null),
    '--load': (v) => (o.load = v ?? null),
    '--dev-temps': (v) => (o.devTemps = (v ?? '').split(',').filter(Boolean).map((x) => num('--dev-temps', x))),
    '--dev-size': (v) => (o.devSize = num('--dev-size', v)),
    '--dev-k': (v) => (o.devK = num('--dev-k', v)),
    '--n-star': (v) => (o.nStar = num('--n-star', v)),
    '--probe-temps': (v) => (o.probeTemps = (v ?? '').split(',').filter(Boolean).map((x) => num('--probe-temps', x))),
  };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--skip-first-eval') {
      o.skipFirstEval = true;
      continue;
    }
    const f = map[args[i]];
    if (!f) throw new Error(`calibrate: unknown option ${args[i]} (known: ${Object.keys(map).join(' ')})`);
    f(args[++i]);
  }
  return o;
}

/** arith is synchronous (the Task contract allows promises for other tasks). */
const ok1 = (text: string, q: Query): boolean => (task.verify(text, q) as Verdict).correct;
const loadQ = (split: 'train' | 'test', opts: Record<string, unknown>): Query[] => task.load(split, opts) as Query[];

/** Every `<<a op b=c>>` of the text is true arithmetic and a `####` line is present (a correct answer not reached by luck). */
function cleanWork(text: string): boolean {
  if (!/####/.test(text)) return false;
  for (const m of text.matchAll(/<<([^<>]*)>>/g)) {
    const e = /^(\d+)([-+*/])(\d+)=(\d+)$/.exec(m[1]);
    if (!e) return false;
    const [a, b, c] = [Number(e[1]), Number(e[3]), Number(e[4])];
    const v = e[2] === '+' ? a + b : e[2] === '-' ? a - b : e[2] === '*' ? a * b : a / b;
    if (v !== c) return false;
  }
  return true;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

interface EvalResult {
  pass1: { mean: number; lo: number; hi: number; n: number };
  passK: number;
  passKn: number;
  byLevel: Record<string, { n: number; pass1: number; nK: number; passK: number }>;
  greedyTokens: number;
  sampleTokens: number;
  greedyS: number;
  sampleS: number;
}

/** Greedy Pass@1 on all test queries, Pass@K at temperature T on the first testK of them. */
function evaluate(sampler: Sampler, test: Query[], o: Opts, seed: number, log: (s: string) => void): EvalResult {
  let t0 = performance.now();
  const greedy = sampler.generate(test.map((q) => ({ id: q.id, prompt: task.formatPrompt(q) })), { seed, temperature: 0, maxNewTokens: o.maxNew });
  const greedyS = (performance.now() - t0) / 1000;
  const ok = greedy.samples.map((s, i) => (ok1(s[0].text, test[i]) ? 1 : 0));
  const kq = test.slice(0, o.testK);
  t0 = performance.now();
  const sampled = o.testK > 0
    ? sampler.generate(kq.map((q) => ({ id: q.id, prompt: task.formatPrompt(q) })), { seed, temperature: o.temp, maxNewTokens: o.maxNew, n: o.k })
    : { samples: [] as Sample[][], stats: { generatedTokens: 0 } };
  const sampleS = (performance.now() - t0) / 1000;
  const passK = sampled.samples.map((ss, i) => passAtK(ss.length, ss.filter((s) => ok1(s.text, kq[i])).length, o.k));
  const ci = bootstrapCI(ok, { seed: deriveSeed(seed, 'ci'), level: 0.9 })!;
  const byLevel: EvalResult['byLevel'] = {};
  test.forEach((q, i) => {
    const L = String(q.meta?.steps);
    const r = (byLevel[L] ??= { n: 0, pass1: 0, nK: 0, passK: 0 });
    r.n++;
    r.pass1 += ok[i];
    if (i < passK.length) r.nK++, (r.passK += passK[i]);
  });
  for (const r of Object.values(byLevel)) (r.pass1 /= r.n), (r.passK = r.nK ? r.passK / r.nK : NaN);
  const res: EvalResult = {
    pass1: { mean: ci.mean, lo: ci.lo, hi: ci.hi, n: test.length },
    passK: passK.length ? passK.reduce((a, b) => a + b, 0) / passK.length : NaN,
    passKn: passK.length,
    byLevel,
    greedyTokens: greedy.stats.generatedTokens,
    sampleTokens: sampled.stats.generatedTokens,
    greedyS,
    sampleS,
  };
  const levels = Object.keys(byLevel).sort().map((L) => `${L}-step ${pct(byLevel[L].pass1)}/${pct(byLevel[L].passK)}`).join('  ');
  log(`  Pass@1 ${pct(res.pass1.mean)} [${pct(res.pass1.lo)}, ${pct(res.pass1.hi)}] (n=${test.length})  Pass@${o.k} ${pct(res.passK)} (n=${passK.length}, T=${o.temp})`);
  log(`  per level (Pass@1/Pass@${o.k}): ${levels}`);
  log(`  greedy ${greedyS.toFixed(1)} s (${Math.round(res.greedyTokens / greedyS)} tok/s); sampling ${sampleS.toFixed(1)} s (${Math.round(res.sampleTokens / Math.max(sampleS, 1e-9))} tok/s)`);
  return res;
}

/** Trains `passes` epochs (or `steps` steps) over the examples in shuffled batches; returns timing. */
function trainOn(trainer: Trainer, exs: Example[], steps: number, batch: number, bopts: { padId: number; vocabSize: number; maxSeq: number }, rng: Rng, log: (s: string) => void, label: string) {
  const t0 = performance.now();
  let order: number[] = [];
  let tokens = 0;
  let positions = 0;
  let last = { loss: NaN, lr: NaN };
  const every = Math.max(1, Math.floor(steps / 6));
  for (let s = 0; s < steps; s++) {
    if (order.length < batch) order = order.concat(rng.shuffle(exs.map((_, i) => i)));
    const idx = order.splice(0, batch);
    const b = makeBatch(idx.map((i) => exs[i]), bopts);
    const r = trainer.step([b]);
    tokens += r.tokens;
    positions += b.B * b.T;
    last = { loss: r.loss, lr: r.lr };
    if ((s + 1) % every === 0 || s === steps - 1) {
      const el = (performance.now() - t0) / 1000;
      log(`  ${label} step ${s + 1}/${steps} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(2)}  ${Math.round(positions / el)} tok/s  ${el.toFixed(0)} s`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { steps, seconds, positions, tokensPerS: positions / seconds, completionTokens: tokens, finalLoss: last.loss };
}

export async function run(opts: BenchOptions): Promise<unknown> {
  const o = parseArgs(opts.args);
  const tStart = performance.now();
  const log = opts.json ? (_: string) => {} : (s: string) => console.log(s);
  const k = getKernels();
  k.setThreads(o.threads);
  const tok = new CharTokenizer(ARITH_ALPHABET);
  const maxSeq = 320;
  const cfg = tinyModelConfig(tok.vocabSize, { max_position_embeddings: maxSeq + 1, bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId });
  const model = new LlamaModel(cfg, { maxBatch: o.batch, maxSeq, kernels: k });
  const bopts = { padId: tok.padId, vocabSize: cfg.vocab_size, maxSeq };
  const goldKnobs = o.gold ?? o.task;
  const rftNeeded = o.rftIters * o.rftM + (o.probeTemps.length ? 200 : 0) + (o.devTemps.length ? o.devSize : 0);
  const gold = loadQ('train', { seed: o.seed, ...goldKnobs, size: o.goldN });
  const goldIds = new Set(gold.map((q) => q.id));
  const pool = rftNeeded > 0 ? loadQ('train', { seed: o.seed + 1, ...o.task, size: rftNeeded + o.goldN }).filter((q) => !goldIds.has(q.id)) : [];
  const test = loadQ('test', { seed: o.seed, ...o.task, size: o.test });
  const info = k.info();
  log(`calibrate: backend ${info.backend} (${info.isa}, ${info.threads} threads); ${(model.numParams / 1e6).toFixed(2)}M params, vocab ${cfg.vocab_size}`);
  log(`  task ${JSON.stringify(o.task)}; gold ${o.goldN} ${JSON.stringify(goldKnobs)} × ≤${o.variants} orders; test ${o.test} (K on ${o.testK})`);

  const encode = (q: Query, text: string): Example => ({ prompt: tok.encode(task.formatPrompt(q), { addBos: true }), completion: [...tok.encode(text), tok.eosId] });
  const result: Record<string, unknown> = { options: o, backend: info };
  const trainer = new Trainer(model, {
    lr: o.lr, betas: [0.9, 0.95], weight_decay: 0.0, schedule: 'cosine', warmup_steps: o.warmup, total_steps: o.sftSteps,
    min_lr_ratio: o.minLr / o.lr, max_grad_norm: 1,
  });
  if (o.load) {
    const ck = loadCheckpoint(o.load);
    for (const [name, w] of ck.weights) model.namedParams().get(name)!.set(w);
    const ts = ck.trainingState!;
    trainer.state.m.set(ts.tensors.get('adam.m')!);
    trainer.state.v.set(ts.tensors.get('adam.v')!);
    trainer.state.step = (ts.state as { step: number }).step;
    log(`  loaded SFT model from ${o.load} (step ${trainer.state.step})`);
  } else {
    model.initWeights(deriveSeed(o.seed, 'calibrate', 'init'));
    const exs = gold.flatMap((q) => (o.variants > 1 ? solutionVariants(q, { max: o.variants, seed: o.seed }) : [task.goldSolution(q)]).map((t) => encode(q, t)));
    log(`SFT: ${exs.length} examples (${gold.length} problems), ${o.sftSteps} steps × ${o.batch}, lr ${o.lr} → ${o.minLr}`);
    result.sft = { examples: exs.length, ...trainOn(trainer, exs, o.sftSteps, o.batch, bopts, new Rng(deriveSeed(o.seed, 'calibrate', 'sft')), log, 'sft') };
    if (o.save) {
      saveCheckpoint(o.save, {
        config: cfg, weights: model.namedParams() as Map<string, Float32Array>, tokenizer: tok,
        trainingState: { tensors: new Map([['adam.m', trainer.state.m as Float32Array], ['adam.v', trainer.state.v as Float32Array]]), state: { step: trainer.state.step } },
      });
      log(`  saved to ${o.save}`);
    }
  }
  const sampler = () => new Sampler(cfg, model.namedParams() as Map<string, Float32Array>, tok, { kernels: k, maxBatch: 256, kvBudgetTokens: 256 * (maxSeq + 1) });
  const evals: EvalResult[] = [];
  if (!o.skipFirstEval) {
    log('eval after SFT:');
    evals.push(evaluate(sampler(), test, o, o.seed, log));
  }

  if (o.probeTemps.length) {
    const probe = pool.slice(o.rftIters * o.rftM, o.rftIters * o.rftM + 200);
    const rows = [];
    for (const T of o.probeTemps) {
      const t0 = performance.now();
      const r = sampler().generate(probe.map((q) => ({ id: q.id, prompt: task.formatPrompt(q) })), { seed: o.seed, temperature: T, maxNewTokens: o.maxNew, n: o.rftK });
      const s = (performance.now() - t0) / 1000;
      const correct = r.samples.map((ss, i) => ss.filter((x) => ok1(x.text, probe[i])));
      const uniq = correct.map((c) => new Set(c.map((x) => x.text)).size);
      const uniqEq = correct.map((c) => new Set(c.map((x) => task.equations!(x.text).join(';'))).size);
      const row = { T, passK: correct.filter((c) => c.length > 0).length / probe.length, correctRate: correct.reduce((a, c) => a + c.length, 0) / (probe.length * o.rftK), uniqueCorrect: uniq.reduce((a, b) => a + b, 0) / probe.length, uniqueEq: uniqEq.reduce((a, b) => a + b, 0) / probe.length, seconds: s };
      rows.push(row);
      log(`  probe T=${T}: Pass@${o.rftK} ${pct(row.passK)}, correct ${pct(row.correctRate)}, unique correct/query ${row.uniqueCorrect.toFixed(2)} (by equations ${row.uniqueEq.toFixed(2)}), ${s.toFixed(0)} s`);
    }
    result.probe = rows;
  }

  const iters = [];
  if (o.rftIters > 0) {
    // Online RFT: same model and AdamW moments, a constant LR.
    const rft = new Trainer(model, { lr: o.rftLr, betas: [0.9, 0.95], schedule: 'constant', max_grad_norm: 1 });
    rft.state.m.set(trainer.state.m);
    rft.state.v.set(trainer.state.v);
    rft.state.step = trainer.state.step;
    for (let it = 0; it < o.rftIters; it++) {
      const qs = pool.slice(it * o.rftM, (it + 1) * o.rftM);
      let temp = o.rftTemp;
      let search: unknown = null;
      let t0 = performance.now();
      if (o.devTemps.length) {
        const dev = pool.slice(pool.length - o.devSize);
        const cells = o.devTemps.map((T) => {
          const r = sampler().generate(dev.map((q) => ({ id: q.id, prompt: task.formatPrompt(q) })), { seed: deriveSeed(o.seed, 'dev', it), temperature: T, maxNewTokens: o.maxNew, n: o.devK });
          const qe = r.samples.map((ss, i) => {
            const good = ss.filter((x) => ok1(x.text, dev[i]));
            return queryEffect(good.length, new Set(good.map((x) => x.text)).size, o.nStar);
          });
          return { T, qe: qe.reduce((a, b) => a + b, 0) / qe.length, tokens: r.stats.generatedTokens };
        });
        const best = cells.reduce((a, c) => (c.qe > a.qe ? c : a));
        temp = best.T;
        const devS = (performance.now() - t0) / 1000;
        const devTokens = cells.reduce((a, c) => a + c.tokens, 0);
        search = { cells, chosen: temp, seconds: devS, tokens: devTokens };
        log(`  dev search (${o.devSize} queries × K=${o.devK}): ${cells.map((c) => `T=${c.T} qe ${c.qe.toFixed(3)}`).join(', ')} → T=${temp}; ${devS.toFixed(1)} s (${Math.round(devTokens / devS)} tok/s)`);
      }
      log(`RFT iteration ${it + 1}: ${qs.length} queries × K=${o.rftK} at T=${temp}`);
      t0 = performance.now();
      const r = sampler().generate(qs.map((q) => ({ id: q.id, prompt: task.formatPrompt(q) })), { seed: deriveSeed(o.seed, 'rft', it), temperature: temp, maxNewTokens: o.maxNew, n: o.rftK });
      const sampleS = (performance.now() - t0) / 1000;
      const exs: Example[] = [];
      let correct = 0;
      let clean = 0;
      let solved = 0;
      r.samples.forEach((ss, i) => {
        const good = ss.filter((s) => ok1(s.text, qs[i]));
        correct += good.length;
        clean += good.filter((x) => cleanWork(x.text)).length;
        if (good.length) solved++;
        for (const text of new Set(good.map((s) => s.text))) exs.push(encode(qs[i], text));
      });
      const steps = o.rftSteps > 0 ? o.rftSteps : Math.max(1, Math.ceil((o.rftPasses * exs.length) / o.batch));
      log(`  sampled ${r.stats.generatedTokens} tokens in ${sampleS.toFixed(1)} s (${Math.round(r.stats.generatedTokens / sampleS)} tok/s); correct ${pct(correct / (qs.length * o.rftK))} (${pct(clean / Math.max(correct, 1))} of them with every equation true), solved ${pct(solved / qs.length)}, ${exs.length} unique correct → ${steps} steps`);
      t0 = performance.now();
      const tr = exs.length ? trainOn(rft, exs, steps, o.batch, bopts, new Rng(deriveSeed(o.seed, 'rft-train', it)), log, `rft${it + 1}`) : null;
      const last = it === o.rftIters - 1;
      const ev = evaluate(sampler(), test, last || o.iterTestK < 0 ? o : { ...o, testK: o.iterTestK }, o.seed, log);
      evals.push(ev);
      iters.push({ iteration: it + 1, temperature: temp, search, sampleS, sampleTokens: r.stats.generatedTokens, correctRate: correct / (qs.length * o.rftK), cleanShare: clean / Math.max(correct, 1), solved: solved / qs.length, selected: exs.length, train: tr, eval: ev });
    }
  }
  result.evals = evals;
  const totalS = (performance.now() - tStart) / 1000;
  result.totalS = totalS;
  log(`total ${totalS.toFixed(0)} s`);
  if (o.out) writeFileSync(o.out, JSON.stringify(result, null, 1));
  result.rft = iters;
  log(`summary: Pass@1 ${evals.map((e) => pct(e.pass1.mean)).join(' → ')}; Pass@${o.k} ${evals.map((e) => pct(e.passK)).join(' → ')}`);
  return result;
}
