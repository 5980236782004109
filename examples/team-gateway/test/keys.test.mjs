import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { authenticate, checkKeySeparation, upstreamAuthHeader, upstreamKey } from "../dist/index.js";
import { fakeAnthropicKey, fakeGatewayKey } from "./fakes.mjs";

const binding = { gatewayKeyEnv: "GATEWAY_KEY_TEAM", upstreamKeyEnv: "ANTHROPIC_API_KEY", provider: "anthropic" };
const env = { GATEWAY_KEY_TEAM: fakeGatewayKey(), ANTHROPIC_API_KEY: fakeAnthropicKey() };

describe("checkKeySeparation", () => {
  it("accepts distinct keys that are both set", () => {
    assert.deepEqual(checkKeySeparation([binding], env), []);
  });

  it("reports a gateway key equal to the upstream key", () => {
    const same = { ...env, GATEWAY_KEY_TEAM: env.ANTHROPIC_API_KEY };
    assert.deepEqual(checkKeySeparation([binding], same), [
      "GATEWAY_KEY_TEAM and ANTHROPIC_API_KEY hold the same key",
    ]);
  });

  it("reports one variable used for both roles", () => {
    const problems = checkKeySeparation([{ ...binding, upstreamKeyEnv: "GATEWAY_KEY_TEAM" }], env);
    assert.ok(problems.includes("GATEWAY_KEY_TEAM is used as both gateway and upstream key"));
  });

  it("reports an unset variable and a malformed name", () => {
    const problems = checkKeySeparation([{ ...binding, gatewayKeyEnv: "lower-case" }], {});
    assert.deepEqual(problems, ['"lower-case" is not an environment variable name', "ANTHROPIC_API_KEY is not set"]);
  });
});

describe("authenticate", () => {
  it("finds the binding for a presented gateway key", () => {
    assert.equal(authenticate(env.GATEWAY_KEY_TEAM, [binding], env), binding);
  });

  it("refuses a wrong, empty or missing key", () => {
    assert.equal(authenticate(fakeGatewayKey(2), [binding], env), undefined);
    assert.equal(authenticate("", [binding], env), undefined);
    assert.equal(authenticate(undefined, [binding], env), undefined);
  });

  it("never accepts the upstream key as a gateway key", () => {
    assert.equal(authenticate(env.ANTHROPIC_API_KEY, [binding], env), undefined);
  });
});

describe("upstream keys", () => {
  it("reads the upstream key from the environment", () => {
    assert.equal(upstreamKey(binding, env), env.ANTHROPIC_API_KEY);
  });

  it("throws naming the variable when it is unset", () => {
    assert.throws(() => upstreamKey(binding, {}), /ANTHROPIC_API_KEY is not set/);
  });

  it("puts the key in the header each provider expects", () => {
    assert.deepEqual(upstreamAuthHeader("anthropic", "k1"), ["x-api-key", "k1"]);
    assert.deepEqual(upstreamAuthHeader("openai", "k2"), ["authorization", "Bearer k2"]);
  });
});
