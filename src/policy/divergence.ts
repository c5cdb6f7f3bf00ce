// Divergence detection for the one training loop: after every optimizer step the guard looks at the
// step's loss, gradient norm and weights, and stops the training (DivergenceError, the default) or warns
// (`action: 'warn'`) when
//   loss jump      the loss exceeds lossJump × the running mean of this training's earlier losses (an
//                  EMA, β 0.9) and that mean + 1 nat: a model suddenly far worse than a step before;
//   uniform loss   after the LR warm-up, the loss stays within 1 % of ln V (the loss of a uniform guess
//                  over the vocabulary) for uniformSteps steps in a row: the model has stopped telling
//                  tokens apart (saturated activations, as with sft.lr = 1e6);
//   zero gradient  the gradient norm is exactly 0 for zeroGradSteps steps in a row: nothing can learn;
//   weight bound   a trained weight's magnitude exceeds maxWeight (real checkpoints stay far below).
// Its message says what happened, where, and the setting that most likely caused it (the phase's LR,
// e.g. `sft.lr = 1000000`), so a run never goes on to write a collapsed checkpoint without a word.
// A NaN/Inf loss or gradient is caught earlier, by the trainer (NonFiniteError), before any update.
import type { StepResult } from '../train/trainer.js';

export interface DivergenceSettings {
  /** 'stop': end the training with a DivergenceError (nothing more is trained or saved); 'warn': log each finding once and go on. */
  action: 'stop' | 'warn';
  /** Loss jump factor over the running mean of the earlier losses. */
  lossJump: number;
  /** Steps in a row at ln V (after warm-up) that count as a collapse. */
  uniformSteps: number;
  /** Steps in a row with a zero gradient norm that count as a collapse. */
  zeroGradSteps: number;
  /** Bound on |weight| of a trained tensor. */
  maxWeight: number;
}

export const DIVERGENCE_DEFAULTS: DivergenceSettings = { action: 'stop', lossJump: 4, uniformSteps: 8, zeroGradSteps: 3, maxWeight: 1e4 };

/** Where the guard runs and what to blame: the phase, its LR setting by config name, and the warm-up. */
export interface GuardContext {
  /** e.g. 'sft', 'train (iteration 2)', 'prm'. */
  where: string;
  /** The setting that most likely causes a divergence, by its user-facing name and value, e.g. {name: 'sft.lr', value: 1e6}. */
  lrSetting: { name: string; value: number };
  /** Optimizer steps of LR warm-up (the uniform-loss check starts after them). */
  warmupSteps: number;
  /** How the user turns stopping into warning, for the message (default the config key `divergence.action=warn`). */
  warnSetting?: string;
}

/** A training diverged: what happened, at which step, and the setting to look at. Nothing after this step was trained or saved. */
export class DivergenceError extends Error {
  override readonly name = 'DivergenceError';
  constructor(
    readonly step: number,
    readonly findings: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

const fmt = (x: number) => (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : String(+x.toFixed(4)));

/** The likely cause in words: an LR far outside fine-tuning's usual range is named as such. */
function cause(s: GuardContext['lrSetting']): string {
  const usual = s.value > 0.1 ? ` (far above the usual fine-tuning range 1e-6 … 1e-2)` : '';
  return `likely cause: ${s.name} = ${s.value}${usual}`;
}

export class DivergenceGuard {
  private ema: number | null = null;
  private uniformRun = 0;
  private zeroRun = 0;
  private readonly warned = new Set<string>();

  constructor(
    readonly settings: DivergenceSettings,
    readonly ctx: GuardContext,
    private readonly warn: (line: string) => void = () => {},
  ) {
    const s = settings;
    if (s.action !== 'stop' && s.action !== 'warn') throw new RangeError(`divergence.action: expected "stop" or "warn", found ${JSON.stringify(s.action)}`);
    for (const k of ['lossJump', 'uniformSteps', 'zeroGradSteps', 'maxWeight'] as const) {
      if (!(s[k] > 0 && Number.isFinite(s[k]))) throw new RangeError(`divergence.${k}: expected a finite number > 0, found ${s[k]}`);
    }
  }

  /** Checks one step's outcome; throws DivergenceError (action 'stop') or warns once per finding (action 'warn'). */
  check(r: StepResult): void {
    const s = this.settings;
    const found: string[] = [];
    const kinds: string[] = [];
    const add = (kind: string, text: string) => (kinds.push(kind), found.push(text));
    if (Number.isFinite(r.loss)) {
      if (this.ema !== null && r.loss > s.lossJump * this.ema && r.loss > this.ema + 1) {
        add('jump', `the loss jumped to ${fmt(r.loss)} from a running mean of ${fmt(this.ema)} (more than ${s.lossJump}×)`);
      }
      this.ema = this.ema === null ? r.loss : 0.9 * this.ema + 0.1 * r.loss;
      const lnV = Math.log(r.vocabSize);
      const uniform = Number.isFinite(lnV) && Math.abs(r.loss - lnV) <= 0.01 * lnV;
      this.uniformRun = uniform && r.step > this.ctx.warmupSteps ? this.uniformRun + 1 : 0;
      if (this.uniformRun >= s.uniformSteps) add('uniform', `the loss has sat at ln V = ${fmt(lnV)} (a uniform guess over ${r.vocabSize} tokens) for ${this.uniformRun} steps after warm-up`);
    }
    this.zeroRun = r.gradNorm === 0 ? this.zeroRun + 1 : 0;
    if (this.zeroRun >= s.zeroGradSteps) add('zero-grad', `the gradient norm has been 0 for ${this.zeroRun} steps`);
    if (r.weightMaxAbs > s.maxWeight) add('weights', `a weight reached |w| = ${fmt(r.weightMaxAbs)} (bound ${fmt(s.maxWeight)})`);
    if (found.length === 0) return;
    const head = `divergence in ${this.ctx.where} at optimizer step ${r.step}: ${found.join('; ')}; ${cause(this.ctx.lrSetting)}`;
    if (s.action === 'stop') {
      throw new DivergenceError(r.step, found, `${head}. Training stopped and nothing was saved; lower the LR, or set ${this.ctx.warnSetting ?? 'divergence.action=warn'} to go on`);
    }
    const fresh = kinds.filter((k) => !this.warned.has(k));
    for (const k of fresh) this.warned.add(k);
    if (fresh.length > 0) this.warn(`warning: ${head} (${this.ctx.warnSetting ?? 'divergence.action=warn'}: training goes on)`);
  }
}
