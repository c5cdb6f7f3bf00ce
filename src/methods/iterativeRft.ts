// Iterative RFT: keeps the model across iterations, but each iteration starts a fresh optimizer
// (zero moments, step 0) with its own LR schedule.
import type { Method } from './method.js';
import { optimizerSpec } from './pieces.js';

export const iterativeRft: Method = {
  name: 'iterative-rft',
  selfTraining: true,
  searches: false,
  async prepareTraining(ctx, _loop, _iteration, steps) {
    await ctx.policy.configureOptimizer(optimizerSpec(ctx.config, 'train', steps), { reset: true });
  },
};
