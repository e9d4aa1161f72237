# Shared by the scripts: step banners, failures that name the missing piece,
# and the tool PATH. Source it; do not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WASM_PACK_CACHE="${WASM_PACK_CACHE:-$ROOT/target/wasm-pack-cache}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$WASM_PACK_CACHE"

STEP_NO=0
step() { STEP_NO=$((STEP_NO + 1)); printf '\n==> [%s] %s\n' "$STEP_NO" "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
# run "what failed" cmd...: runs cmd; on failure names the step.
run() { local what="$1"; shift; "$@" || die "$what (command: $*)"; }

# The wasm-bindgen version pinned in Cargo.lock (the CLI must match it).
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}
