// Shared set-up for the smoke scripts: a fake upstream provider and the built gateway
// (dist/) in front of it, both real HTTP servers on ephemeral local ports.
import { once } from "node:events";
import { createServer } from "node:http";

import { createGateway } from "../../dist/index.js";

export const env = {
  GATEWAY_KEY_TEAM: `gw-smoke-${"a".repeat(24)}`,
  GATEWAY_KEY_OPS: `gw-smoke-${"b".repeat(24)}`,
  // assembled so that no literal in the repository looks like a provider key
  ANTHROPIC_API_KEY: ["sk", "ant", "smoke", "c".repeat(32)].join("-"),
  OPENAI_API_KEY: ["sk", "proj", "d".repeat(32)].join("-"),
};

async function listen(server) {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${server.address().port}`;
}

/** Start upstream + gateway; `respond(req, res, body)` plays the provider. */
export async function startStack(respond) {
  const calls = [];
  const logs = [];
  const upstream = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    calls.push({ method: req.method, url: req.url, headers: req.headers, body });
    await respond(req, res, body);
  });
  const upstreamUrl = await listen(upstream);
  const gateway = createGateway({
    routes: [
      { prefix: "/anthropic", upstream: upstreamUrl, provider: "anthropic" },
      { prefix: "/openai", upstream: `${upstreamUrl}/v1`, provider: "openai" },
    ],
    keys: [
      { gatewayKeyEnv: "GATEWAY_KEY_TEAM", upstreamKeyEnv: "ANTHROPIC_API_KEY", provider: "anthropic" },
      { gatewayKeyEnv: "GATEWAY_KEY_OPS", upstreamKeyEnv: "OPENAI_API_KEY", provider: "openai" },
    ],
    env,
    log: (line) => logs.push(line),
  });
  const base = await listen(gateway);
  const stop = () => {
    gateway.closeAllConnections();
    upstream.closeAllConnections();
    gateway.close();
    upstream.close();
  };
  return { base, calls, logs, stop };
}

/** Run `body` and exit 1 with a clear message on the first failed check. */
export async function smoke(name, body) {
  try {
    await body();
    console.log(`smoke ${name}: ok`);
  } catch (err) {
    console.error(`smoke ${name}: FAILED — ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
