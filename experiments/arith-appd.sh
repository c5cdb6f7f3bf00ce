#!/bin/sh
# Issue 18, paper App. D at the protocol's budget (docs/results.md section 5): Online RFT at fixed
# (T, τ) points of B-STaR's grid, 3 seeds, beside B-STaR's seeds 0–2, all on experiments/arith-protocol.yaml.
# The points were fixed from B-STaR's dev-side choices in the protocol runs (not from test): the T axis
# {0.5, 0.7, 0.9, 1.1} at τ 1.0 (the τ chosen most often) and τ ∈ {0.5, 1.25, 1.5} at T 0.9 (the T
# chosen most often), listed most informative first, since runs go in that order. Evaluation every 2
# iterations (and the last) instead of every one, to fit a session: everything random derives from
# (seed, phase, iteration), so the models trained are those of arith-protocol, and B-STaR's seeds 0–2
# give its numbers at iterations 0, 2, 4 and 6 bit for bit. Re-running the command resumes. Run it from
# a frozen build (experiments/freeze.sh), 2 runs at a time with 1 thread each:
#   F=$(experiments/freeze.sh) && (cd "$F" && sh /path/to/experiments/arith-appd.sh --runs-dir /path/to/runs)
set -e
here="$(cd "$(dirname "$0")" && pwd)"
node dist/src/cli/main.js experiment "$here/arith-protocol.yaml" --share-sft --methods bstar --seeds 3 \
  --fixed "${POINTS:-0.9:1,0.5:1,1.1:1,0.9:0.5,0.9:1.5,0.7:1,0.9:1.25}" --set eval.every=2 \
  --parallel 2 --name arith-appd "$@"
