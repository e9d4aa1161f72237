// Writes tether-ws/inline into a built SDK folder: node js/inline.mjs DIR.
// DIR/inline.js embeds DIR/tether.wasm as base64 and hands it to the loader
// (js/src/wasm.ts `provide`), for bundlers that do not emit assets named by
// new URL("./tether.wasm", import.meta.url): esbuild and Rollup. Run by
// build_sdk (scripts/lib.sh).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node js/inline.mjs DIR");
  process.exit(2);
}
const wasm = readFileSync(join(dir, "tether.wasm")).toString("base64");
writeFileSync(join(dir, "inline.js"), `// tether-ws/inline: tether.wasm embedded (base64). Import it once, before
// the app's other modules, where the bundler does not ship tether.wasm.
import { provide } from "./wasm.js";
provide(Uint8Array.from(atob("${wasm}"), (c) => c.charCodeAt(0)));
`);
writeFileSync(join(dir, "inline.d.ts"), `// A side-effect import: \`import "tether-ws/inline";\`
export {};
`);
