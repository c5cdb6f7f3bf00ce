// A method is what differs between SFT, STaR/ReST-EM, Iterative RFT, Online RFT and B-STaR (paper §2.1,
// DESIGN §4): where the iteration's training starts from (weights, optimizer, schedule), whether it
// trains on gold or on its own selected samples, and whether (T, τ) is searched each iteration.
// Everything else is the shared iteration (iteration.ts).
import type { PolicySnapshot } from '../policy/types.js';
import type { MethodContext } from './context.js';

export type MethodName = 'sft' | 'star' | 'iterative-rft' | 'online-rft' | 'bstar';

/** State a method keeps across iterations in memory (rebuilt from checkpoints on resume). */
export interface LoopState {
  /** The SFT model the self-improvement started from (iteration 0's weights). */
  base: PolicySnapshot | null;
}

export interface Method {
  name: MethodName;
  /** Trains on its own samples (false: SFT trains on the gold solutions of the iteration's queries). */
  selfTraining: boolean;
  /** Searches (T, τ) on the dev subset before sampling. */
  searches: boolean;
  /**
   * Sets up weights and optimizer for iteration i's `steps` training steps (called after sampling,
   * before training: sampling always uses the latest model).
   */
  prepareTraining(ctx: MethodContext, loop: LoopState, iteration: number, steps: number): Promise<void>;
}
