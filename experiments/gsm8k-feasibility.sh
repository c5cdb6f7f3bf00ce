#!/bin/sh
# Issue 10, part 2: can the machine's model learn GSM8K at all? A fresh character-level tiny llama
# (the default: hidden 256, 4 layers, 3.45 M parameters) SFT-trained on the 7,473 GSM8K train gold
# solutions, then greedy Pass@1 on the first 500 test questions (`--stop-after 0`: SFT and its
# evaluation only). The self-training comparison (Online RFT vs B-STaR) is only worth running from a
# model that solves some questions; docs/results.md says what this gave. Extra flags pass through,
# e.g. `--set sft.epochs=6 --set sft.startEpoch=6` for a longer SFT.
set -e
cd "$(dirname "$0")/.."
node dist/src/cli/main.js run --name gsm8k-feasibility --stop-after 0 \
  --set task.name=gsm8k --set method=online-rft --set iterations=2 \
  --set model.max_position_embeddings=2048 \
  --set sft.epochs=2 --set sft.startEpoch=2 --set sft.lr=2e-3 --set sft.minLr=2e-4 --set sft.warmupSteps=10 \
  --set sft.batchSize=32 --set sft.gradAccum=4 --set train.beta2=0.95 \
  --set sampling.maxTokens=400 --set eval.testSize=500 --set eval.k=1 --set eval.s=1 "$@"
