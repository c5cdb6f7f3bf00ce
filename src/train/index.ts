// SFT training: batches with completion-only loss masks, LR schedules, the AdamW trainer.
export { makeBatch, microBatches, BatchError, type Batch, type Example, type BatchOptions } from './batch.js';
export { completionLogprobs } from './logprob.js';
export { lrMultiplier, type ScheduleName, type ScheduleSpec } from './schedule.js';
export { Trainer, NonFiniteError, gradNormOrThrow, validateTrainConfig, defaultTrainConfig, PAPER_FREEZE, type TrainConfig, type StepResult, type OptimizerState } from './trainer.js';
