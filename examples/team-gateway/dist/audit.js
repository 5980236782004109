/**
 * What the gateway logs: usage metadata only (route, status, latency, model,
 * tokens, error class). Prompt and completion content is never part of a record.
 */
import { redactText } from "./redact.js";
function count(value) {
    return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}
/** Model and token counts from an Anthropic or OpenAI response body. */
export function usageFrom(body) {
    if (typeof body !== "object" || body === null) {
        return {};
    }
    const record = body;
    const usage = (typeof record.usage === "object" && record.usage !== null
        ? record.usage
        : {});
    return {
        model: typeof record.model === "string" ? record.model : undefined,
        inputTokens: count(usage.input_tokens) ?? count(usage.prompt_tokens),
        outputTokens: count(usage.output_tokens) ?? count(usage.completion_tokens),
    };
}
/** One JSON log line for `record`, fields in a stable order, undefined ones left out. */
export function formatAudit(record) {
    const ordered = {
        route: record.route,
        provider: record.provider,
        status: record.status,
        latency_ms: Math.round(record.latencyMs),
        model: record.model,
        input_tokens: record.inputTokens,
        output_tokens: record.outputTokens,
        error_class: record.errorClass,
    };
    return redactText(JSON.stringify(ordered));
}
