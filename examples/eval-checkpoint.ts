// Evaluate a checkpoint (a local folder or a hub id) on a task's test split, through the library API.
//   node eval-checkpoint.js <checkpoint> [task]
import { buildContext, evaluate, loadConfig, taskNames } from 'bstar';

const [checkpoint, task = 'arith'] = process.argv.slice(2);
if (!checkpoint) throw new Error('usage: node eval-checkpoint.js <checkpoint folder or org/name> [task]');
const config = loadConfig({
  overrides: [`task.name=${task}`, `model.checkpoint=${JSON.stringify(checkpoint)}`, 'eval.testSize=4', 'eval.k=2', 'eval.s=1', 'eval.bootstrapResamples=20', 'threads=1', 'search.devSize=2'],
  taskNames: taskNames(),
});
const ctx = await buildContext(config, { log: () => {} });
const { summary } = await evaluate(ctx, 0);
for (const [metric, v] of Object.entries(summary.metrics)) console.log(`${metric.padEnd(12)} ${v ? (100 * v.mean).toFixed(1) : '—'} %`);
