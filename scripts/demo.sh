#!/usr/bin/env bash
# Builds the SDK and the dashboard (www/), starts the reference server with
# demo topics serving it, and prints the URL. Ctrl-C stops it.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/install.sh"

step "build: the SDK and its npm package (scripts/pack.sh -> out/tether-ws-<version>.tgz)"
STEP_PARENT="$STEP_NO." "$ROOT/scripts/pack.sh"

step "build: dashboard (www/, Vite + React installing the tarball -> www/dist)"
"$ROOT/scripts/www.sh"

step "build: tether-server (release)"
run "cargo build tether-server" cargo build --release --locked -p tether-server

listen="${TETHER_LISTEN:-127.0.0.1:8787}"
step "run: tether-server --demo --static www/dist on $listen"
out="$ROOT/out/demo"; mkdir -p "$out"
"$ROOT/target/release/tether-server" --demo --static "$ROOT/www/dist" --listen "$listen" >"$out/server.out" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT INT TERM
url="$(listening_url "$out/server.out" $pid "tether-server (is $listen in use? set TETHER_LISTEN)")" || exit 1
printf '\nTether demo: open %s/  (Ctrl-C to stop)\n' "$url"
wait $pid
