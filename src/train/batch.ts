// Training batches from variable-length (prompt, completion) token sequences.
//
// Each example s = prompt ++ completion becomes one row: inputs s[0..n−2], targets s[1..n−1],
// right-padded to the batch's longest row (T = max n − 1). The loss mask is 1 exactly where the
// target is a completion token; prompt targets and padding are 0. Attention is causal and per row,
// so no real token ever attends to padding or to another example.

export interface Example {
  prompt: ArrayLike<number>;
  completion: ArrayLike<number>;
}

export interface Batch {
  B: number;
  T: number;
  inputs: Int32Array; // [B, T]
  targets: Int32Array; // [B, T]
  mask: Float32Array; // [B, T] 1 on completion targets, else 0
  /** Number of unmasked (trained) tokens. */
  tokens: number;
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
  /** Longest row allowed (the model's maxSeq); an example with more than maxSeq + 1 tokens is refused. */
  maxSeq: number;
}

export function makeBatch(examples: Example[], opts: BatchOptions): Batch {
  if (examples.length === 0) throw new BatchError(0, 'examples', 'at least one example', 'an empty list');
  let T = 0;
  examples.forEach((ex, i) => {
    const check = (field: 'prompt' | 'completion', a: ArrayLike<number>) => {
      for (let j = 0; j < a.length; j++) {
        const t = a[j];
        if (!Number.isInteger(t) || t < 0 || t >= opts.vocabSize) throw new BatchError(i, `${field}[${j}]`, `a token id in [0, ${opts.vocabSize})`, String(t));
      }
    };
    check('prompt', ex.prompt);
    check('completion', ex.completion);
    if (ex.completion.length === 0) throw new BatchError(i, 'completion', 'at least one token', 'an empty completion');
    const n = ex.prompt.length + ex.completion.length;
    if (n < 2) throw new BatchError(i, 'prompt+completion', 'at least 2 tokens (one input, one target)', `${n}`);
    if (n - 1 > opts.maxSeq) throw new BatchError(i, 'prompt+completion', `at most maxSeq + 1 = ${opts.maxSeq + 1} tokens`, `${n}`);
    T = Math.max(T, n - 1);
  });
  const B = examples.length;
  const inputs = new Int32Array(B * T).fill(opts.padId);
  const targets = new Int32Array(B * T).fill(opts.padId);
  const mask = new Float32Array(B * T);
  let tokens = 0;
  examples.forEach((ex, b) => {
    const P = ex.prompt.length;
    const n = P + ex.completion.length;
    const at = (j: number) => (j < P ? ex.prompt[j] : ex.completion[j - P]);
    for (let t = 0; t < n - 1; t++) {
      inputs[b * T + t] = at(t);
      targets[b * T + t] = at(t + 1);
      if (t + 1 >= P) {
        mask[b * T + t] = 1;
        tokens++;
      }
    }
  });
  return { B, T, inputs, targets, mask, tokens };
}

/** Splits examples into consecutive micro-batches of at most `size` rows (one optimizer step's worth). */
export function microBatches(examples: Example[], size: number, opts: BatchOptions): Batch[] {
  if (!Number.isInteger(size) || size < 1) throw new BatchError(0, 'micro-batch size', 'a positive integer', String(size));
  const out: Batch[] = [];
  for (let i = 0; i < examples.length; i += size) out.push(makeBatch(examples.slice(i, i + size), opts));
  return out;
}
