/**
 * Masks credentials before anything leaves the gateway in a log line:
 * provider API keys, bearer tokens, and the headers that carry them.
 */

export const REDACTED = "[REDACTED]";

// Provider key formats the gateway forwards; longest first so "sk-ant-" wins over "sk-".
const KEY_PATTERNS: readonly RegExp[] = [
  /\bsk-ant-[A-Za-z0-9_-]{16,}/g,
  /\bsk-(?:proj-)?[A-Za-z0-9_-]{16,}/g,
  /\bAKIA[0-9A-Z]{16}\b/g,
];
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

const SECRET_HEADERS: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "api-key",
  "cookie",
  "set-cookie",
]);

/** `text` with every provider key and bearer credential replaced by [REDACTED]. */
export function redactText(text: string): string {
  let out = text.replace(BEARER, (_match, scheme: string) => `${scheme} ${REDACTED}`);
  for (const pattern of KEY_PATTERNS) {
    out = out.replace(pattern, REDACTED);
  }
  return out;
}

export type HeaderValue = string | readonly string[] | undefined;

/** A copy of `headers` safe to log: credential headers masked, other values redacted. */
export function redactHeaders(headers: Readonly<Record<string, HeaderValue>>): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) {
      continue;
    }
    const joined = typeof value === "string" ? value : value.join(", ");
    safe[name.toLowerCase()] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : redactText(joined);
  }
  return safe;
}

/** True when `text` still holds something that looks like a credential. */
export function containsSecret(text: string): boolean {
  return redactText(text) !== text;
}
