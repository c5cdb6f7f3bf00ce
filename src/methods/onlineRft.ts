// Online RFT (the paper's strongest baseline): keeps the model, the optimizer state and ONE LR schedule
// across all iterations; the optimizer starts once, at iteration 1.
import type { Method } from './method.js';
import { optimizerSpec, plannedRunSteps } from './pieces.js';

export const onlineRft: Method = {
  name: 'online-rft',
  selfTraining: true,
  searches: false,
  async prepareTraining(ctx, _loop, iteration) {
    if (iteration === 1) await ctx.policy.configureOptimizer(optimizerSpec(ctx.config, 'train', plannedRunSteps(ctx.config)), { reset: true });
  },
};
