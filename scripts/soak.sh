#!/usr/bin/env bash
# Soak runs (BENCHMARKS.md, "Soak"), installing what is missing first:
#  1. the server: target/release/soak runs the release tether-server under
#     SOAK_SECS (default 3600) seconds of churn, sampling its RSS; fails if
#     the server dies, panics, or its RSS is not flat after the warm-up;
#  2. the SDK on a plain page (build_sdk -> target/soak-sdk) driven by
#     Playwright (tests/soak/run.mjs): SOAK_CYCLES (default 10000)
#     reconnect cycles, half forced by the network side, the SDK and a
#     plain-WebSocket baseline each in a fresh page; prints the JS heap and
#     wasm memory every tenth of the run; bounds in BENCHMARKS.md.
# Shorter: SOAK_SECS=300 SOAK_CYCLES=1000 scripts/soak.sh. Skip a part:
# SOAK_SERVER=0 or SOAK_PAGE=0. Arguments go to the server soak
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
if [ "${SOAK_PAGE:-1}" != 0 ]; then
  step "build: tether-testkit (the browser tests' control server)"
  run "cargo build -p tether-testkit" cargo build --locked -p tether-testkit
  control_log="$OUT/control.log"
  "$ROOT/target/debug/tether-testkit" control --server-bin "$ROOT/target/release/tether-server" \
    >"$OUT/control.out" 2>"$control_log" &
  control_pid=$!
  trap 'kill $control_pid 2>/dev/null || true' EXIT
  control_url="$(listening_url "$OUT/control.out" $control_pid "tether-testkit (log: $control_log)")" || exit 1
fi

if [ "${SOAK_PAGE:-1}" != 0 ]; then
  step "build: the SDK (build_sdk -> target/soak-sdk)"
  build_sdk "$ROOT/target/soak-sdk"
  step "soak: SDK on a plain page, $SOAK_CYCLES reconnect cycles, Playwright (log: $OUT/page.log)"
  if PLAYWRIGHT_CORE="$ROOT/tools/node_modules/playwright-core/index.mjs" \
    node "$ROOT/tests/soak/run.mjs" --sdk "$ROOT/target/soak-sdk" \
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
