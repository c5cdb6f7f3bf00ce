// Training batches from variable-length (prompt, completion) token sequences.
//
// Each example s = prompt ++ completion becomes one row: inputs s[0..n−2], targets s[1..n−1],
// right-padded to the batch's longest row (T = max n − 1). The loss mask is 1 exactly where the
// target is a completion token; prompt targets and padding are 0. Attention is causal and per row,
// so no real token ever attends to padding or to another example.
//
// An example with explicit `targets` (token-level supervision, e.g. a PRM's labels at its step tags)
// instead feeds all n tokens and takes the loss only at the listed completion positions, each with its
// own target token and weight (the mask holds the weight). Several targets at one position (a soft
// label: '+' with weight p, '-' with 1 − p) go to twin rows of the same input: row j carries the j-th
// target of every position. A row longer than maxSeq is cut, and the targets past the cut are dropped.

export interface Target {
  /** Completion index: the model has read prompt + completion[0..at]. */
  at: number;
  /** The token it should predict there. */
  token: number;
  /** Loss weight (> 0). */
  weight: number;
}

export interface Example {
  prompt: ArrayLike<number>;
  completion: ArrayLike<number>;
  /** Loss only at these completion positions, to these tokens (instead of next-token prediction). */
  targets?: readonly Target[];
}

export interface Batch {
  B: number;
  T: number;
  inputs: Int32Array; // [B, T]
  targets: Int32Array; // [B, T]
  mask: Float32Array; // [B, T] loss weight: 1 on completion targets (or the target's weight), else 0
  /** Sum of the loss weights (= trained tokens for plain examples). */
  tokens: number;
  /** Positions holding a real token (not padding). */
  real: number;
}

/** A bad example: names its index in the batch, the field, what was expected and what was found. */
export class BatchError extends Error {
  constructor(
    readonly example: number,
    readonly field: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`batch example ${example}: ${field} expected ${expected}, found ${found}`);
    this.name = 'BatchError';
  }
}

export interface BatchOptions {
  /** Token written into padded positions (never trained on, never attended to by real tokens). */
  padId: number;
  vocabSize: number;
  /** Longest row allowed (the model's maxSeq); a plain example with more than maxSeq + 1 tokens is refused. */
  maxSeq: number;
}

/** One row of a batch: input ids and its loss terms (position in the row, target, weight). */
interface Row {
  ids: ArrayLike<number>;
  length: number;
  /** Next-token prediction: every position's target is the next id (loss where marked). */
  shifted: boolean;
  marks: { t: number; target: number; w: number }[];
}

function checkIds(i: number, field: 'prompt' | 'completion', a: ArrayLike<number>, vocabSize: number): void {
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new BatchError(i, `${field}[${j}]`, `a token id in [0, ${vocabSize})`, String(t));
  }
}

/** The rows of one example (one, or one per target layer of an example with targets; none when every target is past maxSeq). */
function rowsOf(ex: Example, i: number, opts: BatchOptions): Row[] {
  checkIds(i, 'prompt', ex.prompt, opts.vocabSize);
  checkIds(i, 'completion', ex.completion, opts.vocabSize);
  const P = ex.prompt.length;
  const n = P + ex.completion.length;
  const ids = Array.from({ length: n }, (_, j) => (j < P ? ex.prompt[j] : ex.completion[j - P]));
  if (!ex.targets) {
    if (ex.completion.length === 0) throw new BatchError(i, 'completion', 'at least one token', 'an empty completion');
    if (n < 2) throw new BatchError(i, 'prompt+completion', 'at least 2 tokens (one input, one target)', `${n}`);
    if (n - 1 > opts.maxSeq) throw new BatchError(i, 'prompt+completion', `at most maxSeq + 1 = ${opts.maxSeq + 1} tokens`, `${n}`);
    const marks = [];
    for (let t = Math.max(0, P - 1); t < n - 1; t++) marks.push({ t, target: ids[t + 1], w: 1 });
    return [{ ids, length: n - 1, shifted: true, marks }];
  }
  if (P === 0) throw new BatchError(i, 'prompt', 'at least one token (e.g. BOS)', 'an empty prompt');
  const length = Math.min(n, opts.maxSeq);
  const layers: Row['marks'][] = [];
  const seen = new Map<number, number>();
  ex.targets.forEach((g, k) => {
    if (!Number.isInteger(g.at) || g.at < 0 || g.at >= ex.completion.length) throw new BatchError(i, `targets[${k}].at`, `a completion index in [0, ${ex.completion.length})`, String(g.at));
    if (!Number.isInteger(g.token) || g.token < 0 || g.token >= opts.vocabSize) throw new BatchError(i, `targets[${k}].token`, `a token id in [0, ${opts.vocabSize})`, String(g.token));
    if (!(g.weight > 0 && Number.isFinite(g.weight))) throw new BatchError(i, `targets[${k}].weight`, 'a finite number > 0', String(g.weight));
    const t = P + g.at;
    if (t >= length) return; // past the context: not trained on
    const layer = seen.get(t) ?? 0;
    seen.set(t, layer + 1);
    (layers[layer] ??= []).push({ t, target: g.token, w: g.weight });
  });
  return layers.map((marks) => ({ ids: ids.slice(0, length), length, shifted: false, marks }));
}

