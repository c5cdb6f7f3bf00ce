#!/bin/sh
# Issue 10, App. D: Online RFT at every fixed (T, τ) of the demo preset's search grid
# (T ∈ {0.5, 0.8, 1.1} × τ ∈ {0.5, 1.5}) next to B-STaR, 3 seeds, SFT shared per seed.
set -e
cd "$(dirname "$0")/.."
node dist/src/cli/main.js experiment --preset demo --grid --seeds 3 \
  --share-sft --parallel 2 --name arith-grid "$@"
