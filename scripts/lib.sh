# Shared by the scripts: step banners, failures that name the missing piece,
# and the tool PATH. Source it; do not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

STEP_NO=0
# A script run as a step of another numbers its steps below it (STEP_PARENT=3.).
step() { STEP_NO=$((STEP_NO + 1)); printf '\n==> [%s%s] %s\n' "${STEP_PARENT:-}" "$STEP_NO" "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
# run "what failed" cmd...: runs cmd; on failure names the step.
run() { local what="$1"; shift; "$@" || die "$what (command: $*)"; }

# The SDK's version: the root crate's (Cargo.toml), also the npm package's.
sdk_version() {
  awk -F'"' '/^version = / { print $2; exit }' "$ROOT/Cargo.toml"
}

# listening_url FILE PID WHAT: waits (at most 30 s) for the `listening on URL`
# line that tether-server and tether-testkit print first; prints the URL, or
# fails naming WHAT. Use as: url="$(listening_url f $pid "x")" || exit 1
listening_url() {
  local file="$1" pid="$2" what="$3" url=""
  for _ in $(seq 300); do
    url="$(sed -n 's/^listening on //p' "$file" 2>/dev/null | head -1)"
    [ -n "$url" ] && { echo "$url"; return 0; }
    kill -0 "$pid" 2>/dev/null || die "$what exited before listening"
    sleep 0.1
  done
  die "$what did not report its address within 30 s"
}

# The wasm features rustc emits by default (binaryen must be told).
WASM_FEATURES=(--enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-multivalue)

# build_sdk OUT_DIR: the SDK (docs/DESIGN.md, "SDK"): the root crate
# (wasm32, profile wasm-release, feature small) -> wasm-opt ->
# OUT_DIR/tether.wasm, next to the facade compiled by tsc (js/src ->
# OUT_DIR/*.js + *.d.ts, strict: this is the facade's type check).
# OUT_DIR/index.js is the entry, OUT_DIR/inline.js tether-ws/inline (the
# wasm embedded); scripts/pack.sh packs the folder.
build_sdk() {
  local out="$1"
  run "cargo build -p tether-ws (wasm32, wasm-release)" \
    cargo build --locked -q -p tether-ws --features small --target wasm32-unknown-unknown --profile wasm-release
  mkdir -p "$out"
  run "wasm-opt tether.wasm" wasm-opt "${WASM_FEATURES[@]}" -Oz --converge --strip-debug \
    --strip-producers --strip-target-features \
    "$ROOT/target/wasm32-unknown-unknown/wasm-release/tether_ws.wasm" -o "$out/tether.wasm"
  run "tsc (js/src -> $out)" "$ROOT/js/node_modules/.bin/tsc" -p "$ROOT/js/tsconfig.build.json" --outDir "$out"
  run "tether-ws/inline (js/inline.mjs)" node "$ROOT/js/inline.mjs" "$out"
  run "package.json (js/manifest.mjs)" node "$ROOT/js/manifest.mjs" "$out" "$(sdk_version)"
}
