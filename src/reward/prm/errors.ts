// Errors of the PRM pieces: each names the file (or input), the line/field, what was expected and
// what was found.

export class PrmError extends Error {
  override readonly name: string = 'PrmError';
  constructor(
    /** File or input the problem is in (annotation JSONL, prm.json, a checkpoint dir, …). */
    readonly where: string,
    /** Line / field / option, e.g. "line 3: labels" or "step_tag". */
    readonly field: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${where}: ${field}: expected ${expected}, found ${found}`);
  }
}

/** A bad annotation file (missing steps, labels of the wrong length or range, bad JSON). */
export class AnnotationError extends PrmError {
  override readonly name = 'AnnotationError';
}

/** A PRM checkpoint without its prm.json / step tag, or a vocabulary that does not fit. */
export class PrmCheckpointError extends PrmError {
  override readonly name = 'PrmCheckpointError';
}
