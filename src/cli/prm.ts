// `bstar prm …`: the process reward model end to end.
//   bstar prm sft-policy --task arith --out runs/prm/sft --steps 1500          a small SFT policy (char models)
//   bstar prm annotate --task arith --policy runs/prm/sft --rollouts 8 --out runs/prm/train.jsonl
//   bstar prm train --annotations runs/prm/train.jsonl --policy runs/prm/sft --out runs/prm/prm
//   bstar prm eval --prm runs/prm/prm --annotations runs/prm/test.jsonl --k 4,16
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { keepStepRecord, RECORDS_VERSION, type StepRecord } from '../run/records.js';
import { commandOptimizer } from '../train/optimizer.js';
import { loadLocalPolicy } from '../policy/local.js';
import { getTask } from '../tasks/index.js';
import type { Split } from '../tasks/types.js';
import { readAnnotations } from '../reward/prm/annotation.js';
import { annotateToFile, policyCompleter } from '../reward/prm/annotate.js';
import { bestOfKTable, type Candidate } from '../reward/prm/evaluate.js';
import { TagPrm } from '../reward/prm/model.js';
import { checkPolicyVocab } from '../reward/prm/spec.js';
import { resolveStepSplit } from '../reward/prm/steps.js';
import { evaluateSteps, trainPrm } from '../reward/prm/train.js';
import { trainSftPolicy } from '../reward/prm/sftPolicy.js';
import type { CorruptionKind } from '../reward/prm/corrupt.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { optimizerFlags, optimizerOf, type OptimizerFlags } from './train.js';

function int(name: string, min = 0): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`--${name} expects an integer ≥ ${min}, found "${v}"`);
    return x;
  };
}
function num(name: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError(`--${name} expects a number, found "${v}"`);
    return x;
  };
}
function split(v: string): Split {
  if (v !== 'train' && v !== 'dev' && v !== 'test') throw new InvalidArgumentError(`--split expects train, dev or test, found "${v}"`);
  return v;
}
function corruptSpec(v: string): Partial<Record<CorruptionKind, number>> {
  const out: Partial<Record<CorruptionKind, number>> = {};
  for (const part of v.split(',').filter((p) => p)) {
    const [k, n] = part.split('=');
    if ((k !== 'slip' && k !== 'lucky') || !Number.isInteger(Number(n)) || Number(n) < 0) {
      throw new InvalidArgumentError(`--corrupt expects kind=count pairs over slip, lucky (e.g. slip=2,lucky=1), found "${part}"`);
    }
    out[k] = Number(n);
  }
  return out;
}
function kList(v: string): number[] {
  const ks = v.split(',').map(Number);
  if (ks.some((k) => !Number.isInteger(k) || k < 1)) throw new InvalidArgumentError(`--k expects positive integers separated by commas, found "${v}"`);
  return ks;
}

