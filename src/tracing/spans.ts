import { INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

/**
 * Spans through @opentelemetry/api. Without an SDK (OTEL_* unset, see tracing.ts) these are plain
 * calls. Attributes never hold a secret: no token, password, client secret or key, only
 * identifiers and outcomes.
 */
export const tracer = trace.getTracer('token-issuer');

/** Whether an SDK records spans (tracing.ts turns it on for the process). */
let recording = false;
export function recordSpans(): void {
  recording = true;
}
/** What `work` gets when nothing records: a span that drops whatever is set on it. */
const NOT_RECORDED = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Runs `work` as the active span `name`; an error marks the span with the error's name only (its message may quote input). */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  if (!recording) return work(NOT_RECORDED);
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes to the span of the work in progress (a grant's client once it is authenticated). */
export function describeCurrentSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
