# Shared by the scripts: step banners, failures that name the missing piece,
# and the tool PATH. Source it; do not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WASM_PACK_CACHE="${WASM_PACK_CACHE:-$ROOT/target/wasm-pack-cache}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$WASM_PACK_CACHE"

STEP_NO=0
# A script run as a step of another numbers its steps below it (STEP_PARENT=3.).
step() { STEP_NO=$((STEP_NO + 1)); printf '\n==> [%s%s] %s\n' "${STEP_PARENT:-}" "$STEP_NO" "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
# run "what failed" cmd...: runs cmd; on failure names the step.
run() { local what="$1"; shift; "$@" || die "$what (command: $*)"; }

# The wasm-bindgen version pinned in Cargo.lock (the CLI must match it).
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
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

# build_sdk TARGET OUT_DIR: the shipped SDK build (wasm-pack, profile
# wasm-release: size-optimised, panic = abort; feature small: no std,
# trapping panic handler, small allocator). TARGET: bundler or web.
build_sdk() {
  run "wasm-pack build --target $1" \
    wasm-pack build --profile wasm-release --target "$1" --out-dir "$2" "$ROOT" -- --features small
}

# The wasm features rustc emits by default (binaryen must be told).
WASM_FEATURES=(--enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-multivalue)

# build_sdk_v2 OUT_DIR: SDK v2 (docs/DESIGN.md, "SDK v2"): crates/tether-wasm
# (profile wasm-release) -> wasm-opt -> OUT_DIR/tether.wasm, next to the
# facade compiled by tsc (js/src -> OUT_DIR/*.js + *.d.ts) and a
# package.json; OUT_DIR/index.js is the entry.
build_sdk_v2() {
  local out="$1"
  run "cargo build -p tether-wasm (wasm32, wasm-release)" \
    cargo build --locked -q -p tether-wasm --features small --target wasm32-unknown-unknown --profile wasm-release
  mkdir -p "$out"
  run "wasm-opt tether.wasm" wasm-opt "${WASM_FEATURES[@]}" -Oz --converge --strip-debug \
    --strip-producers --strip-target-features \
    "$ROOT/target/wasm32-unknown-unknown/wasm-release/tether_wasm.wasm" -o "$out/tether.wasm"
  run "tsc (js/src -> $out)" "$ROOT/js/node_modules/.bin/tsc" -p "$ROOT/js/tsconfig.v2.json" --outDir "$out"
  local version
  version="$(awk -F'"' '/^version = / { print $2; exit }' "$ROOT/Cargo.toml")"
  cat >"$out/package.json" <<JSON
{
  "name": "tether-ws",
  "version": "$version",
  "description": "Realtime WebSocket connection SDK for browser dashboards (v2: wasm core, TypeScript facade).",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./index.js",
  "types": "./index.d.ts",
  "exports": { ".": { "types": "./index.d.ts", "default": "./index.js" } },
  "files": ["*.js", "*.d.ts", "tether.wasm"],
  "sideEffects": false
}
JSON
}
