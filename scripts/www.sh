#!/usr/bin/env bash
# Builds the dashboard demo (www/, Vite + React) against the npm tarball
# (scripts/pack.sh): www/dist (production) and, with `build`, www/dist-dev
# (development: React StrictMode double-mounts, used by the StrictMode
# test). Also puts the package's files in www/plain/tether-ws for the plain
# page (no bundler).
source "$(dirname "$0")/lib.sh"
version="$(sdk_version)"
tarball="$ROOT/out/tether-ws-$version.tgz"
[ -f "$tarball" ] || die "$tarball is missing: run scripts/pack.sh first"
cd "$ROOT/www"
# npm ci unpacks the tarball as it is now (the lockfile pins no hash for it).
run "npm ci in www/ (needs the npm registry)" npm ci --no-audit --no-fund --loglevel=error
export NO_COLOR=1
run "type-check the demo (tsc)" ./node_modules/.bin/tsc --noEmit
run "vite build (production)" ./node_modules/.bin/vite build --logLevel warn
if [ "${1:-}" = build ]; then
  run "vite build (development)" ./node_modules/.bin/vite build --mode development --outDir dist-dev --logLevel warn
fi
rm -rf "$ROOT/www/plain/tether-ws"
cp -r "$ROOT/www/node_modules/tether-ws" "$ROOT/www/plain/tether-ws"
