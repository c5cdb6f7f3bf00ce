#!/bin/sh
# Copies the built tree (dist/, build/Release, package.json, node_modules link) to runs/frozen-<commit>/
# and prints that directory, so that a long experiment keeps running the code of one commit while the
# working tree is rebuilt (`bstar experiment` starts a child process per run). Usage:
#   F=$(experiments/freeze.sh) && (cd "$F" && node dist/src/cli/main.js experiment ...)
set -e
cd "$(dirname "$0")/.."
c=$(git rev-parse --short=12 HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || { echo "freeze: commit first (the frozen copy is named after HEAD)" >&2; exit 1; }
d=runs/frozen-$c
if [ ! -d "$d" ]; then
  mkdir -p "$d.tmp/build"
  npx tsc -p . >&2
  cp -r dist package.json experiments "$d.tmp/"
  cp -r build/Release "$d.tmp/build/"
  ln -s "$(pwd)/node_modules" "$d.tmp/node_modules"
  echo "$c" > "$d.tmp/COMMIT"
  mv "$d.tmp" "$d"
fi
echo "$(pwd)/$d"
