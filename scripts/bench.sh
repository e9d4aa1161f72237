#!/usr/bin/env bash
# The bench command: runs every benchmark of BENCHMARKS.md, each against a
# baseline measured in the same run, on a fresh clone (installs what is
# missing first, builds what it runs):
#   1. size of the shipped SDK next to peers from npm, and
#   2. dispatch cost in headless Chromium (scripts/bench-browser.sh);
#   3. server capacity: the load generator against the real tether-server
#      (RSS per idle connection, fan-out latency, deliveries/s, handshakes/s);
#   4. reconnect storms: the simulation over the real tether-core backoff;
#   then, when redis-server is installed, the scale-out comparison (1, 2, 3
#   instances over one Redis vs the in-memory hub; out/bench/scaleout/).
# Results (Markdown tables, JSON, CSV, PNG charts, server logs) go to
# out/bench/; the tables are printed too. About 14 minutes on 2 cores once
# the builds are done.
#
# Extra arguments go to the load generator, e.g.
#   scripts/bench.sh --sections fanout --fanout 1000
# Skip a part with BENCH_BROWSER=0 (sections 1-2), BENCH_LOAD=0 (3),
# BENCH_STORM=0 (4), BENCH_SCALEOUT=0; BENCH_SCALEOUT_ARGS adds arguments to
# the scale-out step (e.g. "--scaleout-clients 1000 --scaleout-rate 50").
# The browser part has its own knobs (see scripts/bench-browser.sh).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
OUT="$ROOT/out/bench"
mkdir -p "$OUT"

"$ROOT/scripts/install.sh"

step "build: release binaries (tether-server, storm, load)"
run "cargo build --release" cargo build --release --locked -p tether-server -p tether-bench

# 10k connections need 10k descriptors in the server and in the load
# generator each: raise the soft limit as far as the hard limit allows (the
# binary raises it again for itself; the server inherits it).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
echo "open-file limit: $(ulimit -n)"

if [ "${BENCH_BROWSER:-1}" != 0 ]; then
  step "browser: size next to peers, dispatch cost (scripts/bench-browser.sh)"
  STEP_PARENT="$STEP_NO." TETHER_SERVER_BIN="$ROOT/target/release/tether-server" \
    run "browser benchmarks (sections 1 and 2)" "$ROOT/scripts/bench-browser.sh"
fi

if [ "${BENCH_LOAD:-1}" != 0 ]; then
  step "load: RSS, fan-out latency, deliveries/s, handshakes/s (loopback)"
  run "load generator (server logs: $OUT/server-*.log)" "$ROOT/target/release/load" \
    --server-bin "$ROOT/target/release/tether-server" --out "$OUT" "$@"
fi

if [ "${BENCH_STORM:-1}" != 0 ]; then
  step "storm: reconnect storms, N = 10k and 100k, C = 1000/s, T = 30 s"
  run "storm simulation" "$ROOT/target/release/storm" --out "$OUT" \
    --doc-chart "$OUT/storm-small.png" --doc-chart-clients 100000
  echo "charts: $OUT/storm_10000.png $OUT/storm_100000.png (small copy: $OUT/storm-small.png)"
fi

if [ "${BENCH_SCALEOUT:-1}" != 0 ]; then
  step "scale-out: 1, 2, 3 instances over Redis vs the in-memory hub (loopback)"
  if REDIS_BIN="$(command -v redis-server)"; then
    # The load generator starts redis-server itself (free loopback port, no
    # persistence) and kills it, and every server, when it ends.
    # shellcheck disable=SC2086 # BENCH_SCALEOUT_ARGS: words on purpose
    run "scale-out (server logs: $OUT/scaleout/server-*.log)" "$ROOT/target/release/load" \
      --server-bin "$ROOT/target/release/tether-server" --redis-server "$REDIS_BIN" \
      --out "$OUT/scaleout" --sections scaleout --time-limit-s 240 ${BENCH_SCALEOUT_ARGS:-}
  else
    echo "skipped: redis-server not found (Debian: apt-get install redis-server)"
  fi
fi

printf '\nbenchmarks done: results in %s\n' "$OUT"
