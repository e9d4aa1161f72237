#!/usr/bin/env bash
# Reports the SDK's size as an app ships it (issue 12's way): a user entry
# (`import { Tether } from "tether-ws"` and one `new Tether(...)`) bundled
# and minified by esbuild, JS + wasm, gzip -9, summed. Also prints the
# base64-inlined alternative.
#   scripts/size.sh [DIR]   DIR: a build_sdk output (default out/sdk)
# Fails when the total is over $TETHER_SIZE_BUDGET (bytes gzip), if set.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
command -v esbuild >/dev/null || die "esbuild is missing: run scripts/install.sh (npm ci in tools/)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gz() { gzip -9 -c "$1" | wc -c; }
bytes() { wc -c <"$1"; }

dir="$(cd "${1:-$ROOT/out/sdk}" && pwd)" || die "${1:-out/sdk} is missing: build the SDK first (scripts/pack.sh)"
step "size: SDK (user entry bundled by esbuild + wasm; gzip -9)"
wasm="$dir/tether.wasm"
[ -f "$wasm" ] && [ -f "$dir/index.js" ] || die "$dir is not a build_sdk output"
mkdir -p "$tmp/node_modules"
ln -s "$dir" "$tmp/node_modules/tether-ws"
printf 'import { Tether } from "tether-ws";\nexport const t = new Tether("wss://example.com/ws");\n' >"$tmp/entry.js"
esbuild "$tmp/entry.js" --bundle --format=esm --minify --log-level=warning \
  --outfile="$tmp/app.min.js" || die "esbuild could not bundle the user entry"
# The alternative for zero-configuration loading: the wasm as base64 in the JS.
{ cat "$tmp/app.min.js"; printf 'const w="'; base64 -w0 "$wasm"; printf '";'; } >"$tmp/inlined.js"

wasm_raw=$(bytes "$wasm")
wasm_gz=$(gz "$wasm")
js_raw=$(bytes "$tmp/app.min.js")
js_gz=$(gz "$tmp/app.min.js")
total=$((wasm_gz + js_gz))
printf '  %-22s %8s %8s\n' "" "raw" "gzip"
printf '  %-22s %8s %8s\n' "wasm" "$wasm_raw" "$wasm_gz"
printf '  %-22s %8s %8s\n' "js (user entry, min)" "$js_raw" "$js_gz"
printf '  %-22s %8s %8s\n' "total" "$((wasm_raw + js_raw))" "$total"
printf '  %-22s %8s %8s   (alternative, not shipped)\n' "js + wasm as base64" \
    "$(bytes "$tmp/inlined.js")" "$(gz "$tmp/inlined.js")"
budget="${TETHER_SIZE_BUDGET:-}"
if [ -n "$budget" ]; then
  if [ "$total" -gt "$budget" ]; then
    die "SDK is $total bytes gzip, over the budget of $budget"
  fi
  echo "within the budget of $budget bytes gzip"
fi
