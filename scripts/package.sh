#!/usr/bin/env bash
# Completes pkg/ (built by wasm-pack) into the npm package tether-ws:
# compiles tether-ws/react and fills package.json.
source "$(dirname "$0")/lib.sh"
[ -f "$ROOT/pkg/tether_ws.d.ts" ] || die "pkg/ is missing: build the SDK first (wasm-pack build)"
[ -x "$ROOT/js/node_modules/.bin/tsc" ] || die "js/node_modules is missing: run scripts/install.sh"
run "package tether-ws (js/package.mjs)" node "$ROOT/js/package.mjs" pkg
