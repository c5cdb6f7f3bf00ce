import type { Sample } from '../../src/util/sample.js';

/** A scored sample with only the fields selection looks at set meaningfully. */
export function mk(queryId: string, text: string, reward: number, correct: boolean, temperature = 1): Sample {
  return { queryId, iteration: 1, temperature, text, tokens: text.length, logprob: -1, answer: correct ? 'a' : 'b', correct, reward };
}
