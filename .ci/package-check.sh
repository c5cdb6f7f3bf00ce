#!/usr/bin/env bash
# The npm tarball installs anywhere: `npm pack`, then install it into an empty project twice — with the
# C++ toolchain (native addon) and with the compiler made unusable (CXX/CC=false: the install must still
# succeed on the TypeScript kernels, printing scripts/addon-failed.mjs's notice) — and check
# `npx bstar info`, `npx bstar --version`, `import('bstar')` with its types, and the examples/ programs
# compiled against the installed package and run on tiny budgets — fleet_bstar.ts end to end against a
# `bstar serve` of the installed package on loopback, restarted on each trained checkpoint by its reload
# command. Needs the npm registry (dependencies).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
# the fleet's servers never outlive the check: every reload rewrites <fleet>/serve.pid
stop_servers() { local f; for f in "$work"/*/fleet/serve.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done; }
trap 'stop_servers; rm -rf "$work"' EXIT
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
    --set queriesPerIteration=16 --set eval.testSize=4 --set eval.k=1 --set eval.s=1 --set search.devSize=2 --set sampling.maxTokens=16 >/dev/null
  node ex/out/eval-checkpoint.js "$proj/arith/checkpoints/0" arith
  # The fleet example needs servers; without them it must stop at once with its usage line.
  local fleet; fleet="$(node ex/out/fleet_bstar.js 2>&1 || true)"
  grep -q 'usage: BSTAR_ENDPOINTS' <<<"$fleet" || { echo "FAIL: fleet example without a fleet does not print its usage"; exit 1; }
  fleet_run "$proj"
  cd "$repo"
}

# The reload command of the fleet run: `sh reload.sh <fleet dir> <checkpoint>` stops the server whose pid
# is in <fleet>/serve.pid, starts the installed `bstar serve <checkpoint>` on the same port, appends the
# checkpoint to <fleet>/served and returns once /health answers (30 s at most).
cat >"$work/reload.sh" <<'EOF'
set -eu
d="$1" ckpt="$2"; port="$(cat "$d/serve.port")" old="$(cat "$d/serve.pid")"
kill "$old" 2>/dev/null || true
i=0; while kill -0 "$old" 2>/dev/null; do i=$((i + 1)); [ "$i" -le 100 ] || { echo "the old server $old does not exit"; exit 1; }; sleep 0.1; done
n="$(wc -l <"$d/served")"
"$d/../node_modules/.bin/bstar" serve "$ckpt" --port "$port" --model-name policy --grace-ms 0 </dev/null >"$d/serve-$((n + 1)).log" 2>&1 &
echo $! >"$d/serve.pid"
echo "$ckpt" >>"$d/served"
node -e 'const end = Date.now() + 30000; const poll = () => fetch(process.argv[1]).then((r) => { if (!r.ok) throw new Error(r.status); process.exit(0); })
  .catch(() => (Date.now() > end ? process.exit(1) : setTimeout(poll, 100))); poll();' "http://127.0.0.1:$port/health" ||
  { echo "bstar serve $ckpt on port $port did not answer /health in 30 s:"; cat "$d/serve-$((n + 1)).log"; exit 1; }
EOF

# fleet_bstar.js end to end: one `bstar serve` (the installed bin) on a free loopback port serves the arith
# checkpoint under the model id `policy` (the config's default, vLLM's --served-model-name in docs/scale.md); one tiny B-STaR iteration samples there, trains locally (gold answers injected, so that it
# trains whatever the tiny model samples), and the reload command restarts the server on the trained weights.
fleet_run() { # $1 = project
  local proj="$1" d="$1/fleet" t0=$SECONDS
  mkdir -p "$d" && : >"$d/served"
  node_modules/.bin/bstar serve "$proj/arith/checkpoints/0" --port 0 --model-name policy --grace-ms 0 </dev/null >"$d/serve-0.log" 2>&1 &
  echo $! >"$d/serve.pid"
  local i=0; until grep -qs '"listening"' "$d/serve-0.log"; do
    i=$((i + 1)); if [ "$i" -gt 300 ] || ! kill -0 "$(cat "$d/serve.pid")" 2>/dev/null; then echo "FAIL: bstar serve did not start"; cat "$d/serve-0.log"; exit 1; fi; sleep 0.1
  done
  node -p "new URL(JSON.parse(require('fs').readFileSync('$d/serve-0.log', 'utf8').split('\\n').find((l) => l.includes('\"listening\"'))).listening).port" >"$d/serve.port"
  local port; port="$(cat "$d/serve.port")"
  BSTAR_ENDPOINTS="http://127.0.0.1:$port/v1" BSTAR_RELOAD="sh $work/reload.sh $d {checkpoint}" node ex/out/fleet_bstar.js "$proj/arith/checkpoints/0" "$proj/fleet-run" \
    --set task.name=arith --set threads=1 --set iterations=1 --set task.trainSize=16 --set queriesPerIteration=8 --set samplesPerQuery=2 --set targetSamples=8 \
    --set sampling.maxTokens=16 --set 'search.temperatures=[0.8]' --set 'search.thresholds=[0]' --set search.devSize=2 --set search.samplesPerQuery=2 \
    --set sft.epochs=0 --set sft.startEpoch=0 --set sft.batchSize=32 --set sft.gradAccum=1 --set train.stepsPerIteration=1 --set train.batchSize=4 --set train.gradAccum=1 \
    --set train.warmupSteps=0 --set eval.testSize=4 --set eval.k=1 --set eval.s=1 --set eval.bootstrapResamples=20 \
    --set policy.sampling.concurrency=4 --set selection.injectGold=true >"$d/run.log" 2>&1 ||
    { echo "FAIL: the fleet example exited with status $?"; tail -30 "$d/run.log"; exit 1; }
  [ -f "$proj/fleet-run/summary.json" ] || { echo "FAIL: the fleet run wrote no summary.json"; tail -30 "$d/run.log"; exit 1; }
  grep -q "^$proj/fleet-run/policy/sync-" "$d/served" || { echo "FAIL: the fleet was never reloaded on a trained checkpoint"; tail -30 "$d/run.log"; exit 1; }
  grep -q '^fleet: 1 endpoint(s) serve ' "$d/run.log" || { echo "FAIL: the fleet run logged no reload"; tail -30 "$d/run.log"; exit 1; }
  # the reloaded server answered the run's requests after the reload (iteration 1's evaluation)
  node -e 'fetch(process.argv[1]).then((r) => r.json()).then((h) => { if (!(h.served > 0)) { console.error("FAIL: the reloaded server served nothing:", JSON.stringify(h)); process.exit(1); } })' "http://127.0.0.1:$port/health"
  kill "$(cat "$d/serve.pid")"
  echo "   fleet example: $(grep -c . "$d/served") reload(s) of the server on port $port, run done in $((SECONDS - t0)) s"
}
check native
check ts
echo "== package check ok"
