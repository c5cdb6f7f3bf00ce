// Step-level metrics of a PRM: accuracy at a 0.5 threshold and ROC AUC (the probability that a random
// positive step scores above a random negative one, ties counting half: the Mann–Whitney U statistic).
import { PrmError } from './errors.js';

/** ROC AUC of `scores` against 0/1 `labels`; NaN when one class is absent. O(n log n), ties averaged. */
export function rocAuc(scores: readonly number[], labels: readonly number[]): number {
  if (scores.length !== labels.length) throw new PrmError('rocAuc', 'labels', `${scores.length} labels (one per score)`, String(labels.length));
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // average ranks (1-based) over ties
  const rank = new Float64Array(scores.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) rank[idx[k]] = r;
    i = j + 1;
  }
  let nPos = 0;
  let sumPos = 0;
  labels.forEach((l, i) => {
    if (l !== 0 && l !== 1) throw new PrmError('rocAuc', `labels[${i}]`, '0 or 1', String(l));
    if (l === 1) {
      nPos++;
      sumPos += rank[i];
    }
  });
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (sumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Share of steps where (score > 0.5) equals the label. */
export function stepAccuracy(scores: readonly number[], labels: readonly number[]): number {
  if (scores.length === 0) return NaN;
  let ok = 0;
  scores.forEach((s, i) => {
    if ((s > 0.5 ? 1 : 0) === labels[i]) ok++;
  });
  return ok / scores.length;
}
