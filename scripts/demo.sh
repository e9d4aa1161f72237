#!/usr/bin/env bash
# Builds the SDK for plain pages, starts the reference server with demo
# topics serving www/, and prints the URL. Ctrl-C stops it.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/install.sh"

step "build: SDK for plain pages (wasm-pack, web target -> www/pkg)"
run "wasm-pack build (web)" wasm-pack build --release --target web --out-dir www/pkg "$ROOT"

step "build: tether-server (release)"
run "cargo build tether-server" cargo build --release --locked -p tether-server

listen="${TETHER_LISTEN:-127.0.0.1:8787}"
step "run: tether-server --demo --static www on $listen"
out="$ROOT/out/demo"; mkdir -p "$out"
"$ROOT/target/release/tether-server" --demo --static "$ROOT/www" --listen "$listen" >"$out/server.out" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 100); do
  grep -q '^listening on ' "$out/server.out" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || die "tether-server exited (is $listen in use? set TETHER_LISTEN)"
  sleep 0.1
done
url="$(sed -n 's/^listening on //p' "$out/server.out" | head -1)"
[ -n "$url" ] || die "tether-server did not report its address"
printf '\nTether demo: open %s/  (Ctrl-C to stop)\n' "$url"
wait $pid
