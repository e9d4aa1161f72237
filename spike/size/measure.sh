#!/usr/bin/env bash
# SPIKE (issue 12): builds every variant of the size spike and prints wasm,
# JS and total gzip -9 sizes. Output in target/spike-out/ (not committed).
# Usage: spike/size/measure.sh [VARIANT...]   (default: all)
# Needs: scripts/install.sh (wasm-bindgen, binaryen 132, esbuild) and twiggy
# (cargo install twiggy --locked). The floor* rows' JS column is not theirs
# (floor.rs has no glue): read only their wasm.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PATH="$ROOT/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="$ROOT/target/spike"
OUT="$ROOT/target/spike-out"
# The wasm features rustc 1.8x+ emits by default (binaryen needs them named).
FEAT="--enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue"
gz() { gzip -9 -c "$1" | wc -c; }

# name style cargo-features
VARIANTS=(
  "a-dl web web,alloc-dl" "a-lol web web,alloc-lol" "a-bump web web"
  "b-dl bindgen bindgen,alloc-dl" "b-lol bindgen bindgen,alloc-lol" "b-bump bindgen bindgen"
  "c-dl raw raw,alloc-dl" "c-lol raw raw,alloc-lol" "c-bump raw raw"
  "c-std raw raw,std-panic"
  "floor raw floor" "floor-dl raw floor,alloc-dl" "floor-std raw floor,std-panic"
)
want=("$@")
printf '%-8s %8s %8s %8s %8s %8s  %s\n' variant wasm wasm.gz js js.gz total.gz "fmt+panic B"
for v in "${VARIANTS[@]}"; do
  read -r name style features <<<"$v"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  d="$OUT/$name"
  rm -rf "$d" && mkdir -p "$d/bg"
  (cd "$HERE" && cargo build -q --release --target wasm32-unknown-unknown --features "$features")
  wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/tether_size_spike.wasm"
  if [ "$style" = raw ]; then
    cp "$wasm" "$d/bg/spike_bg.wasm"
    glue="$HERE/js/raw-glue.js"
  else
    wasm-bindgen --target web --out-dir "$d/bg" --out-name spike "$wasm"
    glue="$d/bg/spike.js"
  fi
  wasm-opt $FEAT -Oz --converge --strip-debug --strip-producers --strip-target-features \
    "$d/bg/spike_bg.wasm" -o "$d/spike_bg.wasm"
  wasm-opt $FEAT -g -Oz --converge "$d/bg/spike_bg.wasm" -o "$d/named.wasm"
  esbuild "$HERE/js/entry.js" --bundle --format=esm --minify --alias:bridge="$glue" --alias:registry="$HERE/js/registry.js" \
    --external:'*.wasm' --external:'node:*' --log-level=warning --outfile="$d/sdk.min.js"
  # Bytes of functions named *fmt* or *panic* (0: no core::fmt linked).
  fmt=$(twiggy top -n 100000 -f csv "$d/named.wasm" | awk -F, '/fmt|panic/ { s += $2 } END { print s + 0 }')
  w=$(wc -c <"$d/spike_bg.wasm"); wg=$(gz "$d/spike_bg.wasm")
  j=$(wc -c <"$d/sdk.min.js"); jg=$(gz "$d/sdk.min.js")
  printf '%-8s %8s %8s %8s %8s %8s  %s\n' "$name" "$w" "$wg" "$j" "$jg" $((wg + jg)) "$fmt"
done
