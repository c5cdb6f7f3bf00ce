#!/usr/bin/env bash
# The x86-64 addon built with clang++ (as on macOS, where the compiler is Apple's clang), in a scratch
# directory (build/ is untouched): the build must give no warnings (-Wall -Wextra from node-gyp), and the
# engine's kernel tests (test/engine: every kernel set against the TypeScript oracle and the bit-identity
# rules) and the bf16 PyTorch goldens (test/model/golden_bf16: every kernel set, call by call against the
# oracle and end to end within bf16 noise) run against that addon. g++ and clang++ builds agree to fp32
# rounding, not bit for bit (each chooses which product an FMA fuses; docs/performance.md). About a minute
# on 2 cores. Needs `npm ci` (dist/ and node-addon-api) first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ "$(node -p process.arch)" = x64 ] || { echo "clang: not an x86-64 host; skipped"; exit 0; }
command -v clang++ >/dev/null || (apt-get update -qq && apt-get install -y -qq clang)
. .ci/scratch-addon.sh  # $gyp, $nodedir, and the sources in the scratch dir $work
(cd "$work" && CC=clang CXX=clang++ node "$gyp" rebuild --nodedir="$nodedir" -j 2 >build.log 2>&1) ||
  { tail -30 "$work/build.log"; echo "clang: the build failed"; exit 1; }
if grep -q 'warning:' "$work/build.log"; then grep -A3 'warning:' "$work/build.log" | head -40; echo "clang: the build gave warnings"; exit 1; fi
addon="$work/build/Release/bstar_engine.node"
readelf -p .comment "$addon" | grep -q 'clang version' || { readelf -p .comment "$addon"; echo "clang: $addon was not compiled by clang"; exit 1; }
echo "clang: addon built with $(clang++ --version | head -1), no warnings"
# dist/ resolves the addon at ../../../build/Release and the fixtures at ../../../test from its own location
cp -r dist "$work/dist"
ln -s "$root/test" "$work/test"
cd "$work"
node --input-type=module -e "
  import { loadAddon } from './dist/src/engine/native.js';
  const a = loadAddon();
  if (a instanceof Error) throw a;
  console.log('clang: loaded', JSON.stringify(a.info()));"
node --test --test-concurrency=1 dist/test/engine/ dist/test/model/golden_bf16.test.js >test.log 2>&1 ||
  { grep -E '^not ok|^# (pass|fail)|error' test.log | head -40; echo "clang: tests failed against the clang++ addon"; exit 1; }
grep -E '^# (tests|pass|fail|skipped)' test.log | tr '\n' ' '
echo
