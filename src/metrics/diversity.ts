// Distinct equations (Wu et al. 2024, used by the paper §2.2): the share of a query's correct responses
// whose equation sequence is new — unique normalised equation sequences / correct responses.

import { MetricError } from './errors.js';

export interface TextVerdict {
  text: string;
  correct: boolean;
}

/**
 * Distinct equations of one query: |{equations(text) : correct}| / #correct, or null when no response is
 * correct (such a query is left out of the average, per the paper's definition "among correct
 * responses"). Two responses count as the same when their whole normalised equation sequences are equal
 * (order matters); responses without equations share the empty sequence.
 * Example: correct texts with equations [1+1=2], [1+1=2], [2*1=2] → 2/3.
 */
export function distinctEquations(
  responses: readonly TextVerdict[],
  equations: (text: string) => readonly string[],
): number | null {
  const seen = new Set<string>();
  let correct = 0;
  for (const r of responses) {
    if (!r.correct) continue;
    correct++;
    const eqs = equations(r.text);
    if (!Array.isArray(eqs)) throw new MetricError('distinctEquations', 'equations(text)', 'an array of strings', eqs);
    seen.add(JSON.stringify(eqs));
  }
  return correct === 0 ? null : seen.size / correct;
}
