// The llama-style decoder: config (HF field names), parameter layout, layers, model.
export { ConfigError, validateLlamaConfig, toHfConfigJson, tinyLlamaConfig, type LlamaConfig } from './config.js';
export { paramKinds, paramTable, countParams, allocFloat, viewsOf, type ParamTensor, type ParamKind, type FloatArray, type DType } from './params.js';
export { linearForward, linearBackward, residualForward, ropeTables } from './layers.js';
export { LlamaModel, ShapeError, type ModelOptions } from './llama.js';
