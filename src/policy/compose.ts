// composePolicy: one Policy from a sampling side and a training side. Training marks the sampling
// side stale; the next sample/logprobs call first syncs the weights over (syncWeights), so a fleet
// serving a copy of the weights never samples from an out-of-date model.
import type { Policy, SamplingBackend, TrainingBackend } from './types.js';

export function composePolicy(sampling: SamplingBackend, training: TrainingBackend): Policy {
  let stale = false;
  const fresh = async () => {
    if (stale) await sampling.syncWeights(training);
    stale = false;
  };
  const changed = <T>(p: Promise<T>): Promise<T> => p.then((v) => ((stale = true), v));
  return {
    sampling,
    training,
    sample: async (requests, params, onProgress) => (await fresh(), sampling.sample(requests, params, onProgress)),
    logprobs: async (items) => (await fresh(), sampling.logprobs(items)),
    nextTokenLogprobs: async (items, candidates) => (await fresh(), sampling.nextTokenLogprobs(items, candidates)),
    configureOptimizer: (spec, opts) => training.configureOptimizer(spec, opts),
    optimizerStatus: () => training.optimizerStatus(),
    train: (batch) => changed(training.train(batch)),
    evalLoss: (batch) => training.evalLoss(batch),
    save: (dir, state, opts) => training.save(dir, state, opts),
    load: (dir) => changed(training.load(dir)),
    snapshot: (opts) => training.snapshot(opts),
    restore: (s) => changed(training.restore(s)),
  };
}
