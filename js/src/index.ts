// The package's entry: `import { Tether } from "tether-ws"`.
export { Tether, Subscription } from "./tether.js";
export { ready } from "./wasm.js";
export type * from "./types.js";
