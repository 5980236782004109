// Smoke: the audit log carries usage metadata only — never prompt or completion content,
// never a gateway or upstream key (checklist §5).
import assert from "node:assert/strict";

import { env, smoke, startStack } from "./lib/harness.mjs";

const PROMPT = "summarise the quarterly incident report";
const COMPLETION = "the incident report says nothing happened";

await smoke("audit", async () => {
  const stack = await startStack((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ model: "claude-smoke", content: COMPLETION, usage: { input_tokens: 7, output_tokens: 9 } }));
  });
  try {
    const res = await fetch(`${stack.base}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": env.GATEWAY_KEY_TEAM, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: PROMPT }] }),
    });
    assert.equal(res.status, 200);
    await res.text();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stack.logs.length, 1, "one audit line per request");
    const record = JSON.parse(stack.logs[0]);
    assert.deepEqual(
      { route: record.route, status: record.status, model: record.model, input: record.input_tokens },
      { route: "/anthropic", status: 200, model: "claude-smoke", input: 7 },
    );
    const all = stack.logs.join("\n");
    for (const leaked of [PROMPT, COMPLETION, ...Object.values(env)]) {
      assert.ok(!all.includes(leaked), `the audit log leaked ${leaked.slice(0, 12)}…`);
    }
  } finally {
    stack.stop();
  }
});
