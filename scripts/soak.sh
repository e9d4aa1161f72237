#!/usr/bin/env bash
# Soak runs (BENCHMARKS.md, "Soak"), installing what is missing first:
#  1. the server: target/release/soak runs the release tether-server under
#     SOAK_SECS (default 3600) seconds of churn, sampling its RSS; fails if
#     the server dies, panics, or its RSS is not flat after the warm-up;
#  2. the SDK: the leak browser test (tests/leak.rs) built with
#     TETHER_SOAK_CYCLES=SOAK_CYCLES (default 10000) reconnect cycles, half
#     forced by the network side, in headless Chromium; prints the JS heap
#     and wasm memory every tenth of the run;
#  3. the SDK on a plain page: the shipped build (build_sdk web) and SDK v2
#     (build_sdk_v2) driven by Playwright (tests/soak/run.mjs), the same
#     cycles, v1, v2 and the baseline each in a fresh page; the JS heap
#     bound is judged here (BENCHMARKS.md).
# Shorter: SOAK_SECS=300 SOAK_CYCLES=1000 scripts/soak.sh. Skip a part:
# SOAK_SERVER=0, SOAK_SDK=0 or SOAK_PAGE=0. Arguments go to the server soak
# (target/release/soak --help). Output: out/soak/.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
OUT="$ROOT/out/soak"
mkdir -p "$OUT"
SOAK_SECS="${SOAK_SECS:-3600}"
SOAK_CYCLES="${SOAK_CYCLES:-10000}"

"$ROOT/scripts/install.sh"

step "build: tether-server and the soak tool (release)"
run "cargo build --release" cargo build --release --locked -p tether-server -p tether-bench \
  --bin tether-server --bin soak

failed=()
if [ "${SOAK_SERVER:-1}" != 0 ]; then
  step "soak: server, $SOAK_SECS s of churn (figures: $OUT/server/soak_summary.md)"
  "$ROOT/target/release/soak" --server-bin "$ROOT/target/release/tether-server" \
    --out "$OUT/server" --duration "$SOAK_SECS" "$@" || failed+=("server soak")
fi

control_pid=""
if [ "${SOAK_SDK:-1}" != 0 ] || [ "${SOAK_PAGE:-1}" != 0 ]; then
  step "build: tether-testkit (the browser tests' control server)"
  run "cargo build -p tether-testkit" cargo build --locked -p tether-testkit
  control_log="$OUT/control.log"
  "$ROOT/target/debug/tether-testkit" control --server-bin "$ROOT/target/release/tether-server" \
    >"$OUT/control.out" 2>"$control_log" &
  control_pid=$!
  trap 'kill $control_pid 2>/dev/null || true' EXIT
  control_url="$(listening_url "$OUT/control.out" $control_pid "tether-testkit (log: $control_log)")" || exit 1
fi

if [ "${SOAK_SDK:-1}" != 0 ]; then
  step "soak: SDK, $SOAK_CYCLES reconnect cycles in headless Chromium (log: $OUT/sdk.log)"
  if TETHER_SOAK_CYCLES="$SOAK_CYCLES" \
    TETHER_CONTROL_URL="$control_url" \
    CHROMEDRIVER=/usr/bin/chromedriver \
    WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/webdriver.json" \
    WASM_BINDGEN_TEST_TIMEOUT=$((600 + SOAK_CYCLES / 5)) \
    cargo test --locked --target wasm32-unknown-unknown -p tether-ws --test leak -- --nocapture \
    >"$OUT/sdk.log" 2>&1; then
    :
  else
    failed+=("SDK soak")
  fi
  grep -o 'leak-soak: .*' "$OUT/sdk.log" || true
  grep -E '^test |test result' "$OUT/sdk.log" || true
fi

if [ "${SOAK_PAGE:-1}" != 0 ]; then
  step "build: the shipped SDK, web target (target/soak-pkg), and SDK v2 (target/soak-pkg-v2)"
  build_sdk web "$ROOT/target/soak-pkg"
  build_sdk_v2 "$ROOT/target/soak-pkg-v2"
  step "soak: SDK v1 and v2 on a plain page, $SOAK_CYCLES reconnect cycles each, Playwright (log: $OUT/page.log)"
  if PLAYWRIGHT_CORE="$ROOT/tools/node_modules/playwright-core/index.mjs" \
    node "$ROOT/tests/soak/run.mjs" --pkg "$ROOT/target/soak-pkg" --v2 "$ROOT/target/soak-pkg-v2" \
    --control "$control_url" \
    --cycles "$SOAK_CYCLES" >"$OUT/page.log" 2>&1; then
    :
  else
    failed+=("SDK plain-page soak")
  fi
  grep -E '^soak-page: ' "$OUT/page.log" || true
fi
[ -z "$control_pid" ] || kill $control_pid 2>/dev/null || true

if [ ${#failed[@]} -gt 0 ]; then
  die "${failed[*]} failed (see above; logs in $OUT)"
fi
printf '\nsoak: every run passed\n'
