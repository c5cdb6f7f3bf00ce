// A TrainingBackend that trains elsewhere: the examples handed to train() are collected, and when the
// weights are next needed (the sampling side syncs, a checkpoint is saved, currentCheckpoint()) they
// are written as a standard SFT dataset — JSONL, one {"prompt", "completion"} per line, plus the sampled
// "prompt_ids" and "completion_ids" when the example carries them (`bstar train` trains on exactly
// those; a trainer that reads only the text tokenizes it itself) and token-level "targets" (a PRM's
// labels at its step tags, which `bstar train` trains as such) — and a user-configured command is
// run, e.g.
//
//   ["trl", "sft", "--model_name_or_path", "{init}", "--dataset_name", "{data}", "--output_dir", "{out}", ...]
//   ["bstar", "train", "--data", "{data}", "--init", "{init}", "--out", "{out}"]
//
// with {data}, {init} (the current checkpoint), {out} (a fresh directory), {examples}, {lr},
// {steps} substituted. The command must write an HF checkpoint to {out}; bstar validates it
// (config.json + weights load, tokenizer present) and it becomes the current checkpoint. A command
// that fails, times out or writes no valid checkpoint is a PolicyError naming the command, its exit
// status and the end of its output.
//
// Per-step losses are the external trainer's business: train() returns loss NaN (logged as null) and
// counts steps. Checkpoint directories are never modified after they are written, so snapshots are
// just the current directory plus the pending examples.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadCheckpoint } from '../model/checkpoint.js';
import {
  PolicyError, type OptimizerSpec, type OptimizerStatus, type PolicySnapshot, type TrainExample, type TrainingBackend, type TrainStepResult,
} from './types.js';

export interface ExternalTrainerOptions {
  /** argv of the trainer; placeholders {data} {init} {out} {examples} {lr} {steps}. */
  command: string[];
  /** The checkpoint training starts from. */
  init: string;
  /** Where datasets and checkpoints of each round go (<workDir>/round-<k>/{data.jsonl, checkpoint}). */
  workDir: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  log?: (line: string) => void;
}

interface ExternalSnapshot extends PolicySnapshot {
  readonly kind: 'external';
  current: string;
  pending: TrainExample[];
  step: number;
  spec: OptimizerSpec | null;
}

export class ExternalTrainer implements TrainingBackend {
  readonly name: string;
  private current: string;
  private pending: TrainExample[] = [];
  private pendingSteps = 0;
  private step = 0;
  private spec: OptimizerSpec | null = null;
  private round = 0;
  readonly rounds: { data: string; out: string; examples: number; ms: number }[] = [];

  constructor(private readonly o: ExternalTrainerOptions) {
    if (!Array.isArray(o.command) || o.command.length === 0 || !o.command.every((a) => typeof a === 'string')) {
      throw new PolicyError('external trainer: command: expected a non-empty argv list of strings');
    }
    if (!o.command.some((a) => a.includes('{out}'))) throw new PolicyError('external trainer: command must contain {out} (where the trainer writes the checkpoint)');
    if (!o.command.some((a) => a.includes('{data}'))) throw new PolicyError('external trainer: command must contain {data} (the SFT JSONL file)');
    this.name = `external:${path.basename(o.command[0])}`;
    validate(o.init, 'external trainer: init');
    this.current = o.init;
    // a resumed run continues the numbering: earlier rounds (one may be what the fleet serves) stay as they are
    if (existsSync(o.workDir)) {
      for (const f of readdirSync(o.workDir)) {
        const m = /^round-(\d+)$/.exec(f);
        if (m) this.round = Math.max(this.round, Number(m[1]));
      }
    }
  }

  async configureOptimizer(spec: OptimizerSpec, opts: { reset: boolean }): Promise<void> {
    if (opts.reset) this.step = 0;
    this.spec = { ...spec, freeze: [...spec.freeze] };
  }

  optimizerStatus(): OptimizerStatus | null {
    return this.spec ? { step: this.step, spec: this.spec } : null;
  }

  async train(batch: readonly TrainExample[]): Promise<TrainStepResult> {
    if (!this.spec) throw new PolicyError('external trainer: train() before configureOptimizer()');
    this.pending.push(...batch.map((e) => ({
      prompt: e.prompt, completion: e.completion,
      ...(e.promptIds && e.completionIds ? { promptIds: e.promptIds, completionIds: e.completionIds } : {}),
      ...(e.targets ? { targets: e.targets } : {}),
    })));
    this.pendingSteps++;
    this.step++;
    return { step: this.step, loss: NaN, gradNorm: NaN, lr: this.spec.lr, tokens: 0, positions: 0, padded: 0, weightMaxAbs: NaN, vocabSize: NaN };
  }

