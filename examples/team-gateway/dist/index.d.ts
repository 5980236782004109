/** team-gateway: a tiny LLM gateway that routes, forwards with upstream keys, and redacts. */
export { formatAudit, usageFrom, type AuditRecord, type Usage } from "./audit.js";
export { authenticate, checkKeySeparation, upstreamAuthHeader, upstreamKey, type Env, type KeyBinding, } from "./keys.js";
export { containsSecret, redactHeaders, redactText, REDACTED, type HeaderValue } from "./redact.js";
export { createRouter, RouteError, type Match, type Provider, type Route, type Router } from "./router.js";
export { createGateway, MAX_BODY_BYTES, type GatewayOptions } from "./server.js";
