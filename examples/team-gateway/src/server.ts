/** The HTTP gateway: authenticate, route, forward with the upstream key, stream back, audit. */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";

import { formatAudit, usageFrom, type AuditRecord, type Usage } from "./audit.js";
import { authenticate, upstreamAuthHeader, upstreamKey, type Env, type KeyBinding } from "./keys.js";
import { createRouter, type Route } from "./router.js";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface GatewayOptions {
  readonly routes: readonly Route[];
  readonly keys: readonly KeyBinding[];
  readonly env?: Env;
  readonly log?: (line: string) => void;
}

const FORWARDED_HEADERS = ["content-type", "accept", "anthropic-version", "openai-beta"];

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function presentedKey(req: IncomingMessage): string | undefined {
  const apiKey = req.headers["x-api-key"];
  if (typeof apiKey === "string") {
    return apiKey;
  }
  const auth = req.headers.authorization;
  return auth?.startsWith("Bearer ") ? auth.slice("Bearer ".length) : undefined;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function forwardHeaders(req: IncomingMessage, auth: [string, string]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string") {
      headers[name] = value;
    }
  }
  headers[auth[0]] = auth[1];
  return headers;
}

function sendError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { status, message } }));
}

async function relay(upstream: Response, res: ServerResponse): Promise<Usage> {
  const type = upstream.headers.get("content-type") ?? "application/octet-stream";
  res.writeHead(upstream.status, { "content-type": type });
  if (upstream.body === null) {
    res.end();
    return {};
  }
  if (type.startsWith("application/json")) {
    const text = await upstream.text();
    res.end(text);
    try {
      return usageFrom(JSON.parse(text));
    } catch {
      return {};
    }
  }
  // streams (server-sent events) pass through chunk by chunk, never buffered
  const body = Readable.fromWeb(upstream.body as WebReadableStream<Uint8Array>);
  for await (const chunk of body) {
    res.write(chunk);
  }
  res.end();
  return {};
}

async function handle(
  options: GatewayOptions,
  router: ReturnType<typeof createRouter>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Omit<AuditRecord, "latencyMs">> {
  const env = options.env ?? process.env;
  const match = router.resolve(req.url ?? "/");
  const routeName = match?.route.prefix ?? "(none)";
  const binding = authenticate(presentedKey(req), options.keys, env);
  if (binding === undefined) {
    sendError(res, 401, "unknown or missing gateway key");
    return { route: routeName, provider: "-", status: 401, errorClass: "auth" };
  }
  if (match === undefined || match.route.provider !== binding.provider) {
    sendError(res, 404, "no route for this path and key");
    return { route: routeName, provider: binding.provider, status: 404, errorClass: "route" };
  }
  const body = await readBody(req);
  const auth = upstreamAuthHeader(binding.provider, upstreamKey(binding, env));
  let upstream: Response;
  try {
    upstream = await fetch(match.url, {
      method: req.method ?? "GET",
      headers: forwardHeaders(req, auth),
      body: body.length > 0 ? body : undefined,
    });
  } catch {
    sendError(res, 502, "upstream unreachable");
    return { route: routeName, provider: binding.provider, status: 502, errorClass: "upstream" };
  }
  const usage = await relay(upstream, res);
  return { route: routeName, provider: binding.provider, status: upstream.status, ...usage };
}

/** An http.Server serving the gateway; call `.listen()` on it. */
export function createGateway(options: GatewayOptions): Server {
  const router = createRouter(options.routes);
  const log = options.log ?? ((line: string) => console.error(line));
  return createServer((req, res) => {
    const started = performance.now();
    handle(options, router, req, res)
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (!res.headersSent) {
          sendError(res, status, err instanceof HttpError ? err.message : "internal error");
        } else {
          res.end();
        }
        return { route: "(error)", provider: "-", status, errorClass: "internal" };
      })
      .then((record) => log(formatAudit({ ...record, latencyMs: performance.now() - started })));
  });
}