  async evalLoss(_batch: readonly TrainExample[]): Promise<number> {
    throw new PolicyError('external trainer: evalLoss is computed by the external trainer, not by bstar');
  }

  /** Runs the trainer on the pending examples (if any) and returns the checkpoint the weights now live in. */
  async currentCheckpoint(): Promise<string> {
    if (this.pending.length === 0) return this.current;
    const dir = path.join(this.o.workDir, `round-${++this.round}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const data = path.join(dir, 'data.jsonl');
    const out = path.join(dir, 'checkpoint');
    writeFileSync(data, this.pending.map((e) => JSON.stringify({
      prompt: e.prompt, completion: e.completion,
      ...(e.promptIds && e.completionIds ? { prompt_ids: e.promptIds, completion_ids: e.completionIds } : {}),
      ...(e.targets ? { targets: e.targets } : {}),
    })).join('\n') + '\n');
    const subst: Record<string, string> = {
      data, init: this.current, out, examples: String(this.pending.length), lr: String(this.spec?.lr ?? ''), steps: String(this.pendingSteps),
    };
    const argv = this.o.command.map((a) => a.replace(/\{(data|init|out|examples|lr|steps)\}/g, (_m, k: string) => subst[k]));
    const t0 = Date.now();
    this.o.log?.(`external trainer: ${argv.join(' ')}`);
    await run(argv, this.o.timeoutMs ?? 24 * 3600_000, this.o.env);
    validate(out, `external trainer: ${argv[0]} finished but its output`);
    this.rounds.push({ data, out, examples: this.pending.length, ms: Date.now() - t0 });
    this.current = out;
    this.pending = [];
    this.pendingSteps = 0;
    return out;
  }

  async save(dir: string, _state: unknown): Promise<void> {
    const src = await this.currentCheckpoint();
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(src, tmp, { recursive: true });
    writeFileSync(path.join(tmp, 'external_trainer.json'), JSON.stringify({ from: src, step: this.step, spec: this.spec, state: _state ?? null }, null, 2));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }

  /** Adopts a checkpoint; one written by save() also brings back its step, spec and the caller's state. */
  async load(dir: string): Promise<unknown> {
    validate(dir, 'external trainer: load');
    this.current = dir;
    this.pending = [];
    this.pendingSteps = 0;
    const meta = path.join(dir, 'external_trainer.json');
    if (!existsSync(meta)) return null;
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { step?: number; spec?: OptimizerSpec | null; state?: unknown };
    if (typeof m.step === 'number') this.step = m.step;
    if (m.spec) this.spec = m.spec;
    return m.state ?? null;
  }

  async snapshot(opts: { optimizer: boolean }): Promise<PolicySnapshot> {
    const s: ExternalSnapshot = { kind: 'external', withOptimizer: opts.optimizer, current: this.current, pending: [...this.pending], step: this.step, spec: this.spec };
    return s;
  }

  async restore(snap: PolicySnapshot): Promise<void> {
    const s = snap as ExternalSnapshot;
    if (s.kind !== 'external') throw new PolicyError('external trainer: snapshot from another backend');
    this.current = s.current;
    this.pending = [...s.pending];
    if (s.withOptimizer) {
      this.step = s.step;
      this.spec = s.spec;
    }
  }
}

function validate(dir: string, what: string): void {
  if (!existsSync(dir)) throw new PolicyError(`${what}: checkpoint ${dir} does not exist`);
  try {
    const ck = loadCheckpoint(dir, { trainingState: false });
    if (!ck.tokenizer) throw new PolicyError(`${dir}: no tokenizer.json`);
  } catch (e) {
    throw new PolicyError(`${what}: ${dir} is not a valid checkpoint: ${(e as Error).message}`);
  }
}

function run(argv: string[], timeoutMs: number, env?: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let tail = '';
    const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-2000));
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', (e) => {
      clearTimeout(timer);
      reject(new PolicyError(`external trainer: cannot run ${argv[0]}: ${e.message}`));
    });
    p.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new PolicyError(`external trainer: ${argv.join(' ')} ${signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, timeout ${timeoutMs} ms?` : ''})` : `exited with status ${code}`}; output ends: ${tail.trim().slice(-500)}`));
    });
  });
}
