// The one model description (config, parameter table, RoPE) and the training model.
export {
  ConfigError, parseModelConfig, configJson, withChanges, tinyModelConfig, attentionBiases, eosIds, contextLength,
  MODEL_TYPES, TORCH_DTYPES, type ModelConfig, type ModelType, type TorchDtype, type RopeScaling,
} from './config.js';
export { paramKinds, paramTable, tensorsInHfOrder, countParams, allocFloat, viewsOf, checkWeights, firstNonFinite, WeightsError, type ParamTensor, type ParamKind, type FloatArray, type DType } from './params.js';
export { ropeTables, ropeInvFreq } from './rope.js';
export { LlamaModel, ShapeError, memoryPlan, formatMemoryPlan, type ModelOptions, type MemoryPlan } from './llama.js';
