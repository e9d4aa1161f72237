#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need, skipping what
# is already present at the right version. Safe to run again.
source "$(dirname "$0")/lib.sh"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "install: Debian packages (chromium, redis-server)"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]} (takes a few minutes on a fresh machine)"
  export DEBIAN_FRONTEND=noninteractive
  run "apt-get update (needs Debian's package registry)" as_root apt-get update -q
  run "apt-get install ${missing[*]}" as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "present"
fi

step "install: Rust target wasm32-unknown-unknown"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "present"
else
  run "rustup target add wasm32-unknown-unknown" rustup target add wasm32-unknown-unknown
fi

step "install: npm tools (wasm-opt from binaryen 132, esbuild, playwright-core, TypeScript)"
npm_version() { node -p "require('$ROOT/tools/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(npm_version binaryen)" = "132.0.0" ] && [ "$(npm_version playwright-core)" = "1.65.1" ] \
   && [ "$(npm_version esbuild)" = "0.28.2" ]; then
  echo "present"
else
  command -v npm >/dev/null || die "npm is missing (Node.js and npm come with this machine kind)"
  (cd "$ROOT/tools" && run "npm ci in tools/ (needs the npm registry)" npm ci --no-audit --no-fund)
fi
js_version() { node -p "require('$ROOT/js/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(js_version typescript)" = "5.9.3" ] && [ "$(js_version @types/node)" = "20.19.43" ] && [ "$(js_version ws)" = "8.23.1" ]; then
  echo "js/ build tools present"
else
  (cd "$ROOT/js" && run "npm ci in js/ (TypeScript, React and Node types, ws)" npm ci --no-audit --no-fund)
fi
wasm-opt --version | grep -q 'version 132' || die "wasm-opt on PATH is not binaryen 132: $(command -v wasm-opt)"
echo "tools ready"
