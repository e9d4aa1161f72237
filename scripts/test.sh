#!/usr/bin/env bash
# Runs every check and test: lint gates, native tests (core, protocol,
# server), the SDK build with its size report, and the browser tests in
# headless Chromium against the real server. Installs what is missing first.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
OUT="$ROOT/out/test"
mkdir -p "$OUT"

"$ROOT/scripts/install.sh"

step "check: cargo fmt"
run "formatting differs: run 'cargo fmt --all'" cargo fmt --all -- --check

step "check: clippy (native, all targets)"
run "clippy (native)" cargo clippy --workspace --all-targets --locked -- -D warnings

step "check: clippy (wasm32: SDK, core, protocol)"
run "clippy (wasm32)" cargo clippy --target wasm32-unknown-unknown --all-targets --locked \
  -p tether-ws -p tether-core -p tether-protocol -- -D warnings

step "check: cargo doc"
RUSTDOCFLAGS="-D warnings" run "cargo doc" cargo doc --workspace --no-deps --locked

step "test: native (core scenarios, protocol, server)"
run "native tests" cargo test --workspace --locked

step "build: SDK (wasm-pack, release, bundler target -> pkg/)"
run "wasm-pack build" wasm-pack build --release --target bundler --out-dir pkg "$ROOT"
"$ROOT/scripts/size.sh"

step "test: browser (headless Chromium, real tether-server)"
run "build tether-server and tether-testkit" cargo build --locked -p tether-server -p tether-testkit
control_log="$OUT/control.log"
"$ROOT/target/debug/tether-testkit" control --server-bin "$ROOT/target/debug/tether-server" \
  >"$OUT/control.out" 2>"$control_log" &
control_pid=$!
trap 'kill $control_pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  grep -q '^listening on ' "$OUT/control.out" 2>/dev/null && break
  kill -0 $control_pid 2>/dev/null || die "tether-testkit exited; see $control_log"
  sleep 0.1
done
control_url="$(sed -n 's/^listening on //p' "$OUT/control.out" | head -1)"
[ -n "$control_url" ] || die "tether-testkit did not start within 30 s; see $control_log"
echo "control server: $control_url"
TETHER_CONTROL_URL="$control_url" \
CHROMEDRIVER=/usr/bin/chromedriver \
WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/webdriver.json" \
WASM_BINDGEN_TEST_TIMEOUT=120 \
  run "browser tests (server logs: $control_log)" \
  cargo test --locked --target wasm32-unknown-unknown -p tether-ws --tests

printf '\nall checks and tests passed\n'
