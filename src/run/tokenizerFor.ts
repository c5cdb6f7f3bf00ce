// The tokenizer of a fresh model for a task: the arith alphabet for the embedded task; for a task with
// shipped data, the characters of its training prompts and gold solutions and of the evaluation prompts
// and answers (others map to <unk>).
import { ARITH_ALPHABET } from '../tasks/arith.js';
import type { Query, Task } from '../tasks/types.js';
import { CharTokenizer } from '../tokenizer/char.js';

export function tokenizerFor(task: Task, train: readonly Query[], extra: readonly Query[] = []): CharTokenizer {
  if (task.name === 'arith') return new CharTokenizer(ARITH_ALPHABET);
  const chars = new Set<string>();
  for (const q of train) for (const ch of task.formatPrompt(q) + task.goldSolution(q)) chars.add(ch);
  // Evaluation queries add their prompts and answers only: a test split may have no worked solutions (MATH500).
  for (const q of extra) for (const ch of task.formatPrompt(q) + q.gold.answer) chars.add(ch);
  return new CharTokenizer([...chars].sort(), { onUnknown: 'unk' });
}
