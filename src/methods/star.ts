// STaR / ReST-EM: each iteration samples with the latest model, then fine-tunes the *base* (SFT)
// model from scratch on the new selection: base weights restored, fresh optimizer, fresh schedule.
import { PolicyError } from '../policy/types.js';
import type { Method } from './method.js';
import { optimizerSpec } from './pieces.js';

export const star: Method = {
  name: 'star',
  selfTraining: true,
  searches: false,
  async prepareTraining(ctx, loop, _iteration, steps) {
    if (!loop.base) throw new PolicyError('star: no base (SFT) snapshot to restart from');
    await ctx.policy.restore(loop.base);
    await ctx.policy.configureOptimizer(optimizerSpec(ctx.config, 'train', steps), { reset: true });
  },
};
