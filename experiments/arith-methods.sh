#!/bin/sh
# Issue 10, part 1: every method × 3 seeds on the embedded arith task with the demo preset's budget
# (1,500 queries × 8 and a fixed 64 training steps per iteration for every method; docs/calibration.md),
# the SFT shared per seed. Writes runs/arith-methods/comparison.{txt,md,json} and plot-*.svg, with the
# paired differences docs/results.md reports. Re-running the same command resumes (or only rewrites the
# comparison); keep --parallel the same (threads follow it).
set -e
cd "$(dirname "$0")/.."
node dist/src/cli/main.js experiment --preset demo \
  --methods sft,star,iterative-rft,online-rft,bstar --seeds 3 \
  --pair bstar,online-rft --pair bstar,iterative-rft --pair bstar,star \
  --pair online-rft,iterative-rft --pair iterative-rft,star --pair sft,bstar \
  --share-sft --parallel 2 --name arith-methods "$@"
