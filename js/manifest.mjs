// Writes the package.json of the npm package tether-ws into a built SDK
// folder: node js/manifest.mjs DIR VERSION. Run by build_sdk
// (scripts/lib.sh); scripts/pack.sh packs that folder.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, version] = process.argv.slice(2);
if (!dir || !/^\d+\.\d+\.\d+/.test(version ?? "")) {
  console.error("usage: node js/manifest.mjs DIR VERSION");
  process.exit(2);
}
const manifest = {
  name: "tether-ws",
  version,
  description:
    "Realtime WebSocket connection SDK for browser dashboards: backoff with jitter, heartbeat, " +
    "subscriptions with recovery, offline queue, requests, React hooks.",
  license: "MIT OR Apache-2.0",
  repository: { type: "git", url: "https://example.invalid/tether.git" },
  type: "module",
  main: "./index.js",
  types: "./index.d.ts",
  exports: {
    ".": { types: "./index.d.ts", default: "./index.js" },
    "./react": { types: "./react.d.ts", default: "./react.js" },
    // The wasm embedded, for esbuild and Rollup (they do not emit tether.wasm).
    "./inline": { types: "./inline.d.ts", default: "./inline.js" },
    "./testing": { types: "./testing.d.ts", default: "./testing.js" },
    "./package.json": "./package.json",
  },
  // tether.wasm sits next to wasm.js: it is found by new URL("./tether.wasm", import.meta.url).
  // testing/: the modules of tether-ws/testing (js/src/testing/).
  files: ["*.js", "*.d.ts", "testing/*.js", "testing/*.d.ts", "tether.wasm"],
  // Only tether-ws/inline does something when imported (it is imported for that).
  sideEffects: ["./inline.js"],
  engines: { node: ">=20" },
  peerDependencies: { react: ">=18" },
  peerDependenciesMeta: { react: { optional: true } },
};
writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
