// The run plan: everything `bstar run` can check before it writes anything, so that a run that cannot
// work fails in seconds with one line naming the config key or the data row, and leaves no run
// directory behind. The config's own ranges and upper bounds are checked when it is loaded
// (config.ts, bounds.ts); the plan adds what needs the data, the model and the machine:
//   data     the task's splits load (every line parses: the loaders name file, line and field), and
//            every row fits the context: BOS + prompt + gold solution + EOS for the rows SFT trains on,
//            BOS + prompt + at least one token for every row that is sampled;
//   counts   what must not exceed the data is refused, not clamped: queriesPerIteration and
//            search.devSize above the training pool, sampling.maxTokens beyond the context;
//   memory   a lower bound of the peak (model weights, gradients, AdamW moments, the sampler's packed
//            copy and the base snapshot; training activations; the KV cache; the sample pools of an
//            iteration, the search and the evaluation in the JS heap), refused when it exceeds the RAM
//            (or the JS heap limit), naming the key behind the largest part.
// The plan loads the data and the tokenizer the same way the run does (run.ts buildContext), and
// computes the training sequence length with the same formula (maxTrainSeq).

import { existsSync, readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { readConfigAndTokenizer } from '../model/checkpoint.js';
import { contextLength, tinyModelConfig, type ModelConfig } from '../model/config.js';
import { paramTable } from '../model/params.js';
import { goldTexts } from '../methods/pieces.js';
import { taskFromConfig } from '../tasks/index.js';
import { resolveModelPath } from '../hub/index.js';
import type { LoadOptions, Query, Task } from '../tasks/types.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { gridOf, type Config } from './config.js';
import { tokenizerFor } from './tokenizerFor.js';
import { withChatTemplate } from './chatPrompt.js';

/** A run that cannot work: one line naming the key or the data row, and the fix. */
export class PlanError extends Error {
  override readonly name = 'PlanError';
}

// ---------------------------------------------------------------------------------------------------
// Sequence lengths

/** The training sequence length a run allocates for (BOS and EOS included), as run.ts computes it. */
export function maxTrainSeq(context: number, maxPrompt: number, maxGold: number, maxTokens: number): number {
  return Math.min(context, maxPrompt + 1 + Math.max(maxTokens, maxGold) + 1);
}

export interface LengthRow {
  id: string;
  prompt: number;
  /** Longest gold solution in tokens (−1: not trained on). */
  gold: number;
}

/**
 * Rows that do not fit a context of `context` positions: a sampled row needs BOS + prompt + one
 * generated token; a row SFT trains on needs BOS + prompt + gold + EOS − 1 positions (the last token is
 * only a target). Longest first.
 */
export function rowsOverContext(rows: readonly LengthRow[], context: number): Array<LengthRow & { need: number }> {
  const out: Array<LengthRow & { need: number }> = [];
  for (const r of rows) {
    const need = Math.max(r.prompt + 2, r.gold >= 0 ? r.prompt + r.gold + 1 : 0);
    if (need > context) out.push({ ...r, need });
  }
  return out.sort((a, b) => b.need - a.need);
}

// ---------------------------------------------------------------------------------------------------
// Memory

export interface MemoryPart {
  what: string;
  bytes: number;
  /** The config keys that size this part (the first is named in an error). */
  keys: string[];
  /** In the JS heap (samples, data), whose limit is separate from the RAM. */
  heap: boolean;
}

export interface ModelDims {
  V: number;
  C: number;
  F: number;
  L: number;
  H: number;
  KV: number;
  /** Head dim (default C / H; Mistral-style configs differ). */
  D?: number;
  /** Parameters. */
  P: number;
}

export interface MemoryInputs {
  /** null: no model runs in this process (remote sampling and training backends). */
  model: ModelDims | null;
  /** Where the model's size came from, for the error (model.hidden_size…, or model.checkpoint). */
  modelKey: string;
  maxSeq: number;
  microBatch: number;
  /** KV cache positions of the sampler. */
  kvTokens: number;
  /** Characters a sampled token takes on average (1 for the character tokenizers). */
  charsPerToken: number;
  maxTokens: number;
  poolSamples: number;
  searchSamples: number;
  evalSamples: number;
  /** Bytes of the loaded task data (its JSON size). */
  dataBytes: number;
}

const F32 = 4;
/** A sample in the JS heap: its object, verdict and reward (≈ 600 bytes), plus its text (UTF-16). */
const SAMPLE_OVERHEAD = 600;
/** Node itself, the engine, the tokenizer and the report (measured: about 100 MiB after start). */
const BASELINE = 100 * 2 ** 20;

/** Lower bounds of the large allocations of a run, by part. */
export function memoryParts(m: MemoryInputs): MemoryPart[] {
  const parts: MemoryPart[] = [{ what: 'Node and the engine', bytes: BASELINE, keys: [], heap: false }];
  if (m.model) {
    const { V, C, F, L, H, KV, P } = m.model;
    const D = m.model.D ?? C / H;
    // params, grads, AdamW m and v, the sampler's packed copy, the base snapshot of the loop
    parts.push({ what: 'model weights, gradients, AdamW moments, packed copy and base snapshot (6 × 4 bytes per parameter)', bytes: 6 * F32 * P, keys: [m.modelKey], heap: false });
    const N = m.microBatch * m.maxSeq;
    const perLayer = C * 5 + 2 + H * D * 2 + KV * D * 2 + H + F * 3;
    const acts = N * (C * 2 + 2 + L * perLayer + 2 * V) + N * (2 * C + 2 * H * D + 2 * KV * D + 3 * F);
    parts.push({ what: `training activations (${m.microBatch} rows × ${m.maxSeq} positions)`, bytes: F32 * acts, keys: ['train.batchSize', 'sft.batchSize', 'model.max_position_embeddings'], heap: false });
    parts.push({ what: `the sampler's KV cache (${m.kvTokens} positions) and logits`, bytes: F32 * (2 * L * m.kvTokens * KV * D + 256 * V), keys: [m.modelKey], heap: false });
  }
  const sample = SAMPLE_OVERHEAD + 2 * m.charsPerToken * m.maxTokens;
  parts.push({ what: `the iteration's sample pool (${m.poolSamples} samples)`, bytes: m.poolSamples * sample, keys: ['samplesPerQuery', 'queriesPerIteration', 'sampling.maxTokens'], heap: true });
  parts.push({ what: `the search's samples (${m.searchSamples})`, bytes: m.searchSamples * sample, keys: ['search.samplesPerQuery', 'search.devSize', 'search.temperatures'], heap: true });
  parts.push({ what: `the evaluation's samples (${m.evalSamples})`, bytes: m.evalSamples * sample, keys: ['eval.samples', 'eval.k', 'eval.testSize'], heap: true });
  parts.push({ what: 'the task data', bytes: 2 * m.dataBytes, keys: ['task.trainSize', 'eval.testSize'], heap: true });
  return parts;
}

/** The memory a process may use: the RAM, or the cgroup's limit when lower (containers). */
export function memoryLimit(): { bytes: number; what: string } {
  let bytes = totalmem();
  let what = 'the RAM of this machine';
  for (const f of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const v = Number(readFileSync(f, 'utf8').trim());
      if (Number.isFinite(v) && v > 0 && v < bytes) {
        bytes = v;
        what = `the memory limit of this container (${f})`;
      }
    } catch {
      /* not there */
    }
  }
  return { bytes, what };
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 2 : 1)} GiB`;

/** Refuses a run whose memory lower bound exceeds the limits; returns the total. */
export function checkMemory(parts: readonly MemoryPart[], limit = memoryLimit(), heapLimit = getHeapStatistics().heap_size_limit): number {
  const total = parts.reduce((a, p) => a + p.bytes, 0);
  const heap = parts.filter((p) => p.heap).reduce((a, p) => a + p.bytes, 0);
  const largest = (ps: readonly MemoryPart[]) => ps.reduce((a, p) => (p.bytes > a.bytes ? p : a));
  const name = (p: MemoryPart) => (p.keys.length ? `${p.keys[0]}${p.keys.length > 1 ? ` (with ${p.keys.slice(1).join(', ')})` : ''}` : 'nothing configurable');
  if (total > limit.bytes) {
    const p = largest(parts);
    throw new PlanError(`memory: the run needs at least ${gib(total)}, more than ${limit.what} (${gib(limit.bytes)}); the largest part is ${p.what}, ${gib(p.bytes)}: lower ${name(p)}`);
  }
  if (heap > heapLimit) {
    const p = largest(parts.filter((x) => x.heap));
    throw new PlanError(`memory: the run keeps at least ${gib(heap)} of samples and data in the JS heap, more than its limit (${gib(heapLimit)}; node --max-old-space-size raises it); the largest part is ${p.what}, ${gib(p.bytes)}: lower ${name(p)}`);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------
// The plan

export interface RunPlan {
  trainQueries: number;
  testQueries: number;
  maxPrompt: number;
  maxGold: number;
  context: number;
  maxSeq: number;
  memoryBytes: number;
  /** One line for the log. */
  summary: string;
}

function loadOpts(base: LoadOptions, limit: number | null): LoadOptions {
  const o: LoadOptions = { ...base };
  if (limit !== null) o.limit = limit;
  return o;
}

/**
 * The run's task and its two splits exactly as the run loads them: the task's shipped data or the
 * user's dataset (task.file, task.fields), task.trainSize / eval.testSize applied. Empty splits are
 * refused. The one place a run's data is read (planRun and the run itself).
 */
export async function loadRunData(c: Config, log?: (line: string) => void): Promise<{ task: Task; train: Query[]; test: Query[] }> {
  const { task, loadOptions } = taskFromConfig(c.task, log);
  const train = await task.load('train', loadOpts(loadOptions, c.task.trainSize));
  const test = await task.load(c.eval.split, loadOpts(loadOptions, c.eval.testSize));
  if (train.length === 0) throw new PlanError(`task ${task.name}: the training split is empty`);
  if (test.length === 0) throw new PlanError(`task ${task.name}: the ${c.eval.split} split (eval.split) is empty`);
  return { task, train, test };
}

function dimsOf(cfg: ModelConfig): ModelDims {
  return {
    V: cfg.vocab_size, C: cfg.hidden_size, F: cfg.intermediate_size, L: cfg.num_hidden_layers, H: cfg.num_attention_heads,
    KV: cfg.num_key_value_heads, D: cfg.head_dim, P: paramTable(cfg).total,
  };
}

/** The model's architecture and tokenizer as the run will have them, without loading weights. */
function modelOf(c: Config, task: Task, train: readonly Query[], test: readonly Query[]): { config: ModelConfig; tokenizer: Tokenizer; key: string } {
  if (c.model.checkpoint !== null) {
    const file = path.join(c.model.checkpoint, 'config.json');
    if (!existsSync(file)) throw new PlanError(`model.checkpoint: ${c.model.checkpoint}: no checkpoint there (expected a directory with config.json, model.safetensors, tokenizer.json)`);
    if (!existsSync(path.join(c.model.checkpoint, 'tokenizer.json'))) throw new PlanError(`model.checkpoint ${c.model.checkpoint}: no tokenizer.json beside the weights`);
    const head = readConfigAndTokenizer(c.model.checkpoint);
    return { config: head.config, tokenizer: head.tokenizer!, key: 'model.checkpoint' };
  }
  const tokenizer = tokenizerFor(task, train, test);
  const m = c.model;
  const config = tinyModelConfig(m.vocab_size ?? tokenizer.vocabSize, {
    hidden_size: m.hidden_size, intermediate_size: m.intermediate_size, num_hidden_layers: m.num_hidden_layers,
    num_attention_heads: m.num_attention_heads, num_key_value_heads: m.num_key_value_heads,
    max_position_embeddings: m.max_position_embeddings, tie_word_embeddings: m.tie_word_embeddings,
  });
  return { config, tokenizer, key: 'model.hidden_size' };
}

const SEARCHING_METHODS = new Set(['bstar']);

/**
 * Checks a run before anything is written (see the top of this file). Throws PlanError (or the task's
 * data error naming file, line and field); returns what was measured.
 */
export async function planRun(c: Config, log?: (line: string) => void): Promise<RunPlan> {
  // a hub id (org/name) in model.checkpoint: its snapshot in the hub cache, fetched once (src/hub)
  if (c.model.checkpoint !== null) c = { ...c, model: { ...c.model, checkpoint: await resolveModelPath(c.model.checkpoint, log) } };
  const { task, train, test } = await loadRunData(c, log);
  const pool = train.length;
  const poolNote = `the training pool's ${pool} queries (task ${task.name}${c.task.trainSize !== null ? `, task.trainSize ${c.task.trainSize}` : ''})`;
  if (c.method !== 'sft' && c.queriesPerIteration > pool) {
    throw new PlanError(`queriesPerIteration: expected at most ${poolNote}, found ${c.queriesPerIteration}; set queriesPerIteration=${pool} to take the whole pool every iteration`);
  }
  if (SEARCHING_METHODS.has(c.method) && c.search.devSize > pool) {
    throw new PlanError(`search.devSize: expected at most ${poolNote}, found ${c.search.devSize}`);
  }
  if (c.sft.goldQueries !== null && c.sft.goldQueries > pool) {
    throw new PlanError(`sft.goldQueries: expected at most ${poolNote}, found ${c.sft.goldQueries}`);
  }

  // Lengths against the context
  const remote = c.policy.sampling.backend !== 'local' && c.policy.training.backend !== 'local';
  const model = modelOf(c, task, train, test);
  const context = contextLength(model.config);
  const contextKey = c.model.checkpoint !== null ? `the context of model.checkpoint (max_position_embeddings ${context})` : `model.max_position_embeddings (${context})`;
  const len = (s: string) => model.tokenizer.encode(s).length;
  // prompts as the run formats them (through the chat template when prompt.chat says so)
  const prompts = withChatTemplate(task, model.tokenizer, c.prompt.chat, c.model.checkpoint !== null ? `${c.model.checkpoint}/tokenizer_config.json` : `the ${task.name} tokenizer`);
  const sftRuns = c.sft.epochs > 0 || c.method === 'sft' || c.selection.injectGold;
  const goldCount = c.sft.goldQueries ?? pool;
  const rows: LengthRow[] = [];
  train.forEach((q, i) => rows.push({ id: q.id, prompt: len(prompts.formatPrompt(q)), gold: sftRuns && i < goldCount ? Math.max(...goldTexts(task, q, c.sft.goldVariants).map(len)) : -1 }));
  for (const q of test) rows.push({ id: q.id, prompt: len(prompts.formatPrompt(q)), gold: -1 });
  const over = rowsOverContext(rows, context);
  if (over.length > 0) {
    const w = over[0];
    const what = w.gold >= 0 ? `BOS + prompt ${w.prompt} + gold solution ${w.gold} + EOS − 1 = ${w.need} positions` : `BOS + prompt ${w.prompt} + 1 generated token = ${w.need} positions`;
    throw new PlanError(
      `task ${task.name}: ${over.length} of ${rows.length} rows do not fit ${contextKey}; the longest is ${w.id} (${what}); ` +
        `raise model.max_position_embeddings to at least ${w.need}${c.model.checkpoint !== null ? ' (or use a model with a longer context)' : ''}, or leave those rows out of the data`,
    );
  }
  const maxPrompt = rows.reduce((a, r) => Math.max(a, r.prompt), 0);
  const maxGold = rows.reduce((a, r) => Math.max(a, r.gold), 0);
  const longest = rows.reduce((a, r) => (r.prompt > a.prompt ? r : a));
  if (maxPrompt + 1 + c.sampling.maxTokens > context) {
    throw new PlanError(
      `sampling.maxTokens: expected at most ${context - 1 - maxPrompt} (${contextKey} − BOS − the longest prompt, ${maxPrompt} tokens: ${longest.id}), found ${c.sampling.maxTokens}; ` +
        `lower sampling.maxTokens or raise the context`,
    );
  }
  const maxSeq = maxTrainSeq(context, maxPrompt, maxGold, c.sampling.maxTokens);

  // Memory
  const micro = Math.max(Math.ceil(c.sft.batchSize / c.sft.gradAccum), Math.ceil(c.train.batchSize / c.train.gradAccum));
  const searches = SEARCHING_METHODS.has(c.method);
  const charsPerToken = model.tokenizer.vocabSize <= 512 ? 1 : 4;
  const parts = memoryParts({
    model: remote ? null : dimsOf(model.config),
    modelKey: model.key,
    maxSeq,
    microBatch: micro,
    kvTokens: 65536,
    charsPerToken,
    maxTokens: c.sampling.maxTokens,
    poolSamples: c.method === 'sft' ? 0 : (c.queriesPerIteration + c.selection.zeroSignalRefill) * c.samplesPerQuery,
    searchSamples: searches ? c.search.devSize * (c.search.samplesPerQuery ?? c.samplesPerQuery) * gridOf(c.search.temperatures).length : 0,
    evalSamples: test.length * ((c.eval.samples ?? c.eval.k) + 1),
    dataBytes: JSON.stringify(train).length + JSON.stringify(test).length,
  });
  const memoryBytes = checkMemory(parts);
  const summary =
    `plan: ${pool} training and ${test.length} ${c.eval.split} queries; longest prompt ${maxPrompt} and gold ${maxGold} tokens ` +
    `(context ${context}, training sequences ${maxSeq}); memory at least ${gib(memoryBytes)} of ${gib(memoryLimit().bytes)} (${gib(freemem())} free now)`;
  return { trainQueries: pool, testQueries: test.length, maxPrompt, maxGold, context, maxSeq, memoryBytes, summary };
}
