// What the test pages put on `window` for the Node side's page.evaluate
// callbacks (js/test/page.js, the fixtures' pages, tests/soak/run.mjs's
// page). Typed loosely: those callbacks run in the page, where the objects
// are the real ones; tsc only checks the Node-side code around them.
/* eslint-disable @typescript-eslint/no-explicit-any */
interface Window {
  sdk: any;
  probes: any;
  clock: any;
  fixture: any;
  soak: any;
  soakReady: boolean;
  // js/test/lifecycle.mjs and lifecycle.test.mjs: lifecycle helpers, the
  // client under test, a plain WebSocket.
  life: any;
  c: any;
  raw: any;
  // js/test/tabs.mjs: the plain many-tabs page.
  tab: any;
}
