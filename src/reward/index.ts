// Rewards: verifier answer match and the optional PRM term (combine.ts); scoring of sampled
// completions into Sample records (score.ts).
export { answerReward, cannotJudge, combineReward, prmMin, RewardError, LOGIT_EPS, type PrmScorer, type RewardCombine, type StepAggregate } from './combine.js';
export { scoreCompletions, type ScoreOptions, type ScoredBatch } from './score.js';
