// The entry of `tether-ws/testing` (README "Testing with FakeServer"): a
// fake protocol-v1 server for component and integration tests. It imports
// nothing of the SDK (no wasm) and nothing of Node: it runs in Node,
// Vitest and Jest (node, jsdom, happy-dom) and the browser.
export { FakeServer, type FakeServerOptions, type GoawayOptions, type TopicOptions } from "./testing/server.js";
export { FakeConnection, type Ended, type ReceivedFrame } from "./testing/connection.js";
export type { FakeWebSocket, FakeWebSocketConstructor } from "./testing/socket.js";
export type { PublicationFrame } from "./testing/history.js";
