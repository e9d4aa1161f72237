#!/usr/bin/env bash
# Builds the npm package tether-ws (SDK v2: docs/DESIGN.md, "SDK v2") and
# writes its tarball out/tether-ws-<version>.tgz (npm pack), the file the
# fixtures (fixtures/) install. Works from a fresh clone: installs what is
# missing first. Prints the tarball's path last.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/install.sh"

version="$(awk -F'"' '/^version = / { print $2; exit }' "$ROOT/Cargo.toml")"
[ -n "$version" ] || die "cannot read the version from Cargo.toml"
stage="$ROOT/out/pack/tether-ws"
tarball="$ROOT/out/tether-ws-$version.tgz"

step "pack: build SDK v2 (wasm + facade -> out/v2)"
build_sdk_v2 "$ROOT/out/v2"

step "pack: stage the package (facade + tether-ws/react, tether.wasm, package.json, README)"
rm -rf "$stage"
mkdir -p "$stage"
run "tsc (js/src with react.ts -> $stage)" "$ROOT/js/node_modules/.bin/tsc" -p "$ROOT/js/tsconfig.pack.json" --outDir "$stage"
head -1 "$stage/react.js" | grep -qx '"use client";' || die "react.js does not start with \"use client\" (js/src/react.ts)"
cp "$ROOT/out/v2/tether.wasm" "$ROOT/README.md" "$stage/"
run "package.json (js/manifest.mjs)" node "$ROOT/js/manifest.mjs" "$stage" "$version"

step "pack: npm pack -> $tarball"
rm -f "$tarball"
run "npm pack" npm pack --silent --pack-destination "$ROOT/out" "$stage" >/dev/null
[ -f "$tarball" ] || die "npm pack wrote no $tarball"
listing="$(tar -tzf "$tarball")"
sed 's/^/  /' <<<"$listing"
# tether-ws/testing spans a folder, which the manifest's `files` must name.
for f in testing.js testing.d.ts testing/server.js testing/server.d.ts; do
  grep -qx "package/$f" <<<"$listing" || die "the tarball lacks $f (js/manifest.mjs \"files\")"
done
echo "$tarball"
