/** team-gateway: a tiny LLM gateway that routes, forwards with upstream keys, and redacts. */
export { formatAudit, usageFrom } from "./audit.js";
export { authenticate, checkKeySeparation, upstreamAuthHeader, upstreamKey, } from "./keys.js";
export { containsSecret, redactHeaders, redactText, REDACTED } from "./redact.js";
export { createRouter, RouteError } from "./router.js";
export { createGateway, MAX_BODY_BYTES } from "./server.js";
