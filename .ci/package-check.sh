#!/usr/bin/env bash
# The npm tarball installs anywhere: `npm pack`, then install it into an empty project twice — with the
# C++ toolchain (native addon) and with the compiler made unusable (CXX/CC=false: the install must still
# succeed on the TypeScript kernels, printing scripts/addon-failed.mjs's notice) — and check
# `npx bstar info`, `npx bstar --version`, `import('bstar')` with its types, and the examples/ programs
# compiled against the installed package and run on tiny budgets. Needs the npm registry (dependencies).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$repo"
tgz="$work/$(npm pack --silent --pack-destination "$work" | tail -1)"
echo "== tarball $tgz ($(du -h "$tgz" | cut -f1))"
list="$(tar tzf "$tgz")"
if grep -Eq '^package/(dist/)?(test|bench)/' <<<"$list"; then echo "FAIL: the tarball holds tests or benchmarks"; grep -E '^package/(dist/)?(test|bench)/' <<<"$list" | head; exit 1; fi
for f in package/LICENSE package/scripts/addon-failed.mjs package/binding.gyp package/dist/src/index.js package/dist/src/index.d.ts package/data/README.md package/data/SHA256SUMS package/data/gsm8k/train.jsonl.gz; do
  grep -qx "$f" <<<"$list" || { echo "FAIL: $f is not in the tarball"; exit 1; }
done
tsc="$repo/node_modules/typescript/bin/tsc"

check() { # $1 = native | ts
  local mode="$1" proj="$work/$1"
  mkdir -p "$proj" && cd "$proj"
  npm init -y >/dev/null && npm pkg set type=module
  if [ "$mode" = native ]; then npm install --no-audit --no-fund "$tgz" >install.log 2>&1
  else CXX=false CC=false npm install --no-audit --no-fund --foreground-scripts "$tgz" >install.log 2>&1; fi
  local info; info="$(npx --no-install bstar info)"
  echo "   $mode: bstar info $info"
  if [ "$mode" = native ]; then grep -q '"backend":"native"' <<<"$info" || { echo "FAIL: native install runs $info"; exit 1; }
  else
    grep -q '"backend":"ts"' <<<"$info" || { echo "FAIL: compiler-less install runs $info"; exit 1; }
    grep -q 'the native engine addon did not build' install.log || { echo "FAIL: no fallback notice in the install output"; tail -20 install.log; exit 1; }
  fi
  local want; want="$(node -p "require('$repo/package.json').version")"
  local v; v="$(npx --no-install bstar --version)" || { echo "FAIL: bstar --version failed"; exit 1; }
  grep -qF "$want" <<<"$v" || { echo "FAIL: bstar --version printed '$v', expected $want"; exit 1; }
  echo "   $mode: bstar --version $v"
  node --input-type=module -e "const m = await import('bstar'); for (const k of ['loadConfig', 'startRun', 'resumeRun', 'registerTask', 'taskNames', 'passAtK', 'writeRunReport', 'localPolicy']) if (typeof m[k] !== 'function') throw new Error('bstar exports no ' + k); console.log('   $mode: import(\"bstar\") ok, tasks', m.taskNames().join(' '))"
  mkdir -p ex && cp "$repo"/examples/*.ts ex/
  node "$tsc" --module nodenext --moduleResolution nodenext --target es2022 --strict --skipLibCheck --typeRoots "$repo/node_modules/@types" --types node --outDir ex/out ex/*.ts
  node ex/out/custom-task.js "$proj/run-double"
  # A checkpoint to evaluate: SFT of a tiny model on the embedded arith task, through the installed CLI.
  npx --no-install bstar run --runs-dir "$proj" --name arith --iterations 1 --stop-after 0 --set threads=1 --set model.hidden_size=16 --set model.intermediate_size=32 \
    --set model.num_hidden_layers=1 --set model.num_attention_heads=2 --set model.num_key_value_heads=2 --set task.trainSize=16 --set sft.epochs=1 --set sft.startEpoch=1 \
    --set eval.testSize=4 --set eval.k=1 --set eval.s=1 --set search.devSize=2 --set sampling.maxTokens=16 >/dev/null
  node ex/out/eval-checkpoint.js "$proj/arith/checkpoints/0" arith
  # The fleet example needs servers; without them it must stop at once with its usage line.
  local fleet; fleet="$(node ex/out/fleet_bstar.js 2>&1 || true)"
  grep -q 'usage: BSTAR_ENDPOINTS' <<<"$fleet" || { echo "FAIL: fleet example without a fleet does not print its usage"; exit 1; }
  cd "$repo"
}
check native
check ts
echo "== package check ok"
