// Checkpoint directories in the Hugging Face Llama layout, so transformers / vLLM load them as is:
//
//   <dir>/config.json               the family's config (configJson: architectures, model_type, torch_dtype, …)
//   <dir>/model.safetensors         weights by transformers' names, [out, in] linear layouts, in the
//                                   config's torch_dtype (F32, F16 or BF16) unless the save says otherwise
//   <dir>/generation_config.json    bos/eos/pad ids (+ any sampling defaults given)
//   <dir>/tokenizer.json, tokenizer_config.json, special_tokens_map.json   when a tokenizer is given
//   <dir>/training_state.safetensors  optimizer moments and any other trainer tensors (1-D, F32)
//   <dir>/training_state.json         step, LR-schedule position, RNG states, data cursor, … (exact JSON)
//
// Writes are atomic: everything goes to a temp dir beside <dir> (same filesystem), each file and the
// dir are fsynced, then the temp dir is renamed onto <dir>. A crash at any point leaves the previous
// checkpoint readable (if it happens between the two renames of a replace, under the name the error
// of loadCheckpoint gives). Loads validate everything and name the first problem: the config, every
// tensor's presence, dtype and shape against the parameter table, and every weight's finiteness (a
// NaN or Inf names the tensor and its flat index). Nothing is written before everything is checked.
import {
  closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { ConfigError, configJson, eosIds, parseModelConfig, withChanges, type ModelConfig, type TorchDtype } from './config.js';
import { checkWeights, firstNonFinite, paramTable, tensorsInHfOrder, WeightsError } from './params.js';
import { encodeSafetensors, SafetensorsError, SafetensorsFile, type SafeDtype, type TensorToWrite } from './safetensors.js';
import { fsyncDir } from '../util/fs.js';

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

/** What a trainer keeps beside the weights: any tensors (saved flat) plus a JSON-able object. */
export interface TrainingState {
  tensors: Map<string, Float32Array>;
  state: unknown;
}

export interface CheckpointData {
  config: ModelConfig;
  /** HF tensor names → data; shapes come from the config's parameter table. */
  weights: ReadonlyMap<string, Float32Array>;
  tokenizer?: Tokenizer;
  /** Extra generation_config.json fields (temperature, top_p, max_new_tokens, …). */
  generation?: Record<string, unknown>;
  trainingState?: TrainingState;
  /** Extra safetensors __metadata__ strings (format: "pt" is always written, transformers requires it). */
  metadata?: Record<string, string>;
}

export interface LoadedCheckpoint {
  /** torch_dtype is the dtype the weights were stored in (whatever config.json said). */
  config: ModelConfig;
  weights: Map<string, Float32Array>;
  tokenizer: Tokenizer | null;
  generation: Record<string, unknown> | null;
  trainingState: TrainingState | null;
  metadata: Record<string, string>;
}

export interface SaveOptions {
  /** Stored dtype of the weights (default: config.torch_dtype, i.e. the source checkpoint's). */
  dtype?: TorchDtype;
  /** Test hook: called after each file is written and fsynced in the temp dir (throw to simulate a crash). */
  afterFile?: (name: string) => void;
}

export const FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  /** Sharded weights (transformers' save_pretrained above its shard size): {weight_map: {tensor: file}}. */
  weightIndex: 'model.safetensors.index.json',
  generation: 'generation_config.json',
  trainingTensors: 'training_state.safetensors',
  trainingJson: 'training_state.json',
} as const;

/** Tensors transformers may keep in old checkpoints that carry no weights (recomputed from config). */
const IGNORED_TENSOR = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

// ----------------------------------------------------------------------------------------------
// saving

