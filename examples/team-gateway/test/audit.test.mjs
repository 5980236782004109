import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { formatAudit, usageFrom } from "../dist/index.js";
import { fakeAnthropicKey } from "./fakes.mjs";

describe("usageFrom", () => {
  it("reads Anthropic usage", () => {
    const usage = usageFrom({ model: "claude-x", usage: { input_tokens: 12, output_tokens: 34 } });
    assert.deepEqual(usage, { model: "claude-x", inputTokens: 12, outputTokens: 34 });
  });

  it("reads OpenAI usage", () => {
    const usage = usageFrom({ model: "gpt-x", usage: { prompt_tokens: 5, completion_tokens: 6 } });
    assert.deepEqual(usage, { model: "gpt-x", inputTokens: 5, outputTokens: 6 });
  });

  it("ignores malformed counts and non-objects", () => {
    assert.deepEqual(usageFrom({ usage: { input_tokens: -1, output_tokens: "9" } }), {
      model: undefined,
      inputTokens: undefined,
      outputTokens: undefined,
    });
    assert.deepEqual(usageFrom(null), {});
  });
});

describe("formatAudit", () => {
  it("writes metadata only, in a stable order", () => {
    const line = formatAudit({ route: "/v1/anthropic", provider: "anthropic", status: 200, latencyMs: 12.6, model: "m" });
    assert.equal(line, '{"route":"/v1/anthropic","provider":"anthropic","status":200,"latency_ms":13,"model":"m"}');
  });

  it("redacts a key that reached a field", () => {
    const line = formatAudit({ route: "/", provider: "x", status: 500, latencyMs: 1, errorClass: fakeAnthropicKey() });
    assert.ok(!line.includes(fakeAnthropicKey()));
    assert.match(line, /\[REDACTED\]/);
  });
});
