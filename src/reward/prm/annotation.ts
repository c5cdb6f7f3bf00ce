// Annotated solutions (JSONL, one solution per line) as written by `bstar prm annotate` and read by
// `bstar prm train` / `eval`:
//
//   {"id": "q12#3", "queryId": "q12", "prompt": "<formatted prompt>", "steps": ["…", "…"],
//    "hard": [1, 0], "soft": [0.625, 0], "correct": false, "source": "policy" | "slip" | "lucky",
//    "rollouts": 8, "truth": [1, 0]}          truth: known step labels of a corrupted gold solution
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { JsonlError, readJsonlLines, type JsonlText } from '../../util/jsonl.js';
import { AnnotationError } from './errors.js';

export interface Annotation {
  id: string;
  queryId: string;
  prompt: string;
  steps: string[];
  hard: number[];
  soft: number[];
  correct: boolean;
  source: string;
  rollouts: number;
  truth?: number[];
}

/** Reads and validates an annotation file; the first problem is an AnnotationError naming line and field. */
export function readAnnotations(file: string): Annotation[] {
  if (!existsSync(file)) throw new AnnotationError(file, '(file)', 'an annotation JSONL file (bstar prm annotate --out)', 'no such file');
  return annotationLines(file, 'error').rows.map(({ value, line }) => annotationOf(value, `${file}:${line}`));
}

/** The lines of an annotation file (the one JSONL reader); a bad line → AnnotationError naming file:line. */
function annotationLines(file: string, torn: 'error' | 'report'): JsonlText {
  try {
    return readJsonlLines(file, { torn });
  } catch (e) {
    if (e instanceof JsonlError) throw new AnnotationError(e.line === undefined ? file : `${file}:${e.line}`, e.line === undefined ? '(file)' : '(line)', e.expected, e.found);
    throw e;
  }
}

/** An annotation line's object, validated; `at` (file:line) names it in errors. */
function annotationOf(o: Record<string, unknown>, at: string): Annotation {
  for (const f of ['id', 'queryId', 'prompt'] as const) {
    if (typeof o[f] !== 'string') throw new AnnotationError(at, f, 'a string', o[f] === undefined ? 'missing' : JSON.stringify(o[f]));
  }
  const steps = o.steps;
  if (!Array.isArray(steps) || steps.length === 0) throw new AnnotationError(at, 'steps', 'a non-empty array of step strings', steps === undefined ? 'missing' : JSON.stringify(steps));
  steps.forEach((s, i) => {
    if (typeof s !== 'string' || s.trim() === '') throw new AnnotationError(at, `steps[${i}]`, 'a non-empty string', JSON.stringify(s));
  });
  const labels = (f: 'hard' | 'soft' | 'truth', ok: (v: number) => boolean, expected: string): number[] => {
    const v = o[f];
    if (!Array.isArray(v)) throw new AnnotationError(at, f, `an array of ${steps.length} labels (one per step)`, v === undefined ? 'missing' : JSON.stringify(v));
    if (v.length !== steps.length) throw new AnnotationError(at, f, `${steps.length} labels (one per step)`, `${v.length}`);
    v.forEach((x, i) => {
      if (typeof x !== 'number' || !ok(x)) throw new AnnotationError(at, `${f}[${i}]`, expected, JSON.stringify(x));
    });
    return v as number[];
  };
  const hard = labels('hard', (x) => x === 0 || x === 1, '0 or 1');
  const soft = labels('soft', (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
  const truth = o.truth === undefined ? undefined : labels('truth', (x) => x === 0 || x === 1, '0 or 1');
  if (typeof o.correct !== 'boolean') throw new AnnotationError(at, 'correct', 'true or false', o.correct === undefined ? 'missing' : JSON.stringify(o.correct));
  if (!Number.isInteger(o.rollouts) || (o.rollouts as number) < 0) throw new AnnotationError(at, 'rollouts', 'an integer ≥ 0', JSON.stringify(o.rollouts));
  return {
    id: o.id as string, queryId: o.queryId as string, prompt: o.prompt as string, steps: steps as string[], hard, soft,
    correct: o.correct, source: typeof o.source === 'string' ? o.source : 'policy', rollouts: o.rollouts as number, ...(truth ? { truth } : {}),
  };
}

/**
 * Query ids already annotated in `file`, for resuming. A torn last line (a crash mid-write) is cut
 * off the file, and a last line without its newline gets one, so the next append starts a line of
 * its own (an append glued to a torn line would spoil the row after it).
 */
export function annotatedQueries(file: string): Set<string> {
  const done = new Set<string>();
  if (!existsSync(file)) return done;
  const { rows, torn, unterminated } = annotationLines(file, 'report');
  for (const { value, line } of rows) done.add(annotationOf(value, `${file}:${line}`).queryId);
  if (torn) truncateSync(file, Buffer.byteLength(readFileSync(file, 'utf8').slice(0, torn.at)));
  else if (unterminated) appendFileSync(file, '\n');
  return done;
}

export function appendAnnotations(file: string, rows: readonly Annotation[]): void {
  if (rows.length === 0) return;
  appendFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}
