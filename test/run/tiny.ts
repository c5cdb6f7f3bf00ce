// A tiny run config for tests: a 1-layer model on a small arith pool, budgets of seconds.
import { loadConfig } from '../../src/run/configLoad.js';
import type { Config } from '../../src/run/config.js';
import { taskNames } from '../../src/tasks/index.js';

export const TINY_OVERRIDES = [
  'threads=1',
  'model.hidden_size=32',
  'model.intermediate_size=64',
  'model.num_hidden_layers=1',
  'model.num_attention_heads=2',
  'model.num_key_value_heads=2',
  'model.max_position_embeddings=256',
  'task.trainSize=24',
  'task.options={"steps": 1}',
  'queriesPerIteration=6',
  'samplesPerQuery=3',
  'targetSamples=12',
  'sampling.maxTokens=40',
  'search.temperatures=[0.8, 1.2]',
  'search.thresholds=[0, 0.5]',
  'search.devSize=4',
  'search.samplesPerQuery=3',
  'sft.startEpoch=1',
  'sft.batchSize=8',
  'sft.lr=0.003',
  'train.stepsPerIteration=2',
  'train.batchSize=4',
  'eval.testSize=5',
  'eval.k=2',
  'eval.s=1',
  'eval.samples=3',
  'eval.bootstrapResamples=50',
];

export function tinyConfig(extra: string[] = []): Config {
  return loadConfig({ overrides: [...TINY_OVERRIDES, ...extra], taskNames: taskNames() });
}
