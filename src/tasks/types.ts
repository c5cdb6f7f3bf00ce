// The Task contract: one file per task under src/tasks, pure and deterministic, registered by name
// in src/tasks/index.ts so a config can say `task: gsm8k`. Tasks import nothing of ours but small
// utilities.

export type Split = 'train' | 'dev' | 'test';

export interface Query {
  /** Stable across runs and machines (derived from the data, not from load order). */
  id: string;
  /** The problem as the dataset states it (not yet wrapped in a prompt template). */
  prompt: string;
  gold: { answer: string; solution?: string };
  /** Task-specific extras: difficulty level, subject, choices, unit tests… */
  meta?: Record<string, unknown>;
}

export interface Verdict {
  correct: boolean;
  /** The answer extracted from the text, or null when none could be found. */
  answer: string | null;
  /** Why: 'match', 'mismatch', 'no-answer', 'timeout', 'error: …' — a short human-readable reason. */
  reason: string;
}

export interface LoadOptions {
  /** Where the task data lives (default: BSTAR_DATA, else the package's own data/ folder). */
  dataDir?: string;
  /** Cap on rows (first n after the task's deterministic order). */
  limit?: number;
  /** Seed for generated tasks (arith) or deterministic subsampling. */
  seed?: number;
  /** Task-specific knobs (validated by the task; unknown keys are errors). */
  [key: string]: unknown;
}

export interface Task {
  readonly name: string;
  load(split: Split, opts?: LoadOptions): Query[] | Promise<Query[]>;
  /** The full prompt given to the policy (template and optional few-shot in the task file). */
  formatPrompt(query: Query): string;
  extractAnswer(text: string): string | null;
  /** Sync for pure tasks; the code task runs a sandbox and is async. */
  verify(text: string, query: Query): Verdict | Promise<Verdict>;
  /** Normalised equations of a solution, for the distinct-equations metric (math-like tasks). */
  equations?(text: string): string[];
  /** The gold worked solution as the policy should produce it (target text for SFT). */
  goldSolution(query: Query): string;
  /**
   * Up to `max` distinct correct worked solutions (the gold solution first), deterministic per query:
   * extra SFT targets (config sft.goldVariants). Optional; tasks without it give the gold solution only.
   */
  goldSolutions?(query: Query, max: number): string[];
  /** Stop strings that end a completion for this task. */
  readonly stop?: string[];
}

// ---------------------------------------------------------------------------------------------
// Registry and self-checks. A task module (src/tasks/<name>.ts) exports a Task and optionally a
// selfCheck(opts); src/tasks/index.ts maps each name to {task, selfCheck} and `bstar data check`
// runs every self-check.

export interface SelfCheckOptions {
  /** Where the shipped data lives (same resolution as LoadOptions.dataDir). */
  dataDir?: string;
  /** At most this many rows per split (a fast subset for `npm test`); default: every row. */
  limit?: number;
}

/**
 * One line of the `bstar data check` table: one check over one split. The plain form is "gold
 * verifies": `verified` of `rows` gold solutions judged correct, ok iff all are. A check with another
 * expectation (a shuffled gold answer rejected, a random letter near chance) says so with `check`,
 * `expect`, `rate` and an explicit `ok`.
 */
export interface SelfCheckRow {
  task: string;
  split: string;
  /** Rows the check ran over. */
  rows: number;
  /** Rows counted by the check: for a gold check, gold judged correct; for a rate check, the rows behind `rate`'s numerator or the rows that agreed with the expectation (the row's `check` says which). */
  verified: number;
  /** Rows that did not (may be capped; `rows - verified` is the count). */
  failures: { id: string; reason: string }[];
  ms: number;
  /** What was checked; default 'gold verifies'. */
  check?: string;
  /** What the rate must be, in words; default '= 100%'. */
  expect?: string;
  /** The measured rate the check is about, in [0, 1]; default verified / rows. */
  rate?: number;
  /** Whether the check passed; default verified === rows. */
  ok?: boolean;
  /** Extra measurements for the report (lengths, shares). */
  detail?: string;
}

export interface TaskModule {
  task: Task;
  selfCheck?(opts: SelfCheckOptions): SelfCheckRow[] | Promise<SelfCheckRow[]>;
}
