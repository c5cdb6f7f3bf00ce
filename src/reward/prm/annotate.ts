// MATH-Shepherd annotation: sample solutions from a generator, split them into steps, and for every
// step prefix roll out N completions with a completer policy; a step's label is whether (hard) / how
// often (soft) those completions reach the gold answer. One batched generate call per chunk of
// queries carries every prefix of every solution (the local sampler prefills each prefix once and
// shares it across its N rollouts). Generator and completer are Policies: the local engine or a fleet.
import type { Policy } from '../../policy/types.js';
import type { Query, Task } from '../../tasks/types.js';
import { appendAnnotations, annotatedQueries, type Annotation } from './annotation.js';
import { corruptArith, type CorruptionKind } from './corrupt.js';
import { labelsFromRollouts } from './labels.js';
import { splitSteps, stepPrefix, type StepSplit } from './steps.js';

export interface CompletionRequest {
  /** Names the request's random stream. */
  id: string;
  prompt: string;
  n: number;
}

/** Completes each prompt n times at the given temperature (the texts, without the prompt). */
export type Completer = (reqs: readonly CompletionRequest[], temperature: number) => string[][] | Promise<string[][]>;

/**
 * A Completer over a Policy's sampling (one sample() call per distinct n, requests keeping their ids, so
 * each (id, sample index) draws its own random stream from `seed`); `tokens` counts the generated tokens.
 */
export function policyCompleter(policy: Policy, o: { seed: number; maxNewTokens: number; stop?: string[] }): Completer & { tokens: number } {
  const f = (async (reqs: readonly CompletionRequest[], temperature: number) => {
    const out: string[][] = new Array(reqs.length);
    for (const n of [...new Set(reqs.map((r) => r.n))]) {
      const idx = reqs.flatMap((r, i) => (r.n === n ? [i] : []));
      const { completions, stats } = await policy.sample(idx.map((i) => ({ id: reqs[i].id, prompt: reqs[i].prompt })), {
        n, temperature, topP: 1, maxTokens: o.maxNewTokens, stop: o.stop ?? [], seed: o.seed,
      });
      f.tokens += stats.generatedTokens;
      idx.forEach((i, k) => (out[i] = completions[k].map((c) => c.text)));
    }
    return out;
  }) as Completer & { tokens: number };
  f.tokens = 0;
  return f;
}

export interface AnnotateOptions {
  split: StepSplit;
  /** Policy solutions sampled per query. */
  samplesPerQuery: number;
  /** Temperature of those solutions. */
  temperature: number;
  /** Completions per step prefix (MATH-Shepherd's N). */
  rollouts: number;
  rolloutTemperature: number;
  /** Corrupted gold solutions added per query and kind (arith only), e.g. {slip: 1, lucky: 1}. */
  corrupt?: Partial<Record<CorruptionKind, number>>;
  seed: number;
}

/** Annotates the solutions of a chunk of queries (generation, corruption, rollouts, labels). */
export async function annotateChunk(task: Task, queries: readonly Query[], generator: Completer, completer: Completer, o: AnnotateOptions): Promise<Annotation[]> {
  const sols: { q: Query; text: string; source: string; truth?: number[] }[] = [];
  if (o.samplesPerQuery > 0) {
    const gen = await generator(queries.map((q) => ({ id: `gen:${q.id}`, prompt: task.formatPrompt(q), n: o.samplesPerQuery })), o.temperature);
    queries.forEach((q, i) => gen[i].forEach((text) => sols.push({ q, text, source: 'policy' })));
  }
  for (const [kind, count] of Object.entries(o.corrupt ?? {}) as [CorruptionKind, number][]) {
    for (const q of queries) {
      for (let c = 0; c < count; c++) {
        const bad = corruptArith(q, kind, o.seed + c);
        if (bad) sols.push({ q, text: bad.text, source: kind, truth: bad.truth });
      }
    }
  }
  const items = sols
    .map((s) => ({ ...s, steps: splitSteps(s.text, o.split) }))
    .filter((s) => s.steps.length > 0 && (!s.truth || s.truth.length === s.steps.length));
  const reqs: { item: number; step: number; req: CompletionRequest }[] = [];
  items.forEach((s, k) => {
    for (let i = 1; i < s.steps.length; i++) {
      reqs.push({ item: k, step: i, req: { id: `roll:${s.q.id}:${k}:${i}`, prompt: task.formatPrompt(s.q) + stepPrefix(s.steps, i, o.split), n: o.rollouts } });
    }
  });
  const outs = reqs.length > 0 ? await completer(reqs.map((r) => r.req), o.rolloutTemperature) : [];
  const verdicts: boolean[][][] = items.map((s) => s.steps.slice(1).map(() => []));
  for (let r = 0; r < reqs.length; r++) {
    const { item, step } = reqs[r];
    const s = items[item];
    const prefix = stepPrefix(s.steps, step, o.split);
    for (const c of outs[r]) verdicts[item][step - 1].push((await task.verify(prefix + c, s.q)).correct);
  }
  const perQuery = new Map<string, number>();
  const rows: Annotation[] = [];
  for (let k = 0; k < items.length; k++) {
    const s = items[k];
    const correct = (await task.verify(s.steps.join(o.split.separator), s.q)).correct;
    const { hard, soft } = labelsFromRollouts(verdicts[k], correct);
    const idx = perQuery.get(s.q.id) ?? 0;
    perQuery.set(s.q.id, idx + 1);
    rows.push({
      id: `${s.q.id}#${idx}`, queryId: s.q.id, prompt: task.formatPrompt(s.q), steps: s.steps, hard, soft, correct,
      source: s.source, rollouts: o.rollouts, ...(s.truth ? { truth: s.truth } : {}),
    });
  }
  return rows;
}

export interface AnnotateProgress {
  queriesDone: number;
  queriesTotal: number;
  solutions: number;
  seconds: number;
}

/**
 * Annotates every query not yet in `out` (resumable: appends one chunk at a time; a crash loses at most
 * the chunk in flight).
 */
export async function annotateToFile(
  task: Task, queries: readonly Query[], generator: Completer, completer: Completer, o: AnnotateOptions & { out: string; chunk: number },
  progress?: (p: AnnotateProgress) => void,
): Promise<{ written: number; skipped: number }> {
  const done = annotatedQueries(o.out);
  const todo = queries.filter((q) => !done.has(q.id));
  const t0 = performance.now();
  let written = 0;
  for (let i = 0; i < todo.length; i += o.chunk) {
    const rows = await annotateChunk(task, todo.slice(i, i + o.chunk), generator, completer, o);
    appendAnnotations(o.out, rows);
    written += rows.length;
    progress?.({ queriesDone: Math.min(i + o.chunk, todo.length), queriesTotal: todo.length, solutions: written, seconds: (performance.now() - t0) / 1000 });
  }
  return { written, skipped: queries.length - todo.length };
}
