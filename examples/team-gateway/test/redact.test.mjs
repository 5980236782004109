import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { containsSecret, REDACTED, redactHeaders, redactText } from "../dist/index.js";
import { fakeAnthropicKey, fakeOpenAIKey } from "./fakes.mjs";

describe("redactText", () => {
  it("masks an Anthropic key", () => {
    const out = redactText(`key=${fakeAnthropicKey()} done`);
    assert.equal(out, `key=${REDACTED} done`);
  });

  it("masks an OpenAI project key", () => {
    assert.equal(redactText(fakeOpenAIKey()), REDACTED);
  });

  it("masks a bearer credential but keeps the scheme", () => {
    assert.equal(redactText("Authorization: Bearer abcdefgh12345678"), `Authorization: Bearer ${REDACTED}`);
  });

  it("masks an AWS access key id", () => {
    assert.equal(redactText(["AKIA", "Q".repeat(16)].join("")), REDACTED);
  });

  it("leaves ordinary text alone", () => {
    const text = "route=/v1/anthropic status=200 model=claude";
    assert.equal(redactText(text), text);
  });

  it("masks every key in a line, not only the first", () => {
    const out = redactText(`${fakeAnthropicKey()} and ${fakeOpenAIKey()}`);
    assert.equal(out, `${REDACTED} and ${REDACTED}`);
  });
});

describe("redactHeaders", () => {
  it("masks credential headers whatever their case", () => {
    const out = redactHeaders({ "X-Api-Key": fakeAnthropicKey(), Authorization: "Bearer abcdefgh1234" });
    assert.deepEqual(out, { "x-api-key": REDACTED, authorization: REDACTED });
  });

  it("keeps other headers and joins repeated values", () => {
    const out = redactHeaders({ accept: ["text/event-stream", "application/json"], "x-trace": undefined });
    assert.deepEqual(out, { accept: "text/event-stream, application/json" });
  });

  it("redacts a key smuggled into an ordinary header", () => {
    const out = redactHeaders({ "x-note": `leaked ${fakeOpenAIKey()}` });
    assert.equal(out["x-note"], `leaked ${REDACTED}`);
  });
});

describe("containsSecret", () => {
  it("detects a key and accepts clean text", () => {
    assert.equal(containsSecret(`x ${fakeAnthropicKey()}`), true);
    assert.equal(containsSecret("nothing to see"), false);
  });
});
