// Completes the npm package in pkg/ after wasm-pack: compiles the React
// bindings (js/react.ts -> pkg/react.js + react.d.ts) and fills package.json
// (exports, files, peer dependency, metadata). Run by scripts/package.sh.
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const js = dirname(fileURLToPath(import.meta.url));
const pkg = join(js, "..", process.argv[2] ?? "pkg");
const tsc = join(js, "node_modules", ".bin", "tsc");

copyFileSync(join(js, "react.ts"), join(pkg, "react.ts"));
try {
  execFileSync(
    tsc,
    [
      "--strict", "--declaration", "--skipLibCheck",
      "--target", "es2020", "--module", "esnext", "--moduleResolution", "bundler",
      "--typeRoots", join(js, "node_modules", "@types"),
      "--outDir", pkg, join(pkg, "react.ts"),
    ],
    { stdio: "inherit" },
  );
} finally {
  rmSync(join(pkg, "react.ts"));
}

const manifestPath = join(pkg, "package.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const main = manifest.module ?? manifest.main;
Object.assign(manifest, {
  name: "tether-ws",
  description:
    "Realtime WebSocket connection SDK for browser dashboards: backoff with jitter, heartbeat, " +
    "subscriptions with recovery, offline queue, requests, React hooks.",
  license: "MIT OR Apache-2.0",
  repository: { type: "git", url: "https://example.invalid/tether.git" },
  types: manifest.types,
  files: [...new Set([...(manifest.files ?? []), "react.js", "react.d.ts", "README.md"])],
  exports: {
    ".": { types: `./${manifest.types}`, default: `./${main}` },
    "./react": { types: "./react.d.ts", default: "./react.js" },
    "./package.json": "./package.json",
  },
  peerDependencies: { react: ">=18" },
  peerDependenciesMeta: { react: { optional: true } },
});
manifest.sideEffects = [...new Set([...(manifest.sideEffects ?? []), "./tether_ws.js"])];
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
console.log(`package: ${manifest.name}@${manifest.version} with ${manifest.files.join(", ")}`);
