/**
 * What the gateway logs: usage metadata only (route, status, latency, model,
 * tokens, error class). Prompt and completion content is never part of a record.
 */
export interface Usage {
    readonly model?: string;
    readonly inputTokens?: number;
    readonly outputTokens?: number;
}
export interface AuditRecord extends Usage {
    readonly route: string;
    readonly provider: string;
    readonly status: number;
    readonly latencyMs: number;
    readonly errorClass?: string;
}
/** Model and token counts from an Anthropic or OpenAI response body. */
export declare function usageFrom(body: unknown): Usage;
/** One JSON log line for `record`, fields in a stable order, undefined ones left out. */
export declare function formatAudit(record: AuditRecord): string;
