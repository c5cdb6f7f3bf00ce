/** Bad input to a metric: names the metric, the argument, what was expected and what was found. */
export class MetricError extends RangeError {
  constructor(
    readonly metric: string,
    readonly field: string,
    readonly expected: string,
    readonly found: unknown,
  ) {
    super(`${metric}: ${field} must be ${expected}, found ${String(found)}`);
    this.name = 'MetricError';
  }
}

/** Throws unless `x` is an integer in [lo, hi]. */
export function checkInt(metric: string, field: string, x: number, lo: number, hi: number): void {
  if (!Number.isInteger(x) || x < lo || x > hi) {
    throw new MetricError(metric, field, `an integer in [${lo}, ${hi}]`, x);
  }
}
