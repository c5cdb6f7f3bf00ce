// Choosing the next token from one row of logits: greedy at temperature 0 (exact argmax, ties to the
// lowest id), otherwise softmax(logits / T) truncated by top-k then top-p (nucleus, renormalised
// after top-k as transformers does), sampled with one uniform coin from the sequence's own Rng.
// Pure functions; float64 throughout.
import type { Rng } from '../util/rng.js';

export interface TokenChoiceParams {
  /** ≥ 0; 0 = greedy. */
  temperature: number;
  /** In (0, 1]; 1 = off. */
  topP: number;
  /** 0 = off, else keep the k most likely. */
  topK: number;
}

export interface TokenChoice {
  token: number;
  /** log p(token) under the model itself: log_softmax(logits) (temperature 1, full vocabulary). */
  modelLogprob: number;
  /** log q(token) under the distribution actually sampled from (T, top-k, top-p); 0 when greedy. */
  samplerLogprob: number;
}

/** log Σ exp(logits[off .. off+V)). */
export function logSumExp(logits: ArrayLike<number>, off: number, V: number): number {
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (logits[off + i] > mx) mx = logits[off + i];
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp(logits[off + i] - mx);
  return mx + Math.log(s);
}

/** Index of the largest logit; the lowest id among equals. */
export function argmax(logits: ArrayLike<number>, off: number, V: number): number {
  let best = 0;
  for (let i = 1; i < V; i++) if (logits[off + i] > logits[off + best]) best = i;
  return best;
}

/** Reusable buffers for chooseToken (one per sampler; sized to V). */
export interface ChoiceScratch {
  p: Float64Array;
  order: number[];
}

export function createChoiceScratch(V: number): ChoiceScratch {
  return { p: new Float64Array(V), order: new Array<number>(V) };
}

/** The next token from logits[off .. off+V); consumes exactly one rng.float() unless greedy. */
export function chooseToken(logits: ArrayLike<number>, off: number, V: number, params: TokenChoiceParams, rng: Rng, sc: ChoiceScratch): TokenChoice {
  if (params.temperature === 0) {
    const lse = logSumExp(logits, off, V);
    const token = argmax(logits, off, V);
    return { token, modelLogprob: logits[off + token] - lse, samplerLogprob: 0 };
  }
  const invT = 1 / params.temperature;
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (logits[off + i] > mx) mx = logits[off + i];
  const p = sc.p;
  let Z = 0;
  for (let i = 0; i < V; i++) {
    p[i] = Math.exp((logits[off + i] - mx) * invT);
    Z += p[i];
  }
  // at T = 1 these are logSumExp's own terms (x·1 = x), summed in its order: reuse them
  const lse = invT === 1 ? mx + Math.log(Z) : logSumExp(logits, off, V);
  const truncate = (params.topK > 0 && params.topK < V) || params.topP < 1;
  let kept = V;
  let mass = Z;
  const order = sc.order;
  if (truncate) {
    // Only top-p: a token with p < (1 − topP)·Z/V can never be in the nucleus (if it were, the mass
    // left after the tokens above it, ≥ (1 − topP)·Z, would sit on at most V tokens each ≤ p), so
    // only the others are sorted — a few hundred instead of the whole vocabulary for real models.
    const useTopK = params.topK > 0 && params.topK < V;
    const thr = useTopK ? 0 : (((1 - params.topP) * Z) / V) * 0.999;
    let m = 0;
    for (let i = 0; i < V; i++) if (p[i] >= thr) order[m++] = i;
    order.length = m;
    order.sort((a, b) => p[b] - p[a] || a - b);
    kept = useTopK ? params.topK : m;
    // the nucleus is taken relative to the top-k mass (renormalised, as transformers does), or to Z
    mass = useTopK ? 0 : Z;
    if (useTopK) for (let i = 0; i < kept; i++) mass += p[order[i]];
    if (params.topP < 1) {
      let cum = 0;
      let m = 0;
      while (m < kept) {
        cum += p[order[m]];
        m++;
        if (cum / mass >= params.topP) break;
      }
      kept = m;
      mass = cum;
    }
  }
  const u = rng.float() * mass;
  let cum = 0;
  let token = -1;
  for (let i = 0; i < kept; i++) {
    const id = truncate ? order[i] : i;
    cum += p[id];
    if (u < cum) {
      token = id;
      break;
    }
  }
  if (token < 0) {
    // u landed within rounding of the total: take the last candidate with non-zero probability
    for (let i = kept - 1; i >= 0 && token < 0; i--) {
      const id = truncate ? order[i] : i;
      if (p[id] > 0) token = id;
    }
  }
  return { token, modelLogprob: logits[off + token] - lse, samplerLogprob: Math.log(p[token] / mass) };
}

/** One of the most likely next tokens: its id and log p under the model (log_softmax of the raw logits). */
export interface TopLogprob {
  token: number;
  logprob: number;
}

/**
 * The k most likely tokens of logits[off .. off+V) with their log-probabilities under the model
 * (temperature 1, whole vocabulary), most likely first, ties to the lower id. `lse` is
 * logSumExp(logits, off, V) when the caller has it.
 * Example: topLogprobs([0, ln 3], 0, 2, 1) → [{token: 1, logprob: ln 0.75}].
 */
export function topLogprobs(logits: ArrayLike<number>, off: number, V: number, k: number, lse = logSumExp(logits, off, V)): TopLogprob[] {
  const n = Math.min(k, V);
  const ids: number[] = []; // kept sorted: best first
  const better = (a: number, b: number) => logits[off + a] > logits[off + b] || (logits[off + a] === logits[off + b] && a < b);
  for (let i = 0; i < V && n > 0; i++) {
    if (ids.length === n && !better(i, ids[n - 1])) continue;
    let j = ids.length < n ? ids.length : n - 1;
    if (ids.length < n) ids.push(i);
    while (j > 0 && better(i, ids[j - 1])) {
      ids[j] = ids[j - 1];
      j--;
    }
    ids[j] = i;
  }
  return ids.map((token) => ({ token, logprob: logits[off + token] - lse }));
}
