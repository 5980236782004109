// Smoke: both providers are reachable through the gateway with their own upstream key;
// unknown keys and unrouted paths are refused before any upstream call.
import assert from "node:assert/strict";

import { env, smoke, startStack } from "./lib/harness.mjs";

await smoke("routing", async () => {
  const stack = await startStack((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ model: "m", usage: { input_tokens: 1, output_tokens: 1 } }));
  });
  try {
    const anthropic = await fetch(`${stack.base}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": env.GATEWAY_KEY_TEAM, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(anthropic.status, 200, "anthropic route");
    assert.equal(stack.calls.at(-1).headers["x-api-key"], env.ANTHROPIC_API_KEY);

    const openai = await fetch(`${stack.base}/openai/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${env.GATEWAY_KEY_OPS}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(openai.status, 200, "openai route");
    assert.equal(stack.calls.at(-1).url, "/v1/chat/completions");
    assert.equal(stack.calls.at(-1).headers.authorization, `Bearer ${env.OPENAI_API_KEY}`);

    const callsBefore = stack.calls.length;
    const wrongKey = await fetch(`${stack.base}/anthropic/v1/messages`, { headers: { "x-api-key": "wrong" } });
    assert.equal(wrongKey.status, 401, "unknown key");
    const crossKey = await fetch(`${stack.base}/openai/models`, { headers: { "x-api-key": env.GATEWAY_KEY_TEAM } });
    assert.equal(crossKey.status, 404, "a team key must not reach the openai route");
    assert.equal(stack.calls.length, callsBefore, "refused requests never reach upstream");
  } finally {
    stack.stop();
  }
});
