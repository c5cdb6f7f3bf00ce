// Log-probabilities of completions under the model: for each example of a batch, the sum over its
// completion tokens of log p(token | everything before it). Uses the same masked rows as training.
import type { LlamaModel } from '../model/llama.js';
import { allocFloat } from '../model/params.js';
import type { Batch } from './batch.js';

/** Σ log p over each row's unmasked (completion) targets, one value per example, in float64. */
export function completionLogprobs(model: LlamaModel, batch: Batch): Float64Array {
  const { B, T } = batch;
  // Weight 1 on completion rows: the fused cross-entropy leaves losses[n] = −log p(target) there.
  const weights = allocFloat(model.dtype, B * T);
  weights.set(batch.mask);
  model.forward(batch.inputs, batch.targets, weights, B, T);
  const out = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) if (batch.mask[b * T + t] !== 0) s -= model.acts.losses[b * T + t];
    out[b] = s;
  }
  return out;
}
