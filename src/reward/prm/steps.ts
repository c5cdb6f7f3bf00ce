// Splitting a solution into reasoning steps (the unit a PRM labels and scores).
//
// A solution is `steps.join(separator)` exactly, so prefixes and the tagged PRM input can be rebuilt
// from the steps without re-reading the text. A trailing answer-only segment ("#### 42" in arith /
// GSM8K, "# Answer\n\n42" in MATH) is not a step of its own: it is merged into the step before it, so
// the last step is "the last reasoning step plus its answer" (MATH-Shepherd's convention).
import { PrmError } from './errors.js';

export interface StepSplit {
  /** 'line': one step per line (arith, GSM8K); 'paragraph': split on "\n\n" (MATH); or any literal separator. */
  separator: string;
  /** A segment matching this (from its start) is an answer line and joins the step before it. */
  answerPattern: string | null;
}

export const STEP_SPLITS: Record<'line' | 'paragraph', StepSplit> = {
  line: { separator: '\n', answerPattern: '^\\s*####' },
  paragraph: { separator: '\n\n', answerPattern: '^\\s*# Answer' },
};

/** 'line' | 'paragraph' | a JSON-ish spec → a StepSplit; `where` names the option in errors. */
export function resolveStepSplit(spec: string | StepSplit, where = 'step split'): StepSplit {
  if (typeof spec === 'string') {
    const s = STEP_SPLITS[spec as 'line' | 'paragraph'];
    if (!s) throw new PrmError(where, 'steps', '"line" or "paragraph" (or {separator, answerPattern})', JSON.stringify(spec));
    return s;
  }
  if (typeof spec.separator !== 'string' || spec.separator.length === 0) throw new PrmError(where, 'separator', 'a non-empty string', JSON.stringify(spec.separator));
  if (spec.answerPattern !== null && typeof spec.answerPattern !== 'string') throw new PrmError(where, 'answerPattern', 'a regular expression string or null', JSON.stringify(spec.answerPattern));
  return spec;
}

/**
 * The steps of `text` (non-empty after trimming, in order); `steps.join(split.separator)` gives back
 * `text` with empty segments (blank lines, trailing separators) removed.
 */
export function splitSteps(text: string, split: StepSplit): string[] {
  const parts = text.split(split.separator).filter((p) => p.trim().length > 0);
  if (split.answerPattern === null || parts.length < 2) return parts;
  const re = new RegExp(split.answerPattern);
  const out: string[] = [];
  let inAnswer = false; // everything from the answer marker on ("# Answer\n\n5") is the answer
  for (const p of parts) {
    inAnswer ||= out.length > 0 && re.test(p);
    if (inAnswer) out[out.length - 1] += split.separator + p;
    else out.push(p);
  }
  return out;
}

/** The completion text made of the first `n` steps, ending with the separator when more is to come. */
export function stepPrefix(steps: readonly string[], n: number, split: StepSplit): string {
  if (n === 0) return '';
  return steps.slice(0, n).join(split.separator) + split.separator;
}