function assemble(rows: readonly Row[]): Batch {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  return { B, T, inputs: new Int32Array(B * T), targets: new Int32Array(B * T), mask: new Float32Array(B * T), tokens: 0, real: 0 };
}

function fill(rows: readonly Row[], padId: number): Batch {
  const b = assemble(rows);
  b.inputs.fill(padId);
  b.targets.fill(padId);
  rows.forEach((r, row) => {
    for (let t = 0; t < r.length; t++) {
      b.inputs[row * b.T + t] = r.ids[t];
      if (r.shifted) b.targets[row * b.T + t] = r.ids[t + 1];
    }
    b.real += r.length;
    for (const m of r.marks) {
      b.targets[row * b.T + m.t] = m.target;
      b.mask[row * b.T + m.t] = m.w;
      b.tokens += m.w;
    }
  });
  return b;
}

function allRows(examples: readonly Example[], opts: BatchOptions): Row[] {
  if (examples.length === 0) throw new BatchError(0, 'examples', 'at least one example', 'an empty list');
  const rows = examples.flatMap((ex, i) => rowsOf(ex, i, opts));
  if (rows.length === 0) throw new BatchError(0, 'targets', `at least one target within maxSeq = ${opts.maxSeq} tokens`, `${examples.length} examples without one`);
  return rows;
}

export function makeBatch(examples: readonly Example[], opts: BatchOptions): Batch {
  return fill(allRows(examples, opts), opts.padId);
}

/**
 * How a step's rows are split into micro-batches: 'order' cuts the rows as they come into runs of
 * `size`; 'length' (the default) orders them by length and cuts where that saves padding (lengthSplit).
 * The step's loss and gradient are the same either way (the trainer normalises over all its rows); only
 * the floating-point summation order differs.
 */
export type MicroBatchSplit = 'order' | 'length';

/**
 * Per-micro-batch cost in positions, for lengthSplit: what one more forward/backward costs beyond its
 * positions (kernel launches, thread hand-offs, a pass over the gradient buffers). Measured on the demo's
 * tiny model (2 threads, Intel Xeon, 2026-12-03): splitting its 32-row steps into 4 length-sorted
 * micro-batches instead of 1 cut 25 % of the positions and 20 % of the step time, and 6 were slower than 4.
 */
export const MICRO_BATCH_OVERHEAD = 256;

/**
 * Groups of row indices (each group ≤ size rows, every row once) minimising the positions computed
 * (rows × the group's longest row) plus `overhead` per group: the rows sorted by length (ties by index),
 * cut by a dynamic program over the cut points. Pure; deterministic.
 */
export function lengthSplit(lengths: readonly number[], size: number, overhead = MICRO_BATCH_OVERHEAD): number[][] {
  const idx = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const n = idx.length;
  const best = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let j = 1; j <= n; j++) {
    const longest = lengths[idx[j - 1]];
    for (let i = Math.max(0, j - size); i < j; i++) {
      const c = best[i] + (j - i) * longest + overhead;
      if (c < best[j]) (best[j] = c), (cut[j] = i);
    }
  }
  const groups: number[][] = [];
  for (let j = n; j > 0; j = cut[j]) groups.unshift(idx.slice(cut[j], j));
  return groups;
}

/**
 * Splits examples into micro-batches of at most `size` rows (one optimizer step's worth); see
 * MicroBatchSplit. An example with soft targets has twin rows, which may fall into different
 * micro-batches (the step's loss is normalised over all of them together, so the split does not change it).
 */
export function microBatches(examples: readonly Example[], size: number, opts: BatchOptions, split: MicroBatchSplit = 'length'): Batch[] {
  if (!Number.isInteger(size) || size < 1) throw new BatchError(0, 'micro-batch size', 'a positive integer', String(size));
  const rows = allRows(examples, opts);
  if (split === 'length') return lengthSplit(rows.map((r) => r.length), size).map((g) => fill(g.map((i) => rows[i]), opts.padId));
  const out: Batch[] = [];
  for (let i = 0; i < rows.length; i += size) out.push(fill(rows.slice(i, i + size), opts.padId));
  return out;
}
