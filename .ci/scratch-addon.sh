# Sourced by .ci/arm64.sh and .ci/clang.sh (from the repository root, with $root set): a scratch copy
# of the addon's sources in $work (removed on exit), so another compiler or target can build it without
# touching build/; $gyp is npm's node-gyp and $nodedir the Node headers (node-gyp cannot download them
# offline).
gyp="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
nodedir=$(npm config get nodedir 2>/dev/null || true)
case "$nodedir" in ''|undefined|null) nodedir=$(dirname "$(dirname "$(command -v node)")") ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/engine"
cp binding.gyp package.json "$work/"
cp -r src/engine/native "$work/src/engine/"
ln -s "$root/node_modules" "$work/node_modules"
