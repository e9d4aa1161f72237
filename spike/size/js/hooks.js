// (a) The module wasm-bindgen imports the facade's hooks from.
export { status, sub, failed, token, deliver } from "registry";
