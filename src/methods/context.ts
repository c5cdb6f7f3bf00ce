// What a method works with: the policy, the task and its query splits, the run's settings (MethodOptions), and the
// run's reporting hooks. Methods never see the engine; the run (src/run) builds the context.
import type { Policy } from '../policy/types.js';
import type { PrmScorer } from '../reward/combine.js';
import type { Query, Task } from '../tasks/types.js';
import type { StepReport } from '../policy/trainLoop.js';
import type { MethodOptions } from './options.js';

/** Progress of a long phase: `done` of `total` units, `tokens` processed so far. */
export interface PhaseProgress {
  start(phase: string, total: number, unit: string): void;
  update(done: number, tokens?: number): void;
  stop(): void;
}

export interface MethodContext {
  policy: Policy;
  task: Task;
  /** The run's settings as methods read them (run/config's methodOptions). */
  config: MethodOptions;
  /** Training pool by id, and its ids in task order. */
  train: Map<string, Query>;
  trainIds: string[];
  /** The training queries whose gold solutions may be used (SFT, the sft method, injectGold): all of trainIds unless sft.goldQueries. */
  goldIds: string[];
  /** The fixed dev subset (B-STaR search), ids from the training pool. */
  devIds: string[];
  /** Evaluation queries (test split, capped by eval.testSize). */
  test: Query[];
  prm?: PrmScorer;
  log(line: string): void;
  progress: PhaseProgress;
  /** Every optimizer step of SFT ('sft', iteration 0) and self-training ('train', iteration i); the run writes step records. */
  onStep?: (phase: 'sft' | 'train', iteration: number, s: StepReport) => void | Promise<void>;
}

export const quietProgress: PhaseProgress = { start() {}, update() {}, stop() {} };
