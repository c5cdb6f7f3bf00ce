// A custom task and a custom reward in a B-STaR run, through the library API (examples/README.md).
//   node custom-task.js [run-dir]
import { loadConfig, registerTask, startRun, taskNames, type PrmScorer, type Query, type Task } from 'bstar';

// "Double the number": prompts `double 7 =`, answers `14`.
const make = (n: number, i: number): Query => ({ id: `double-${i}`, prompt: `double ${n} =`, gold: { answer: String(2 * n), solution: ` ${2 * n}` } });
const doubling: Task = {
  name: 'double',
  load: (split, opts = {}) => Array.from({ length: split === 'train' ? 40 : 8 }, (_, i) => make(split === 'train' ? i : 100 + i, i)).slice(0, opts.limit ?? undefined),
  formatPrompt: (q) => `${q.prompt}`,
  extractAnswer: (text) => /-?\d+/.exec(text)?.[0] ?? null,
  verify(text, q) {
    const answer = this.extractAnswer(text);
    return { correct: answer === q.gold.answer, answer, reason: answer === null ? 'no-answer' : answer === q.gold.answer ? 'match' : 'mismatch' };
  },
  goldSolution: (q) => q.gold.solution ?? ` ${q.gold.answer}`,
};
registerTask(doubling);

// A step scorer added to the answer reward (reward.prm.enabled): short completions score 1, long ones 0.
const brevity: PrmScorer = async (items) => items.map(({ text }) => [text.trim().length <= 4 ? 1 : 0]);

const tiny = ['task.name=double', 'reward.prm.enabled=true', 'iterations=1', 'threads=1', 'model.hidden_size=16', 'model.intermediate_size=32', 'model.num_hidden_layers=1',
  'model.num_attention_heads=2', 'model.num_key_value_heads=2', 'model.max_position_embeddings=64', 'queriesPerIteration=8', 'samplesPerQuery=2', 'targetSamples=8',
  'sampling.maxTokens=6', 'search.devSize=4', 'search.samplesPerQuery=2', 'search.temperatures=[1.0]', 'search.thresholds=[0.5]', 'sft.epochs=1', 'sft.batchSize=8',
  'train.stepsPerIteration=1', 'train.batchSize=4', 'eval.k=1', 'eval.s=1', 'eval.bootstrapResamples=20'];
const config = loadConfig({ overrides: tiny, taskNames: taskNames() });
const out = await startRun(config, process.argv[2] ?? 'runs/example-double', { prm: brevity, log: () => {} });
console.log(`custom task: ${out.rows.length} summary rows in ${out.dir}; iteration 1 greedy pass@1 = ${out.rows.at(-1)?.pass1}`);
