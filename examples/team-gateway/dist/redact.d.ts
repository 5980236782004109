/**
 * Masks credentials before anything leaves the gateway in a log line:
 * provider API keys, bearer tokens, and the headers that carry them.
 */
export declare const REDACTED = "[REDACTED]";
/** `text` with every provider key and bearer credential replaced by [REDACTED]. */
export declare function redactText(text: string): string;
export type HeaderValue = string | readonly string[] | undefined;
/** A copy of `headers` safe to log: credential headers masked, other values redacted. */
export declare function redactHeaders(headers: Readonly<Record<string, HeaderValue>>): Record<string, string>;
/** True when `text` still holds something that looks like a credential. */
export declare function containsSecret(text: string): boolean;
