// A rule-based process reward for tasks whose solutions annotate each step as `<<a op b=c>>`
// (arith, GSM8K format): a PrmScorer that needs no model. It stands in for the paper's trained PRM on
// the embedded task, where "right answer, wrong steps" samples are common at high temperature.
//
// Step scores, one per annotated equation plus one for the final answer, each 1 or 0:
//   equation j   1 iff its left side evaluates exactly to its right side and every operand is a
//                number of the question (digits or a factor word: twice, half, …) or an earlier result
//   final        1 iff the `#### answer` equals the last equation's result
// A text without any equation gets [0] (no work shown). Combined as usual: reward = answer + prmMin.
import { evalFlat, numbersInText, parseNumber } from '../tasks/numeric.js';
import type { PrmScorer } from './combine.js';

const WORD_NUMBERS: Record<string, number> = {
  twice: 2, half: 2, three: 3, third: 3, four: 4, quarter: 4, five: 5, fifth: 5,
  six: 6, sixth: 6, seven: 7, seventh: 7, eight: 8, eighth: 8, nine: 9, ninth: 9,
};

/** Numbers a solution may use as given: the question's digits and factor words. */
export function questionNumbers(question: string): Set<number> {
  const out = new Set(numbersInText(question));
  for (const w of question.toLowerCase().match(/[a-z]+/g) ?? []) if (w in WORD_NUMBERS) out.add(WORD_NUMBERS[w]);
  return out;
}

/**
 * The step scores of one solution. Example: question "Ann has 3 pens. She gets 4 more. …",
 * text "Ann has <<3+4=7>>7.\n#### 7" → [1, 1]; "…<<3+4=8>>8.\n#### 8" → [0, 1].
 */
export function equationStepScores(question: string, text: string): number[] {
  const known = questionNumbers(question);
  const scores: number[] = [];
  let last: number | null = null;
  for (const m of text.matchAll(/<<([^<>]*)>>/g)) {
    const body = m[1].replace(/\s+/g, '');
    const eq = body.lastIndexOf('=');
    const lhs = eq > 0 ? body.slice(0, eq) : '';
    const rhs = eq > 0 ? parseNumber(body.slice(eq + 1)) : null;
    const value = lhs ? evalFlat(lhs) : null;
    const operands = lhs.split(/(?<=\d)[-+*/]/).map((x) => parseNumber(x));
    const ok = value !== null && rhs !== null && Math.abs(value - rhs) < 1e-9 && operands.every((x) => x !== null && known.has(x));
    scores.push(ok ? 1 : 0);
    if (rhs !== null) known.add(rhs);
    last = rhs;
  }
  if (scores.length === 0) return [0];
  const at = text.lastIndexOf('####');
  const answer = at < 0 ? null : numbersInText(text.slice(at + 4).split('\n', 1)[0])[0] ?? null;
  scores.push(answer !== null && last !== null && Math.abs(answer - last) < 1e-9 ? 1 : 0);
  return scores;
}

/** The rule-based scorer over {query (prompt text), text} items. */
export const equationCheckScorer: PrmScorer = async (items) => items.map((it) => equationStepScores(it.query, it.text));
