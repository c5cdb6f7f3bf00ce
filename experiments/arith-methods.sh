#!/bin/sh
# Issue 10, part 1: every method × 3 seeds on the embedded arith task with the demo preset's budget
# (docs/calibration.md), the SFT shared per seed. Writes runs/arith-methods/comparison.{txt,md,json}
# and plot-*.svg. Re-running the same command resumes; keep --parallel the same (threads follow it).
set -e
cd "$(dirname "$0")/.."
node dist/src/cli/main.js experiment --preset demo \
  --methods sft,star,iterative-rft,online-rft,bstar --seeds 3 \
  --share-sft --parallel 2 --name arith-methods "$@"
