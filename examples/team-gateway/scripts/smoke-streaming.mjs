// Smoke: server-sent events pass through chunk by chunk — the first event reaches the
// client while the upstream is still streaming (nothing is buffered to the end).
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

import { env, smoke, startStack } from "./lib/harness.mjs";

await smoke("streaming", async () => {
  let release;
  const released = new Promise((resolve) => (release = resolve));
  const stack = await startStack(async (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("event: message_start\ndata: {}\n\n");
    await released;
    res.end("event: message_stop\ndata: {}\n\n");
  });
  try {
    const res = await fetch(`${stack.base}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": env.GATEWAY_KEY_TEAM, accept: "text/event-stream" },
      body: "{}",
    });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body.getReader();
    const first = await Promise.race([reader.read(), sleep(5000, null, { ref: false })]);
    assert.ok(first !== null, "the first event did not arrive while the upstream was streaming");
    assert.match(new TextDecoder().decode(first.value), /message_start/);
    release();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    assert.match(rest, /message_stop/);
  } finally {
    release();
    stack.stop();
  }
});
