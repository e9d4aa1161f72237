// Ported from the first SDK's (wasm-bindgen, retired) tests/fault_auth.rs. Token auth against a server started
// with `--token-secret`: an invalid token is terminal (4503 -> `failed`),
// an expired one makes the client ask its `tokenProvider` again (4401 ->
// new token -> open). Tokens are HS256 JWTs minted here, in Node, and
// handed to the page's provider.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { browserSuite } from "./harness.mjs";

const suite = browserSuite();
const SECRET = "browser-test-secret";

/** base64url without padding (RFC 7515). */
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");

/** An HS256 JWT with `sub` and an absolute `exp` (Unix seconds). */
function jwtWithExp(secret, exp) {
  const header = b64url('{"alg":"HS256","typ":"JWT"}');
  const claims = `{"sub":"browser-test","exp":${exp}}`;
  const signingInput = `${header}.${b64url(claims)}`;
  return `${signingInput}.${b64url(createHmac("sha256", secret).update(signingInput).digest())}`;
}

/** An HS256 JWT with `sub` and `exp` (seconds from now; negative: expired). */
const jwt = (secret, expInS) => jwtWithExp(secret, Math.floor(Date.now() / 1000) + expInS);

test("b64url_matches_rfc4648_vectors", () => {
  assert.equal(b64url(""), "");
  assert.equal(b64url("f"), "Zg");
  assert.equal(b64url("fo"), "Zm8");
  assert.equal(b64url("foo"), "Zm9v");
  assert.equal(b64url("foobar"), "Zm9vYmFy");
  assert.equal(b64url(Buffer.from([0xfb, 0xff])), "-_8");
});

/** Checked against Python's `hmac` + `base64.urlsafe_b64encode`. */
test("jwt_matches_a_reference_signature", () => {
  assert.equal(
    jwtWithExp(SECRET, 2_000_000_000),
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
      "eyJzdWIiOiJicm93c2VyLXRlc3QiLCJleHAiOjIwMDAwMDAwMDB9." +
      "4i3eVPg7-9zQylTfjMtDdYzSmm_4sNQnhxwfx4iejGs",
  );
});

// The page's side: a `tokenProvider` that returns `tokens` in turn (the
// last one again when they run out) and counts its calls (`window.calls`).
const ARGS = `--token-secret,${SECRET}`;

test("invalid_token_is_terminal_4503_failed", async () => {
  const { r, problems } = await suite.run(async ({ tokens, args }) => {
    const { Tether, kit, until, holds } = window.sdk;
    const ws = await kit.startServer("auth-4503", args);
    let calls = 0;
    const tokenProvider = () => tokens[Math.min(calls++, tokens.length - 1)];
    const t = new Tether(ws, { tokenProvider, backoff: { initialMs: 100, maxMs: 100 } });
    await until(t, "failed", (s) => s.state === "failed");
    const out = { lastClose: t.status.lastClose, calls };
    await holds(t, "failed, with no further attempt", 1000, (s) => s.state === "failed", () => calls === 1);
    out.nextRetryAt = t.status.nextRetryAt;
    t.close();
    return out;
  }, { tokens: [jwt("not-the-secret", 3600)], args: ARGS });
  assert.equal(r.lastClose?.code, 4503, JSON.stringify(r));
  assert.equal(r.calls, 1);
  assert.equal(r.nextRetryAt, null);
  assert.deepEqual(problems, []);
});

test("expired_token_4401_asks_the_provider_again_and_opens", async () => {
  const { r, problems } = await suite.run(async ({ tokens, args }) => {
    const { Tether, kit, until, recorder } = window.sdk;
    const ws = await kit.startServer("auth-4401", args);
    let calls = 0;
    const tokenProvider = () => tokens[Math.min(calls++, tokens.length - 1)];
    const t = new Tether(ws, { tokenProvider, backoff: { initialMs: 100, maxMs: 100 } });
    const statuses = recorder();
    t.onStatus(statuses.fn);
    await until(t, "open with the second token", (s) => s.state === "open");
    const out = { calls, timeline: statuses.seen, clientId: t.status.clientId };
    t.close();
    return out;
  }, { tokens: [jwt(SECRET, -3600), jwt(SECRET, 3600)], args: ARGS });
  assert.equal(r.calls, 2, "one call per attempt: the expired token, then the fresh one");
  assert.ok(r.timeline.some((s) => s.lastClose?.code === 4401), `the first attempt was closed 4401: ${JSON.stringify(r.timeline)}`);
  assert.equal(typeof r.clientId, "string", "opened");
  assert.deepEqual(problems, []);
});