/** Validates `data` fully, then writes the checkpoint atomically to `dir` (replacing any previous one). */
export function saveCheckpoint(dir: string, data: CheckpointData, opts: SaveOptions = {}): void {
  const dtype = opts.dtype ?? data.config.torch_dtype;
  if (!(dtype in SAFE_DTYPE)) throw new CheckpointError(`${dir}: dtype ${JSON.stringify(dtype)}: expected one of ${Object.keys(SAFE_DTYPE).join(', ')}`);
  // what is written must load: the config goes through the same validation as a file
  const cfg = wrap(() => parseModelConfig(configJson(data.config, dtype), `${dir}/${FILES.config} (to save)`));
  wrap(() => checkWeights(cfg, data.weights, `${dir}: weights to save`));
  const bad = firstNonFinite(data.weights);
  if (bad) throw new CheckpointError(`${dir}: weights to save: tensor "${bad.tensor}" has ${bad.value} at flat index ${bad.index}; a checkpoint with non-finite weights is not written`);
  if (data.tokenizer && data.tokenizer.vocabSize > cfg.vocab_size) {
    throw new CheckpointError(`${dir}: tokenizer has ${data.tokenizer.vocabSize} ids but config vocab_size is ${cfg.vocab_size}`);
  }
  const files = new Map<string, Buffer>();
  files.set(FILES.config, jsonBytes(configJson(cfg, dtype)));
  const tensors = new Map<string, TensorToWrite>();
  for (const t of tensorsInHfOrder(paramTable(cfg).tensors)) tensors.set(t.name, { shape: t.shape, data: data.weights.get(t.name)!, dtype: SAFE_DTYPE[dtype] });
  files.set(FILES.weights, encodeSafetensors(tensors, { format: 'pt', ...data.metadata }));
  files.set(FILES.generation, jsonBytes(generationConfig(cfg, data.generation)));
  if (data.tokenizer) for (const [name, v] of Object.entries(data.tokenizer.toHfFiles())) files.set(name, jsonBytes(v));
  if (data.trainingState) {
    const ts = new Map<string, TensorToWrite>();
    for (const [name, t] of data.trainingState.tensors) ts.set(name, { shape: [t.length], data: t });
    files.set(FILES.trainingTensors, encodeSafetensors(ts, { format: 'bstar-training-state' }));
    checkJsonable(data.trainingState.state, 'state', `${dir}: training state`);
    files.set(FILES.trainingJson, jsonBytes(data.trainingState.state));
  }
  writeDirAtomic(dir, files, opts);
}

/** torch_dtype ↔ safetensors dtype of the weights. */
const SAFE_DTYPE: Record<TorchDtype, 'F32' | 'F16' | 'BF16'> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };
const TORCH_DTYPE: Partial<Record<SafeDtype, TorchDtype>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

function generationConfig(cfg: ModelConfig, extra: Record<string, unknown> | undefined): Record<string, unknown> {
  const g: Record<string, unknown> = { _from_model_config: true };
  if (cfg.bos_token_id !== null) g.bos_token_id = cfg.bos_token_id;
  const eos = eosIds(cfg);
  if (eos.length > 0) g.eos_token_id = eos.length === 1 ? eos[0] : eos;
  if (cfg.pad_token_id !== null) g.pad_token_id = cfg.pad_token_id;
  return { ...g, ...extra };
}

function jsonBytes(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v, null, 2) + '\n', 'utf8');
}

