#!/usr/bin/env bash
# Reports the shipped SDK's size: gzip -9 of pkg/*.wasm plus the JS glue.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
step "size: shipped SDK (gzip -9)"
wasm="pkg/tether_ws_bg.wasm"
[ -f "$wasm" ] || die "$wasm is missing: build the SDK first (wasm-pack build)"
gz() { gzip -9 -c "$1" | wc -c; }
wasm_gz=$(gz "$wasm")
js_gz=0
for f in pkg/*.js; do js_gz=$((js_gz + $(gz "$f"))); done
total=$((wasm_gz + js_gz))
printf 'wasm: %s bytes raw, %s gzip; js glue: %s gzip; total: %s bytes gzip\n' \
  "$(wc -c <"$wasm")" "$wasm_gz" "$js_gz" "$total"
budget="${TETHER_SIZE_BUDGET:-}"
if [ -n "$budget" ] && [ "$total" -gt "$budget" ]; then
  die "SDK is $total bytes gzip, over the budget of $budget"
fi
