// Ported from the first SDK's (wasm-bindgen, retired) tests/scaleout.rs. Scale-out in the browser: three real
// servers sharing one real Redis. A client on A, whose instance is
// SIGKILLed while publications keep flowing through C, fails over to B and
// sees every publication exactly once and in order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite } from "./harness.mjs";

const suite = browserSuite();

test("client_fails_over_to_another_instance_and_misses_nothing", async () => {
  const TOTAL = 30;
  const { r, problems } = await suite.run(async (TOTAL) => {
    const { Tether, kit, untilSub, publish, recorder } = window.sdk;
    const redis = await kit.startRedis("scale");
    const args = `--broker,${encodeURIComponent(redis)}`;
    const a = await kit.startServer("scale-a", args);
    const b = await kit.startServer("scale-b", args);
    await kit.startServer("scale-c", args);

    const t = new Tether([a, b], { backoff: { initialMs: 100, maxMs: 400 } });
    const received = recorder();
    const sub = t.subscribe("alerts", received.fn);
    await untilSub(sub, "subscribed on A", "subscribed", 15_000);
    for (let n = 1; n <= TOTAL; n++) {
      if (n === 11) await kit.killServer("scale-a");
      await publish("scale-c", "alerts", { n }, "t");
      // Paces the stream (not a barrier) so the failover happens mid-stream.
      await new Promise((res) => setTimeout(res, 30));
    }
    await received.until("every publication", (s) => s.length >= TOTAL, 20_000);
    await received.holds("no duplicate arrives", 500, (s) => s.length === TOTAL);
    const out = { n: received.seen.map((p) => p.data.n), offsets: received.seen.map((p) => p.offset), state: t.state };
    t.close();
    await kit.killServer("scale-b");
    await kit.killServer("scale-c");
    await kit.killRedis("scale");
    return out;
  }, TOTAL);
  assert.deepEqual(r.n, Array.from({ length: TOTAL }, (_, i) => i + 1), "each once, in order");
  assert.ok(r.offsets.every((o, i) => i === 0 || o === r.offsets[i - 1] + 1), `global offsets without gap: ${r.offsets}`);
  assert.equal(r.state, "open", "connected to B");
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});
