import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createRouter, RouteError } from "../dist/index.js";

const routes = [
  { prefix: "/v1/anthropic", upstream: "https://api.anthropic.example", provider: "anthropic" },
  { prefix: "/v1/openai", upstream: "https://api.openai.example/v1/", provider: "openai" },
  { prefix: "/v1/anthropic/beta", upstream: "https://beta.anthropic.example", provider: "anthropic" },
];

describe("createRouter", () => {
  it("routes by prefix and keeps the rest of the path", () => {
    const match = createRouter(routes).resolve("/v1/anthropic/v1/messages");
    assert.equal(match.url, "https://api.anthropic.example/v1/messages");
    assert.equal(match.route.provider, "anthropic");
  });

  it("prefers the longest matching prefix", () => {
    const match = createRouter(routes).resolve("/v1/anthropic/beta/messages");
    assert.equal(match.url, "https://beta.anthropic.example/messages");
  });

  it("joins an upstream with a trailing slash cleanly", () => {
    const match = createRouter(routes).resolve("/v1/openai/chat/completions");
    assert.equal(match.url, "https://api.openai.example/v1/chat/completions");
  });

  it("keeps the query string", () => {
    const match = createRouter(routes).resolve("/v1/openai/models?limit=2");
    assert.equal(match.url, "https://api.openai.example/v1/models?limit=2");
  });

  it("matches on a path segment boundary only", () => {
    assert.equal(createRouter(routes).resolve("/v1/anthropicx/messages"), undefined);
  });

  it("returns undefined for an unknown path", () => {
    assert.equal(createRouter(routes).resolve("/v2/other"), undefined);
  });

  it("refuses a path that climbs with ..", () => {
    assert.equal(createRouter(routes).resolve("/v1/openai/../admin"), undefined);
  });

  it("rejects a duplicate prefix", () => {
    assert.throws(() => createRouter([routes[0], routes[0]]), RouteError);
  });

  it("rejects a prefix without a leading slash", () => {
    assert.throws(() => createRouter([{ ...routes[0], prefix: "v1" }]), /must start with "\/"/);
  });

  it("rejects an upstream that is not http(s)", () => {
    assert.throws(() => createRouter([{ ...routes[0], upstream: "file:///etc/passwd" }]), /http or https/);
  });

  it("rejects an unknown provider", () => {
    assert.throws(() => createRouter([{ ...routes[0], provider: "mystery" }]), /unknown provider/);
  });
});
