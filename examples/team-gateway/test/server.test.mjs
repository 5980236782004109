import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";

import { createGateway } from "../dist/index.js";
import { fakeAnthropicKey, fakeGatewayKey } from "./fakes.mjs";

const env = { GATEWAY_KEY_TEAM: fakeGatewayKey(), ANTHROPIC_API_KEY: fakeAnthropicKey() };
const seen = [];
const logs = [];
let upstream;
let gateway;
let base;

async function listen(server) {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${server.address().port}`;
}

before(async () => {
  upstream = createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ model: "claude-test", usage: { input_tokens: 3, output_tokens: 4 } }));
  });
  const upstreamUrl = await listen(upstream);
  gateway = createGateway({
    routes: [{ prefix: "/anthropic", upstream: upstreamUrl, provider: "anthropic" }],
    keys: [{ gatewayKeyEnv: "GATEWAY_KEY_TEAM", upstreamKeyEnv: "ANTHROPIC_API_KEY", provider: "anthropic" }],
    env,
    log: (line) => logs.push(line),
  });
  base = await listen(gateway);
});

after(() => {
  gateway.close();
  upstream.close();
});

describe("gateway", () => {
  it("forwards with the upstream key, not the gateway key", async () => {
    const res = await fetch(`${base}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": env.GATEWAY_KEY_TEAM, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hello" }] }),
    });
    assert.equal(res.status, 200);
    const last = seen.at(-1);
    assert.equal(last.url, "/v1/messages");
    assert.equal(last.headers["x-api-key"], env.ANTHROPIC_API_KEY);
  });

  it("answers 401 to an unknown key without calling upstream", async () => {
    const before = seen.length;
    const res = await fetch(`${base}/anthropic/v1/messages`, { headers: { "x-api-key": "nope" } });
    assert.equal(res.status, 401);
    assert.equal(seen.length, before);
  });

  it("answers 404 for a path with no route", async () => {
    const res = await fetch(`${base}/elsewhere`, { headers: { authorization: `Bearer ${env.GATEWAY_KEY_TEAM}` } });
    assert.equal(res.status, 404);
  });

  it("logs usage metadata but no prompt content and no key", async () => {
    await fetch(`${base}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": env.GATEWAY_KEY_TEAM, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "very private prompt" }] }),
    });
    const line = logs.at(-1);
    assert.match(line, /"input_tokens":3,"output_tokens":4/);
    for (const forbidden of ["very private prompt", env.ANTHROPIC_API_KEY, env.GATEWAY_KEY_TEAM]) {
      assert.ok(!logs.join("\n").includes(forbidden));
    }
  });
});