/** JSON must round-trip exactly: refuse NaN, ±Infinity, undefined, functions, bigint, class instances. */
function checkJsonable(v: unknown, at: string, where: string): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new CheckpointError(`${where}: ${at} is ${v}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(v)) return v.forEach((x, i) => checkJsonable(x, `${at}[${i}]`, where));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v as object)) checkJsonable(x, `${at}.${k}`, where);
    return;
  }
  throw new CheckpointError(`${where}: ${at} is ${typeof v === 'object' ? (v as object).constructor?.name ?? 'an object' : typeof v}, which JSON cannot hold exactly (use plain objects, arrays, finite numbers, strings)`);
}

/** Writes `files` into a temp dir beside `dir`, fsyncs, and renames it onto `dir`. */
function writeDirAtomic(dir: string, files: Map<string, Buffer>, opts: SaveOptions): void {
  const parent = path.dirname(path.resolve(dir));
  const base = path.basename(path.resolve(dir));
  mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}-${Date.now()}`;
  const tmp = path.join(parent, `.${base}.tmp-${tag}`);
  mkdirSync(tmp);
  try {
    for (const [name, bytes] of files) {
      const fd = openSync(path.join(tmp, name), 'w');
      try {
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      opts.afterFile?.(name);
    }
    fsyncDir(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  let old: string | null = null;
  if (existsSync(dir)) {
    old = path.join(parent, `.${base}.old-${tag}`);
    renameSync(dir, old);
  }
  renameSync(tmp, dir);
  fsyncDir(parent);
  if (old) rmSync(old, { recursive: true, force: true });
}

/**
 * Repairs what a crash during saveCheckpoint(dir) can leave: if `dir` is missing but a previous
 * checkpoint was moved aside (`.<name>.old-*`, a crash between the two renames of a replace), it is
 * renamed back; stale temp dirs (`.<name>.tmp-*`) are removed. Call before resuming from `dir`.
 * Returns what was done, for the log.
 */
export function recoverInterruptedSave(dir: string): { restored: string | null; removed: string[] } {
  const parent = path.dirname(path.resolve(dir));
  const base = path.basename(path.resolve(dir));
  if (!existsSync(parent)) return { restored: null, removed: [] };
  const entries = readdirSync(parent);
  const olds = entries.filter((f) => f.startsWith(`.${base}.old-`)).sort(byTag);
  let restored: string | null = null;
  if (!existsSync(dir) && olds.length > 0) {
    restored = path.join(parent, olds.pop()!);
    renameSync(restored, dir);
    fsyncDir(parent);
  }
  const removed: string[] = [];
  for (const f of [...olds, ...entries.filter((e) => e.startsWith(`.${base}.tmp-`))]) {
    rmSync(path.join(parent, f), { recursive: true, force: true });
    removed.push(path.join(parent, f));
  }
  return { restored, removed };
}

/** Orders `.name.old-<pid>-<ms>` by their time stamp. */
function byTag(a: string, b: string): number {
  const t = (s: string) => Number(s.slice(s.lastIndexOf('-') + 1));
  return t(a) - t(b);
}

// ----------------------------------------------------------------------------------------------
// loading

export interface LoadOptions {
  /** Read training_state.* when present (default true). */
  trainingState?: boolean;
  /** Read the tokenizer files when present (default true). */
  tokenizer?: boolean;
  /**
   * Read each weight straight into these views (a model's namedParams(), by HF name) instead of new
   * arrays, so a large model is never held twice; the returned weights are these views. Every view
   * must be the tensor's size.
   */
  into?: ReadonlyMap<string, Float32Array>;
}

/**
 * Reads and validates `<dir>/config.json` and the tokenizer files when present (not the weights), as
 * loadCheckpoint does: a tokenizer with more ids than vocab_size is refused naming both files.
 */
export function readConfigAndTokenizer(dir: string, opts: { tokenizer?: boolean } = {}): { config: ModelConfig; tokenizer: Tokenizer | null } {
  const cfgFile = path.join(dir, FILES.config);
  const config = wrap(() => parseModelConfig(readJson(cfgFile), cfgFile));
  let tokenizer: Tokenizer | null = null;
  if (opts.tokenizer !== false && existsSync(path.join(dir, 'tokenizer.json'))) {
    tokenizer = wrap(() => loadTokenizer(dir));
    if (tokenizer.vocabSize > config.vocab_size) {
      throw new CheckpointError(`${path.join(dir, 'tokenizer.json')}: tokenizer has ${tokenizer.vocabSize} ids but ${cfgFile} field "vocab_size" is ${config.vocab_size}; the model cannot embed the tokenizer's ids`);
    }
  }
  return { config, tokenizer };
}

/** Reads and validates a checkpoint directory; the first problem is a CheckpointError naming it. */
export function loadCheckpoint(dir: string, opts: LoadOptions = {}): LoadedCheckpoint {
  if (!existsSync(dir)) {
    const parent = path.dirname(path.resolve(dir));
    const base = path.basename(path.resolve(dir));
    const old = existsSync(parent) ? readdirSync(parent).filter((f) => f.startsWith(`.${base}.old-`)) : [];
    throw new CheckpointError(
      `${dir}: checkpoint directory not found` +
        (old.length ? ` (a replace was interrupted; the previous checkpoint is at ${path.join(parent, old[old.length - 1])})` : ''),
    );
  }
  const cfgFile = path.join(dir, FILES.config);
  const { config: fileConfig, tokenizer } = readConfigAndTokenizer(dir, opts);
  const weightFile = path.join(dir, FILES.weights);
  const indexFile = path.join(dir, FILES.weightIndex);
  const { tensors: weights, metadata, dtype } =
    !existsSync(weightFile) && existsSync(indexFile) ? readShardedWeights(indexFile, fileConfig, opts.into) : readWeights(weightFile, fileConfig, opts.into);
  const config = dtype === fileConfig.torch_dtype ? fileConfig : withChanges(fileConfig, { torch_dtype: dtype }, cfgFile);
  const genFile = path.join(dir, FILES.generation);
  const generation = existsSync(genFile) ? (readJson(genFile) as Record<string, unknown>) : null;
  let trainingState: TrainingState | null = null;
  const tsFile = path.join(dir, FILES.trainingTensors);
  const tjFile = path.join(dir, FILES.trainingJson);
  if (opts.trainingState !== false && (existsSync(tsFile) || existsSync(tjFile))) {
    if (!existsSync(tsFile) || !existsSync(tjFile)) {
      throw new CheckpointError(`${dir}: training state is incomplete: ${existsSync(tsFile) ? tjFile : tsFile} is missing`);
    }
    const st = wrap(() => SafetensorsFile.open(tsFile));
    const tensors = new Map<string, Float32Array>();
    try {
      for (const name of st.header.tensors.keys()) tensors.set(name, wrap(() => st.readF32(name)));
    } finally {
      st.close();
    }
    trainingState = { tensors, state: readJson(tjFile) };
  }
  return { config, weights, tokenizer, generation, trainingState, metadata };
}

/** Weights read from safetensors: HF name → float32 data, the file metadata and the stored dtype. */
export interface ReadWeights {
  tensors: Map<string, Float32Array>;
  metadata: Record<string, string>;
  /** The dtype most of the weights (by element count) were stored in. */
  dtype: TorchDtype;
}

/** Reads model.safetensors and checks it holds exactly the tensors `config` implies, with their shapes. */
export function readWeights(file: string, config: ModelConfig, into?: ReadonlyMap<string, Float32Array>): ReadWeights {
  if (!existsSync(file)) throw new CheckpointError(`${file}: not found (nor ${FILES.weightIndex} for sharded weights)`);
  const st = wrap(() => SafetensorsFile.open(file));
  try {
    const w = new WeightReader(config, into, file);
    for (const name of st.header.tensors.keys()) w.expect(file, name);
    for (const t of w.table) {
      if (!st.header.tensors.has(t.name)) throw new CheckpointError(`${file}: missing tensor "${t.name}" (expected shape [${t.shape}] from config)`);
      w.read(st, file, t.name);
    }
    return w.done(st.header.metadata);
  } finally {
    st.close();
  }
}

/**
 * Reads weights split over several safetensors files as model.safetensors.index.json maps them;
 * every tensor must sit in the shard the index names, and the union must be exactly the model's.
 */
export function readShardedWeights(indexFile: string, config: ModelConfig, into?: ReadonlyMap<string, Float32Array>): ReadWeights {
  const index = readJson(indexFile) as { weight_map?: unknown };
  const wm = index?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new CheckpointError(`${indexFile}: field "weight_map": expected an object {tensor name: shard file}`);
  const map = wm as Record<string, unknown>;
  const w = new WeightReader(config, into, indexFile);
  for (const t of w.table) {
    if (!(t.name in map)) throw new CheckpointError(`${indexFile}: weight_map has no entry for tensor "${t.name}" (expected shape [${t.shape}] from config)`);
  }
  const byFile = new Map<string, string[]>();
  for (const [name, f] of Object.entries(map)) {
    if (typeof f !== 'string' || f.includes('/') || f.includes('\\') || f.startsWith('.')) {
      throw new CheckpointError(`${indexFile}: weight_map["${name}"]: expected a shard file name in the same directory, found ${JSON.stringify(f)}`);
    }
    w.expect(indexFile, name);
    if (!byFile.has(f)) byFile.set(f, []);
    byFile.get(f)!.push(name);
  }
  let metadata: Record<string, string> = {};
  for (const [f, names] of byFile) {
    const file = path.join(path.dirname(indexFile), f);
    if (!existsSync(file)) throw new CheckpointError(`${file}: shard named by ${indexFile} not found`);
    const st = wrap(() => SafetensorsFile.open(file));
    try {
      for (const name of st.header.tensors.keys()) {
        if (map[name] !== f) throw new CheckpointError(`${file}: holds tensor "${name}" which ${indexFile} places in ${JSON.stringify(map[name] ?? 'no shard')}`);
      }
      for (const name of names) {
        if (IGNORED_TENSOR.test(name)) continue;
        if (!st.header.tensors.has(name)) throw new CheckpointError(`${file}: missing tensor "${name}" (${indexFile} places it here)`);
        w.read(st, file, name);
      }
      metadata = { ...metadata, ...st.header.metadata };
    } finally {
      st.close();
    }
  }
  return w.done(metadata);
}

/** Reads the table's tensors one by one, checking dtype, shape and finiteness, and counts stored dtypes. */
class WeightReader {
  readonly table;
  private readonly byName;
  private readonly tensors = new Map<string, Float32Array>();
  private readonly counts = new Map<TorchDtype, number>();
  constructor(
    private readonly config: ModelConfig,
    private readonly into: ReadonlyMap<string, Float32Array> | undefined,
    where: string,
  ) {
    const t = paramTable(config);
    this.table = tensorsInHfOrder(t.tensors);
    this.byName = t.byName;
    if (into) {
      for (const x of this.table) {
        const v = into.get(x.name);
        if (!v || v.length !== x.size) throw new CheckpointError(`${where}: tensor "${x.name}" (shape [${x.shape}] from config) does not fit the model it is loaded into (${v ? `${v.length} values` : 'no such tensor'}): the checkpoint's config differs from the model's`);
      }
    }
  }
  /** Refuses a tensor name a checkpoint of the config cannot hold (transformers' inv_freq buffers are skipped). */
  expect(file: string, name: string): void {
    if (this.byName.has(name) || IGNORED_TENSOR.test(name)) return;
    throw new CheckpointError(
      `${file}: unexpected tensor "${name}" (not part of a ${this.config.model_type} model with this config` +
        (name === 'lm_head.weight' ? '; tie_word_embeddings is true' : /\.bias$/.test(name) ? '; this config has no such bias' : '') + ')',
    );
  }
  read(st: SafetensorsFile, file: string, name: string): void {
    const t = st.header.tensors.get(name)!;
    const want = this.byName.get(name)!;
    const dtype = TORCH_DTYPE[t.dtype];
    if (!dtype) throw new CheckpointError(`${file}: tensor "${name}": dtype ${t.dtype} cannot be read (expected F32, F16 or BF16)`);
    if (t.shape.length !== want.shape.length || t.shape.some((d, i) => d !== want.shape[i])) {
      throw new CheckpointError(`${file}: tensor "${name}": shape [${t.shape}], expected [${want.shape}] from config`);
    }
    const data = wrap(() => st.readF32(name));
    const bad = firstNonFinite(new Map([[name, data]]));
    if (bad) throw new CheckpointError(`${file}: tensor "${name}" has ${bad.value} at flat index ${bad.index} (non-finite weights: the checkpoint is corrupt or its training diverged)`);
    const dest = this.into?.get(name);
    if (dest) dest.set(data);
    this.tensors.set(name, dest ?? data);
    this.counts.set(dtype, (this.counts.get(dtype) ?? 0) + data.length);
  }
  done(metadata: Record<string, string>): ReadWeights {
    let dtype: TorchDtype = 'float32';
    let most = -1;
    for (const [d, n] of this.counts) if (n > most) [dtype, most] = [d, n];
    // in table (HF) order, whatever order the files held them in
    const tensors = new Map<string, Float32Array>();
    for (const t of this.table) tensors.set(t.name, this.tensors.get(t.name)!);
    return { tensors, metadata, dtype };
  }
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new CheckpointError(`${file}: not found`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** Re-throws format errors from the lower layers as CheckpointError (message unchanged). */
function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SafetensorsError || e instanceof ConfigError || e instanceof WeightsError || (e as Error).name === 'TokenizerError') {
      const c = new CheckpointError((e as Error).message);
      (c as { cause?: unknown }).cause = e;
      throw c;
    }
    throw e;
  }
}
