// Task knobs (LoadOptions): the keys every task accepts, the check that refuses unknown keys, and
// small validators that name the task, the knob, what was expected and what was found.
import type { LoadOptions } from './types.js';

/** A task knob (LoadOptions key) is unknown or has a bad value. */
export class TaskOptionError extends Error {
  constructor(
    message: string,
    readonly task: string,
    readonly option: string,
  ) {
    super(message);
    this.name = 'TaskOptionError';
  }
}

/** Keys every task accepts (see LoadOptions). */
export const COMMON_KNOBS = ['dataDir', 'limit', 'seed'] as const;

/** Throws on a key that is neither common nor in `known`; checks the common keys' types. */
export function checkKnobs(task: string, opts: LoadOptions, known: readonly string[]): void {
  const all = [...COMMON_KNOBS, ...known];
  for (const key of Object.keys(opts)) {
    if (opts[key] === undefined) continue;
    if (!all.includes(key)) {
      throw new TaskOptionError(`task ${task}: unknown option "${key}"; known options: ${all.join(', ')}`, task, key);
    }
  }
  if (opts.limit !== undefined) intKnob(task, 'limit', opts.limit, 0);
  if (opts.seed !== undefined) intKnob(task, 'seed', opts.seed, 0, 2 ** 32 - 1);
  if (opts.dataDir !== undefined && typeof opts.dataDir !== 'string') {
    throw new TaskOptionError(`task ${task}: option "dataDir" must be a path string, found ${typeof opts.dataDir}`, task, 'dataDir');
  }
}

/** An integer knob in [min, max]. */
export function intKnob(task: string, key: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new TaskOptionError(`task ${task}: option "${key}" must be an integer ${range}, found ${JSON.stringify(v)}`, task, key);
  }
  return v;
}

/** A number knob in [min, max]. */
export function numberKnob(task: string, key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new TaskOptionError(`task ${task}: option "${key}" must be a number in [${min}, ${max}], found ${JSON.stringify(v)}`, task, key);
  }
  return v;
}

/** An integer range knob [lo, hi] with min ≤ lo ≤ hi ≤ max. */
export function rangeKnob(task: string, key: string, v: unknown, min: number, max: number): [number, number] {
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    !v.every((x) => typeof x === 'number' && Number.isInteger(x)) ||
    v[0] < min ||
    v[1] > max ||
    v[0] > v[1]
  ) {
    throw new TaskOptionError(
      `task ${task}: option "${key}" must be [lo, hi] with integers ${min} ≤ lo ≤ hi ≤ ${max}, found ${JSON.stringify(v)}`,
      task,
      key,
    );
  }
  return [v[0], v[1]];
}

/** Apply `limit` (first n rows in the task's deterministic order). */
export function applyLimit<T>(rows: T[], limit: unknown): T[] {
  return typeof limit === 'number' ? rows.slice(0, limit) : rows;
}