export function register(program: Command): void {
  const prm = program.command('prm').description('process reward model: annotate (MATH-Shepherd), train, evaluate');

  const sft = prm
    .command('sft-policy')
    .description('train a small char-level SFT policy on gold solutions (the generator/completer for annotation)')
    .requiredOption('--out <dir>', 'checkpoint directory to write')
    .option('--task <name>', 'task (char tokenizer over its alphabet; arith)', 'arith')
    .option('--steps <int>', 'optimizer steps', int('steps', 1), 1500)
    .option('--batch <int>', 'examples per step', int('batch', 1), 16)
    .option('--hidden <int>', 'hidden size (multiple of 4)', int('hidden', 4), 128)
    .option('--layers <int>', 'decoder layers', int('layers', 1), 4)
    .option('--seed <int>', 'seed', int('seed'), 1);
  optimizerFlags(sft, 'prm-sft-policy').action(async (o: { out: string; task: string; steps: number; batch: number; hidden: number; layers: number; seed: number } & OptimizerFlags) => {
    const task = getTask(o.task);
    const qs = await task.load('train');
    await trainSftPolicy(task, qs, o.out, {
      steps: o.steps, batch: o.batch, seed: o.seed, hidden: o.hidden, layers: o.layers, maxSeq: 256,
      optimizer: commandOptimizer('prm-sft-policy', o.steps, o.batch, optimizerOf(o)), divergence: { action: o.divergence },
    });
  });

  prm
    .command('annotate')
    .description('MATH-Shepherd step labels: sample solutions, roll out N completions from every step prefix, verify (appends; resumable)')
    .requiredOption('--policy <dir>', 'generator and completer checkpoint (HF layout with tokenizer)')
    .requiredOption('--out <file>', 'annotation JSONL (appended; queries already in it are skipped)')
    .option('--task <name>', 'task', 'arith')
    .option('--split <s>', 'train | dev | test', split, 'train')
    .option('--limit <int>', 'first n queries of the split', int('limit', 1))
    .option('--samples <int>', 'policy solutions per query', int('samples'), 4)
    .option('--temperature <T>', 'temperature of the solutions', num('temperature'), 1)
    .option('--rollouts <int>', 'completions per step prefix (N)', int('rollouts', 1), 8)
    .option('--rollout-temperature <T>', 'temperature of the rollouts', num('rollout-temperature'), 1)
    .option('--corrupt <spec>', 'corrupted gold solutions per query (arith): slip=n,lucky=m', corruptSpec, {})
    .option('--steps <mode>', 'step split: line | paragraph', 'line')
    .option('--max-new-tokens <int>', 'per completion', int('max-new-tokens', 1), 200)
    .option('--chunk <int>', 'queries per batched generate call (and per append)', int('chunk', 1), 8)
    .option('--seed <int>', 'seed', int('seed'), 0)
    .action(async (o: { policy: string; out: string; task: string; split: Split; limit?: number; samples: number; temperature: number; rollouts: number; rolloutTemperature: number; corrupt: Partial<Record<CorruptionKind, number>>; steps: string; maxNewTokens: number; chunk: number; seed: number }) => {
      const task = getTask(o.task);
      const queries = await task.load(o.split, o.limit ? { limit: o.limit } : {});
      const policy = loadLocalPolicy(o.policy, { maxBatch: 1, maxSeq: 2 });
      const gen = policyCompleter(policy, { seed: o.seed, maxNewTokens: o.maxNewTokens, stop: task.stop });
      const t0 = performance.now();
      const tty = process.stderr.isTTY;
      const r = await annotateToFile(task, queries, gen, gen, {
        split: resolveStepSplit(o.steps, '--steps'), samplesPerQuery: o.samples, temperature: o.temperature, rollouts: o.rollouts,
        rolloutTemperature: o.rolloutTemperature, corrupt: o.corrupt, seed: o.seed, out: o.out, chunk: o.chunk,
      }, (p) => {
        const rate = gen.tokens / p.seconds;
        const eta = (p.seconds / p.queriesDone) * (p.queriesTotal - p.queriesDone);
        const line = `annotate ${p.queriesDone}/${p.queriesTotal} queries  ${p.solutions} solutions  ${Math.round(rate)} tokens/s  ETA ${eta.toFixed(0)} s`;
        if (tty) process.stderr.write(`\r${line}`);
        else if (p.queriesDone === p.queriesTotal || p.queriesDone % (o.chunk * 10) === 0) console.error(line);
      });
      if (tty) process.stderr.write('\n');
      console.log(`wrote ${r.written} annotated solutions to ${o.out} (${r.skipped} queries already there); ${gen.tokens} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    });

  const train = prm
    .command('train')
    .description('train a step-tag PRM from annotations (loss only at step tags), starting from the policy checkpoint; <out>/metrics.jsonl gets its per-step records')
    .requiredOption('--annotations <file>', 'annotation JSONL (bstar prm annotate)')
    .requiredOption('--policy <dir>', 'checkpoint to start from (its tokenizer gains the step tag)')
    .requiredOption('--out <dir>', 'PRM checkpoint directory (HF layout + prm.json)')
    .option('--val <file>', 'validation annotations (default: the last --val-frac of the queries)')
    .option('--val-frac <x>', 'share of queries held out for validation when --val is absent', num('val-frac'), 0.1)
    .option('--epochs <int>', 'epochs', int('epochs', 1), 3)
    .option('--batch <int>', 'solutions per step', int('batch', 1), 16)
    .option('--labels <kind>', 'hard (any rollout correct) | soft (fraction correct)', 'hard')
    .option('--steps <mode>', 'step split recorded in prm.json: line | paragraph', 'line')
    .option('--task <name>', 'task recorded in prm.json', 'arith')
    .option('--seed <int>', 'seed', int('seed'), 0);
  optimizerFlags(train, 'prm-train').action(async (o: { annotations: string; policy: string; out: string; val?: string; valFrac: number; epochs: number; batch: number; labels: string; steps: string; task: string; seed: number } & OptimizerFlags) => {
      if (o.labels !== 'hard' && o.labels !== 'soft') throw new InvalidArgumentError(`--labels expects hard or soft, found "${o.labels}"`);
      const rows = readAnnotations(o.annotations);
      let train = rows;
      let val = o.val ? readAnnotations(o.val) : [];
      if (!o.val) {
        const ids = [...new Set(rows.map((r) => r.queryId))];
        const held = new Set(ids.slice(Math.floor(ids.length * (1 - o.valFrac))));
        train = rows.filter((r) => !held.has(r.queryId));
        val = rows.filter((r) => held.has(r.queryId));
      }
      const prmModel = TagPrm.fromPolicy(o.policy, { split: resolveStepSplit(o.steps, '--steps'), task: o.task, labels: o.labels, seed: o.seed, maxBatch: Math.max(2 * o.batch, 16) });
      console.log(`prm train: ${train.length} solutions (${train.reduce((a, r) => a + r.steps.length, 0)} steps), validation ${val.length}; labels ${o.labels}`);
      const before = await evaluateSteps(prmModel, val);
      console.log(`  before training: val acc ${before.accuracy.toFixed(3)}  AUC ${before.auc.toFixed(3)}`);
      const steps: StepRecord[] = [];
      const keep = { allUpTo: 10000, every: 10 };
      await trainPrm(prmModel, train, val, {
        epochs: o.epochs, batch: o.batch, labels: o.labels, seed: o.seed, divergence: { action: o.divergence },
        optimizer: (total, micro) => commandOptimizer('prm-train', total, micro, optimizerOf(o)),
        onStep: (s) => {
          if (!keepStepRecord(s.loopStep, keep)) return;
          const num = (x: number) => (Number.isFinite(x) ? x : null);
          steps.push({
            v: RECORDS_VERSION, kind: 'step', run: path.basename(path.resolve(o.out)), method: 'prm', seed: o.seed, iteration: 0, phase: 'prm', step: s.step, globalStep: s.loopStep,
            metrics: { 'step/loss': num(s.loss), 'step/lr': num(s.lr), 'step/grad-norm': num(s.gradNorm), 'step/tokens-per-second': Math.round(s.tokensPerSecond), 'step/padding': num(s.padding) },
          });
        },
      });
      await prmModel.save(o.out);
      writeFileSync(path.join(o.out, 'metrics.jsonl'), steps.map((s) => JSON.stringify(s) + '\n').join(''));
      console.log(`saved ${o.out} (per-step training records in ${path.join(o.out, 'metrics.jsonl')})`);
    });

  prm
    .command('eval')
    .description('step accuracy / AUC and Best-of-K (PRM vs majority vote vs random) on held-out annotations')
    .requiredOption('--prm <dir>', 'PRM checkpoint (bstar prm train)')
    .requiredOption('--annotations <file>', 'held-out annotation JSONL; its solutions per query are the Best-of-K pools')
    .option('--k <list>', 'K values', kList, [4, 16])
    .option('--policy <dir>', 'check that this policy\'s vocabulary is the PRM\'s base vocabulary')
    .option('--seed <int>', 'seed of the majority-vote subsets', int('seed'), 0)
    .option('--json', 'one JSON line')
    .action(async (o: { prm: string; annotations: string; k: number[]; policy?: string; seed: number; json?: boolean }) => {
      const prmModel = TagPrm.load(o.prm, { maxBatch: 32 });
      if (o.policy) checkPolicyVocab(prmModel.spec, loadTokenizer(o.policy), o.prm, o.policy);
      const task = getTask(prmModel.spec.task);
      const rows = readAnnotations(o.annotations);
      const ev = await evaluateSteps(prmModel, rows);
      const pools = new Map<string, Candidate[]>();
      rows.forEach((r, i) => {
        const c: Candidate = { answer: task.extractAnswer(r.steps.join(prmModel.spec.steps.separator)), correct: r.correct, prmMin: Math.min(...ev.scores[i]) };
        pools.set(r.queryId, [...(pools.get(r.queryId) ?? []), c]);
      });
      const table = bestOfKTable(pools, o.k, o.seed);
      const bySource = new Map<string, number>();
      for (const r of rows) bySource.set(r.source, (bySource.get(r.source) ?? 0) + 1);
      if (o.json) {
        console.log(JSON.stringify({ steps: ev.steps, accuracy: ev.accuracy, auc: ev.auc, truthAuc: ev.truthAuc, bestOfK: table, solutions: rows.length, sources: Object.fromEntries(bySource) }));
        return;
      }
      console.log(`${rows.length} solutions over ${pools.size} queries (${[...bySource].map(([s, n]) => `${s} ${n}`).join(', ')}), ${ev.steps} steps`);
      console.log(`step accuracy ${ev.accuracy.toFixed(3)}  step AUC ${ev.auc.toFixed(3)} (vs rollout labels)` + (ev.truthAuc !== undefined ? `  AUC vs known truth of corrupted solutions ${ev.truthAuc.toFixed(3)}` : ''));
      console.log('   K  queries  PRM best-of-K  majority vote  random  pass@K');
      for (const t of table) {
        console.log(`${String(t.k).padStart(4)}  ${String(t.queries).padStart(7)}  ${t.prm.toFixed(3).padStart(13)}  ${t.majority.toFixed(3).padStart(13)}  ${t.random.toFixed(3).padStart(6)}  ${t.passAtK.toFixed(3).padStart(6)}`);
      }
    });
}
