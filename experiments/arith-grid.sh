#!/bin/sh
# Issue 10, App. D: Online RFT at every fixed (T, τ) of the demo preset's search grid
# (T ∈ {0.5, 0.8, 1.1} × τ ∈ {0.5, 1.5}) next to B-STaR, 3 seeds, SFT shared per seed.
# The budget is pinned to the session-2 demo preset that docs/results.md's App. D section used
# (512 queries × 8 per iteration, N = 1,024, 2 passes over each selection); the preset has since
# grown to 1,500 queries and 64 steps per iteration.
set -e
cd "$(dirname "$0")/.."
node dist/src/cli/main.js experiment --preset demo --grid --seeds 3 \
  --set queriesPerIteration=512 --set targetSamples=1024 \
  --set train.stepsPerIteration=null --set train.epochsPerIteration=2 \
  --share-sft --parallel 2 --name arith-grid "$@"
