#!/usr/bin/env bash
# Reports the shipped SDK's size as an app ships it.
#   scripts/size.sh         v1: gzip -9 of the wasm in pkg/ plus the JS glue
#                           bundled and minified by esbuild (ESM, the wasm
#                           left external, every export of tether_ws_bg.js
#                           kept: the wasm imports them).
#   scripts/size.sh v2 DIR  v2 (issue 12's way): a user entry
#                           (`import { Tether } from "tether-ws"` and one
#                           `new Tether(...)`) bundled by esbuild, JS + wasm,
#                           gzip -9, summed; DIR from build_sdk_v2. Also
#                           prints the base64-inlined alternative.
# Fails when the total is over $TETHER_SIZE_BUDGET (bytes gzip), if set.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
command -v esbuild >/dev/null || die "esbuild is missing: run scripts/install.sh (npm ci in tools/)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gz() { gzip -9 -c "$1" | wc -c; }
bytes() { wc -c <"$1"; }

if [ "${1:-}" = v2 ]; then
  dir="$(cd "${2:?usage: scripts/size.sh v2 DIR}" && pwd)"
  step "size: SDK v2 (user entry bundled by esbuild + wasm; gzip -9)"
  wasm="$dir/tether.wasm"
  [ -f "$wasm" ] && [ -f "$dir/index.js" ] || die "$dir is not a build_sdk_v2 output"
  mkdir -p "$tmp/node_modules"
  ln -s "$dir" "$tmp/node_modules/tether-ws"
  printf 'import { Tether } from "tether-ws";\nexport const t = new Tether("wss://example.com/ws");\n' >"$tmp/entry.js"
  esbuild "$tmp/entry.js" --bundle --format=esm --minify --log-level=warning \
    --outfile="$tmp/app.min.js" || die "esbuild could not bundle the user entry"
  # The alternative for zero-configuration loading: the wasm as base64 in the JS.
  { cat "$tmp/app.min.js"; printf 'const w="'; base64 -w0 "$wasm"; printf '";'; } >"$tmp/inlined.js"
  wasm_label="wasm"
  js_label="js (user entry, min)"
else
  step "size: shipped SDK (gzip -9; glue minified by esbuild)"
  wasm="pkg/tether_ws_bg.wasm"
  [ -f "$wasm" ] || die "$wasm is missing: build the SDK first (wasm-pack build)"
  [ -f pkg/tether_ws_bg.js ] || die "pkg/ is not a bundler-target build (wasm-pack build --target bundler)"
  printf 'export * from "%s/pkg/tether_ws.js";\nexport * from "%s/pkg/tether_ws_bg.js";\n' \
    "$ROOT" "$ROOT" >"$tmp/entry.js"
  esbuild "$tmp/entry.js" --bundle --format=esm --minify --external:'*.wasm' \
    --log-level=warning --outfile="$tmp/app.min.js" || die "esbuild could not bundle pkg/"
  wasm_label="wasm"
  js_label="js glue (min)"
fi

wasm_raw=$(bytes "$wasm")
wasm_gz=$(gz "$wasm")
js_raw=$(bytes "$tmp/app.min.js")
js_gz=$(gz "$tmp/app.min.js")
total=$((wasm_gz + js_gz))
printf '  %-22s %8s %8s\n' "" "raw" "gzip"
printf '  %-22s %8s %8s\n' "$wasm_label" "$wasm_raw" "$wasm_gz"
printf '  %-22s %8s %8s\n' "$js_label" "$js_raw" "$js_gz"
printf '  %-22s %8s %8s\n' "total" "$((wasm_raw + js_raw))" "$total"
if [ -f "$tmp/inlined.js" ]; then
  printf '  %-22s %8s %8s   (alternative, not shipped)\n' "js + wasm as base64" \
    "$(bytes "$tmp/inlined.js")" "$(gz "$tmp/inlined.js")"
fi
budget="${TETHER_SIZE_BUDGET:-}"
if [ -n "$budget" ]; then
  if [ "$total" -gt "$budget" ]; then
    die "SDK is $total bytes gzip, over the budget of $budget"
  fi
  echo "within the budget of $budget bytes gzip"
fi
