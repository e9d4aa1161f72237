#!/usr/bin/env bash
# Builds the npm package tether-ws (docs/DESIGN.md, "SDK") and writes its
# tarball out/tether-ws-<version>.tgz (npm pack), the file README's Install
# section names and the fixtures (fixtures/) and the demo (www/) install.
# Works from a fresh clone: installs what is missing first. Prints the
# tarball's path last.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/install.sh"

version="$(sdk_version)"
[ -n "$version" ] || die "cannot read the version from Cargo.toml"
stage="$ROOT/out/pack/tether-ws"
tarball="$ROOT/out/tether-ws-$version.tgz"

step "pack: build the SDK (wasm + facade -> out/sdk)"
build_sdk "$ROOT/out/sdk"
head -1 "$ROOT/out/sdk/react.js" | grep -qx '"use client";' || die "react.js does not start with \"use client\" (js/src/react.ts)"
# No `any` in the published types (comments aside).
if grep -rhv '^\s*\(/\*\|\*\|//\)' --include='*.d.ts' "$ROOT/out/sdk" | grep -qw any; then
  die "a published declaration uses \`any\`: $(grep -rnw any --include='*.d.ts' "$ROOT/out/sdk" | grep -v ':\s*\(/\*\|\*\|//\)' | head -3)"
fi

step "pack: stage the package (out/sdk + README) and npm pack -> $tarball"
rm -rf "$stage"
mkdir -p "$stage"
cp -r "$ROOT/out/sdk/." "$stage/"
cp "$ROOT/README.md" "$stage/"
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
