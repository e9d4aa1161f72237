#!/usr/bin/env bash
# Builds the dashboard demo (www/, Vite + React) against pkg/:
# www/dist (production) and www/dist-dev (development: React StrictMode
# double-mounts, used by the StrictMode test).
source "$(dirname "$0")/lib.sh"
cd "$ROOT/www"
[ -f "$ROOT/pkg/package.json" ] || die "pkg/ is missing: build and package the SDK first"
# tether-ws is a file: dependency on ../pkg, so install after pkg exists.
run "npm ci in www/ (needs the npm registry)" npm ci --no-audit --no-fund --loglevel=error
export NO_COLOR=1
run "type-check the demo (tsc)" ./node_modules/.bin/tsc --noEmit
run "vite build (production)" ./node_modules/.bin/vite build --logLevel warn
if [ "${1:-}" = build ]; then
  run "vite build (development)" ./node_modules/.bin/vite build --mode development --outDir dist-dev --logLevel warn
fi
