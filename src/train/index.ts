// Training: batches with completion-only (or token-level) loss masks, LR schedules, the one optimizer
// settings type, the AdamW trainer, the one training loop and its divergence guard.
export { makeBatch, microBatches, lengthSplit, MICRO_BATCH_OVERHEAD, BatchError, type Batch, type Example, type BatchOptions, type MicroBatchSplit, type Target } from './batch.js';
export { completionLogprobs } from './logprob.js';
export { lrMultiplier, type ScheduleName, type ScheduleSpec } from './schedule.js';
export { OPTIMIZER_DEFAULTS, COMMAND_OPTIMIZERS, PAPER_FREEZE, commandOptimizer, validateOptimizerSpec, type OptimizerSpec, type CommandOptimizer, type TrainingCommand } from './optimizer.js';
export { Trainer, NonFiniteError, gradNormOrThrow, type StepResult, type OptimizerState } from './trainer.js';
