#!/bin/sh
# Issue 18: the like-for-like protocol on arith (experiments/arith-protocol.yaml; docs/results.md).
# Per seed one SFT of sft.epochs epochs, continued for $SFT_MORE more epochs of gold at its final
# learning rate (chosen on dev), is the SFT baseline row (--sft-baseline), and every other run of the
# seed starts from its epoch sft.startEpoch (--share-sft). B-STaR, Online RFT and the SFT baseline
# run 5 seeds; Iterative RFT and STaR 3; App. D's fixed (T, τ) points 3 (pass them as --fixed T:τ,…
# together with --seeds-of fixed-T…-tau…=3 and their --pair flags; see docs/results.md for the points
# run). Runs go method by method in the order of --methods, 2 at a time with 1 thread each; re-running
# the same command resumes. Run it from a frozen build so that a rebuild of the working tree does not
# change the code under a running experiment:
#   F=$(experiments/freeze.sh) && (cd "$F" && sh /path/to/experiments/arith-protocol.sh --runs-dir /path/to/runs)
set -e
here="$(cd "$(dirname "$0")" && pwd)"
node dist/src/cli/main.js experiment "$here/arith-protocol.yaml" --sft-baseline --sft-baseline-epochs "${SFT_MORE:-0}" --share-sft \
  --methods bstar,online-rft,iterative-rft,star --seeds 5 --seeds-of iterative-rft=3,star=3 \
  --pair bstar,online-rft --pair bstar,sft-baseline --pair online-rft,sft-baseline \
  --pair bstar,iterative-rft --pair bstar,star --pair iterative-rft,star \
  --parallel 2 --name arith-protocol "$@"
