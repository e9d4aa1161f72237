#!/usr/bin/env bash
# Runs the browser benchmarks of BENCHMARKS.md sections 1 (size of the
# SDK, as an app ships it, next to peers from npm) and 2 (dispatch cost in
# headless Chromium: the receive path against a fake socket, publications
# per second from the real tether-server, and CPU per publication at a
# fixed rate; each against a raw WebSocket + JSON.parse baseline in the same
# run, with reconnecting-websocket alongside). Builds what it needs first:
# the SDK (build_sdk -> target/bench-sdk, as scripts/test.sh builds it),
# tether-server (release), and the bench's npm packages
# (bench/browser/package-lock.json). Results go to out/bench/browser.json
# and out/bench/browser.md; the tables are printed.
# Takes about 5 minutes on a 2-core machine once the Rust builds are done.
#
# Knobs (environment): BENCH_MICRO=0 / BENCH_E2E=0 skip a part;
# BENCH_E2E_REPS (9), BENCH_E2E_WINDOW_MS (2500), BENCH_MICRO_RUNS (41),
# BENCH_E2E_PACED_RATE (5000/s), BENCH_E2E_PACED_REPS (5; 0 skips the paced part);
# TETHER_SERVER_BIN=path uses that server instead of building one.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
OUT="$ROOT/out/bench"
BENCH="$ROOT/bench/browser"
SDK="$ROOT/target/bench-sdk"
mkdir -p "$OUT"

command -v node >/dev/null || die "node is missing (Node.js and npm come with this machine kind)"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing: run scripts/install.sh (Debian's chromium)"

step "build: the SDK (build_sdk -> target/bench-sdk)"
build_sdk "$SDK"

server_bin="${TETHER_SERVER_BIN:-}"
if [ -z "$server_bin" ]; then
  step "build: tether-server (release)"
  run "cargo build --release -p tether-server" cargo build --release --locked -p tether-server
  server_bin="$ROOT/target/release/tether-server"
else
  echo "tether-server: $server_bin (TETHER_SERVER_BIN; not built here)"
fi
[ -x "$server_bin" ] || die "tether-server binary missing: $server_bin"

step "install: bench npm packages (npm ci in bench/browser: esbuild, playwright-core, peers)"
(cd "$BENCH" && run "npm ci in bench/browser (needs the npm registry)" npm ci --no-audit --no-fund --loglevel=error)
ESBUILD="$BENCH/node_modules/.bin/esbuild"
[ -x "$ESBUILD" ] || die "esbuild is missing from bench/browser/node_modules"

step "bundle: peers and the SDK's user entry with esbuild --bundle --minify --format=esm (gzip -9)"
peers_dir="$OUT/browser-peers"
rm -rf "$peers_dir" && mkdir -p "$peers_dir"
gz() { gzip -9 -c "$1" | wc -c; }
bytes() { wc -c <"$1"; }
version() { node -p "require('$BENCH/node_modules/$1/package.json').version"; }
size_json="$OUT/browser-size.json"
{
  printf '{\n  "method": "gzip -9 bytes; peers: esbuild --bundle --minify --format=esm of an entry importing the client; tether-ws: a user entry bundled the same way plus tether.wasm, as scripts/size.sh",\n'
  printf '  "peers": [\n'
  sep=""
  for entry in "$BENCH"/peers/*.js; do
    name="$(basename "$entry" .js)"
    run "esbuild $name" "$ESBUILD" "$entry" --bundle --minify --format=esm --platform=browser \
      --log-level=warning --outfile="$peers_dir/$name.min.js"
    printf '%s    {"name": "%s", "version": "%s", "entry": "%s", "raw": %s, "gzip": %s}' \
      "$sep" "$name" "$(version "$name")" "$(sed -n 's/^import \(.*\) from.*/\1/p' "$entry" | head -1)" \
      "$(bytes "$peers_dir/$name.min.js")" "$(gz "$peers_dir/$name.min.js")"
    sep=$',\n'
  done
  printf '\n  ],\n'
  # The SDK, issue 12's way (as scripts/size.sh): a user entry importing
  # `Tether` from the package and making one client, bundled by esbuild;
  # its JS plus the wasm. The bundle is named app.min.js as there: gzip
  # stores the file name in its header, so the name counts in the bytes.
  mkdir -p "$peers_dir/tether-app/node_modules"
  ln -sfn "$SDK" "$peers_dir/tether-app/node_modules/tether-ws"
  printf 'import { Tether } from "tether-ws";\nexport const t = new Tether("wss://example.com/ws");\n' \
    >"$peers_dir/tether-app/entry.js"
  run "esbuild tether-ws user entry" "$ESBUILD" "$peers_dir/tether-app/entry.js" --bundle --format=esm --minify \
    --log-level=warning --outfile="$peers_dir/tether-app/app.min.js"
  printf '  "tether": {"version": "%s", "method": "%s", "wasm_raw": %s, "wasm_gzip": %s, "js_raw": %s, "js_gzip": %s}\n}\n' \
    "$(sdk_version)" \
    "build_sdk; a user entry (import { Tether } from tether-ws; one new Tether) bundled by esbuild --bundle --minify --format=esm, plus tether.wasm, as scripts/size.sh" \
    "$(bytes "$SDK/tether.wasm")" "$(gz "$SDK/tether.wasm")" \
    "$(bytes "$peers_dir/tether-app/app.min.js")" "$(gz "$peers_dir/tether-app/app.min.js")"
} >"$size_json"

step "bench: dispatch cost in headless Chromium (micro: fake socket; end to end: real tether-server)"
run "browser bench" node --experimental-websocket --no-warnings=ExperimentalWarning "$BENCH/run.mjs" \
  --sdk "$SDK" \
  --rws "$peers_dir/reconnecting-websocket.min.js" \
  --server-bin "$server_bin" \
  --size "$size_json" \
  --out "$OUT"

printf '\nbrowser benchmarks done: %s/browser.json, %s/browser.md\n' "$OUT" "$OUT"
