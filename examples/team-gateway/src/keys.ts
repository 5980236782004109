/**
 * Gateway keys and upstream keys, by name only.
 *
 * The checklist's rule: gateway keys are distinct from upstream provider keys
 * and rotate on their own. Bindings therefore hold environment variable
 * *names*; the values are read from the environment when a request arrives.
 */

import { timingSafeEqual } from "node:crypto";

import type { Provider } from "./router.js";

export interface KeyBinding {
  /** Name of the env var holding the key callers present to the gateway. */
  readonly gatewayKeyEnv: string;
  /** Name of the env var holding the provider key the gateway forwards with. */
  readonly upstreamKeyEnv: string;
  readonly provider: Provider;
}

export type Env = Readonly<Record<string, string | undefined>>;

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/** Problems with `bindings` under `env`; empty when they are safe to serve. */
export function checkKeySeparation(bindings: readonly KeyBinding[], env: Env): string[] {
  const problems: string[] = [];
  for (const b of bindings) {
    for (const name of [b.gatewayKeyEnv, b.upstreamKeyEnv]) {
      if (!ENV_NAME.test(name)) {
        problems.push(`${JSON.stringify(name)} is not an environment variable name`);
      } else if (!env[name]) {
        problems.push(`${name} is not set`);
      }
    }
    if (b.gatewayKeyEnv === b.upstreamKeyEnv) {
      problems.push(`${b.gatewayKeyEnv} is used as both gateway and upstream key`);
    } else if (env[b.gatewayKeyEnv] && env[b.gatewayKeyEnv] === env[b.upstreamKeyEnv]) {
      problems.push(`${b.gatewayKeyEnv} and ${b.upstreamKeyEnv} hold the same key`);
    }
  }
  return problems;
}

function sameKey(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The binding whose gateway key is `presented`, or undefined. */
export function authenticate(
  presented: string | undefined,
  bindings: readonly KeyBinding[],
  env: Env,
): KeyBinding | undefined {
  if (!presented) {
    return undefined;
  }
  return bindings.find((b) => {
    const expected = env[b.gatewayKeyEnv];
    return expected !== undefined && expected !== "" && sameKey(presented, expected);
  });
}

/** The upstream key for `binding`; throws when its env var is unset. */
export function upstreamKey(binding: KeyBinding, env: Env): string {
  const value = env[binding.upstreamKeyEnv];
  if (!value) {
    throw new Error(`${binding.upstreamKeyEnv} is not set`);
  }
  return value;
}

/** The header a provider expects its key in. */
export function upstreamAuthHeader(provider: Provider, key: string): [string, string] {
  return provider === "anthropic" ? ["x-api-key", key] : ["authorization", `Bearer ${key}`];
}
