// SFT: the paper's starting point and baseline. Each iteration trains on the gold solutions of the
// iteration's queries (no sampling), with one optimizer and one LR schedule across iterations, so it
// gets the same training budget as the self-training methods.
import type { Method } from './method.js';
import { optimizerSpec, plannedRunSteps } from './pieces.js';

export const sft: Method = {
  name: 'sft',
  selfTraining: false,
  searches: false,
  async prepareTraining(ctx, _loop, iteration) {
    if (iteration === 1) await ctx.policy.configureOptimizer(optimizerSpec(ctx.config, 'train', plannedRunSteps(ctx.config)), { reset: true });
  },
};
