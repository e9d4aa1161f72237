#!/usr/bin/env bash
# Reports the shipped SDK's size as an app ships it: gzip -9 of the wasm in
# pkg/ plus the JS glue bundled and minified by esbuild (ESM, the wasm left
# external, every export of tether_ws_bg.js kept: the wasm imports them).
# Fails when the total is over $TETHER_SIZE_BUDGET (bytes gzip), if set.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
step "size: shipped SDK (gzip -9; glue minified by esbuild)"
wasm="pkg/tether_ws_bg.wasm"
[ -f "$wasm" ] || die "$wasm is missing: build the SDK first (wasm-pack build)"
[ -f pkg/tether_ws_bg.js ] || die "pkg/ is not a bundler-target build (wasm-pack build --target bundler)"
command -v esbuild >/dev/null || die "esbuild is missing: run scripts/install.sh (npm ci in tools/)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf 'export * from "%s/pkg/tether_ws.js";\nexport * from "%s/pkg/tether_ws_bg.js";\n' \
  "$ROOT" "$ROOT" >"$tmp/entry.js"
esbuild "$tmp/entry.js" --bundle --format=esm --minify --external:'*.wasm' \
  --log-level=warning --outfile="$tmp/glue.min.js" || die "esbuild could not bundle pkg/"

gz() { gzip -9 -c "$1" | wc -c; }
bytes() { wc -c <"$1"; }
wasm_raw=$(bytes "$wasm")
wasm_gz=$(gz "$wasm")
js_raw=$(bytes "$tmp/glue.min.js")
js_gz=$(gz "$tmp/glue.min.js")
total=$((wasm_gz + js_gz))
printf '  %-18s %8s %8s\n' "" "raw" "gzip"
printf '  %-18s %8s %8s\n' "wasm" "$wasm_raw" "$wasm_gz"
printf '  %-18s %8s %8s\n' "js glue (min)" "$js_raw" "$js_gz"
printf '  %-18s %8s %8s\n' "total" "$((wasm_raw + js_raw))" "$total"
budget="${TETHER_SIZE_BUDGET:-}"
if [ -n "$budget" ]; then
  if [ "$total" -gt "$budget" ]; then
    die "SDK is $total bytes gzip, over the budget of $budget"
  fi
  echo "within the budget of $budget bytes gzip"
fi
