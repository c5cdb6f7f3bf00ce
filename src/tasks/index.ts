// The task registry: a config says `task: gsm8k` and gets the Task here. Each task module exports
// `task` and optionally `selfCheck`; adding a task is one import line and one name in MODULES.
import * as arc from './arc.js';
import * as arith from './arith.js';
import * as gsm8k from './gsm8k.js';
import type { SelfCheckOptions, SelfCheckRow, Task, TaskModule } from './types.js';

export type { Task, Query, Verdict, Split, LoadOptions, SelfCheckRow, SelfCheckOptions, TaskModule } from './types.js';
export { DataError, MissingDataError, MalformedDataError } from './data.js';
export { TaskOptionError } from './options.js';

const MODULES: Record<string, TaskModule> = { arith, gsm8k, arc };

/** An unknown task name. */
export class UnknownTaskError extends Error {
  constructor(readonly taskName: string) {
    super(`unknown task "${taskName}"; known tasks: ${taskNames().join(', ')}`);
    this.name = 'UnknownTaskError';
  }
}

/** Registered task names, in registration order (the default task first). */
export function taskNames(): string[] {
  return Object.keys(MODULES);
}

export function getTaskModule(name: string): TaskModule {
  const m = Object.hasOwn(MODULES, name) ? MODULES[name] : undefined;
  if (m === undefined) throw new UnknownTaskError(name);
  return m;
}

export function getTask(name: string): Task {
  return getTaskModule(name).task;
}

/** Run the self-checks of one task (or all); a task without one contributes no rows. */
export async function runSelfChecks(opts: SelfCheckOptions & { task?: string } = {}): Promise<SelfCheckRow[]> {
  const names = opts.task === undefined ? taskNames() : [opts.task];
  const rows: SelfCheckRow[] = [];
  for (const name of names) {
    const m = getTaskModule(name);
    if (m.selfCheck) rows.push(...(await m.selfCheck({ dataDir: opts.dataDir, full: opts.full })));
  }
  return rows;
}
