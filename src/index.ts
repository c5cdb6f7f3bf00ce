// bstar as a library: `import { loadConfig, startRun, … } from 'bstar'`. A small, stable surface; the
// CLI (`bstar …`) is built on the same functions. docs/library.md walks through it; examples/ has three
// short programs (a custom task and reward, a fleet run, evaluating a checkpoint).

// Configuration: one typed schema with defaults; files (YAML/JSON), presets and `key=value` overrides.
export { loadConfig, parseConfigText, serializeConfig, ConfigError } from './run/configLoad.js';
export { ConfigSchema, METHODS, type Config, type ConfigInput } from './run/config.js';
export { PRESETS, presetLayer } from './run/presets.js';

// Runs: start one in a new directory, resume one, or build the context a run uses (to evaluate).
export { startRun, resumeRun, buildContext, defaultRunName, type RunHooks, type RunOutcome } from './run/run.js';
export { evaluate } from './methods/pieces.js';

// Tasks: the registry, the Task contract, user datasets (task.file / task.fields), shipped data.
export {
  getTask, taskNames, registerTask, taskFromConfig, runSelfChecks, UnknownTaskError, TaskOptionError,
  DataError, MissingDataError, MalformedDataError,
  type Task, type Query, type Verdict, type Split, type LoadOptions, type TaskModule, type TaskSpec, type DatasetSource,
  type SelfCheckRow, type SelfCheckOptions,
} from './tasks/index.js';
export { readRecords, splitFilesInDir } from './tasks/dataset.js';
export { createMathTask, type AnswerFormat, type MathTaskOptions } from './tasks/math.js';
export { appsTask, makeMbppTask, makeHumanEvalTask } from './tasks/code.js';

// Policy backends: the in-process engine, OpenAI-compatible servers (a fleet), an external trainer.
export type { Policy, SamplingBackend, TrainingBackend, SampleRequest, SampleParams, Completion } from './policy/types.js';
export { localPolicy, LocalBackend, type LocalPolicyOptions } from './policy/local.js';
export { OpenAiSamplingBackend, type OpenAiSamplingOptions, type Endpoint } from './policy/openai.js';
export { ExternalTrainer, type ExternalTrainerOptions } from './policy/external.js';
export { composePolicy } from './policy/compose.js';

// Rewards: answer correctness combined with step scores (a PRM or your own scorer).
export { answerReward, combineReward, prmMin, RewardError, type PrmScorer, type RewardCombine } from './reward/index.js';

// Metrics: Pass@K, Pass@K-S, Best-of-K, Reward@K-S, query effect, distinct equations, bootstrap CIs.
export * from './metrics/index.js';

// The report: report.html for one run or a comparison of runs.
export { writeRunReport, buildReport } from './report/report.js';

// Models and datasets by path or hub id (Hugging Face cache layout).
export { resolveModelPath, resolveHubRepo, isHubId, hubCacheDir, HubError } from './hub/index.js';
export { loadCheckpoint, saveCheckpoint } from './model/checkpoint.js';
