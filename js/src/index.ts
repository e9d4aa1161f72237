// The package's entry: `import { Tether } from "tether-ws"`.
export { Tether, Subscription } from "./tether.js";
export { ready } from "./wasm.js";
export { RequestError, type ClientErrorCode, type RequestErrorCode, type ServerErrorCode } from "./errors.js";
export type * from "./types.js";
