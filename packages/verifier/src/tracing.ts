import type * as OpenTelemetry from '@opentelemetry/api';

/**
 * Spans through @opentelemetry/api when the service has it (an optional peer dependency): loaded
 * once in the background, and until then, or without it, verification runs untraced.
 */
let api: typeof OpenTelemetry | undefined;
void import('@opentelemetry/api').then(
  (module) => (api = module),
  () => undefined,
);

/** Runs `work` as the span `name`; its outcome (a refusal's reason code, never the token) as an attribute. */
export function inVerifierSpan<T>(name: string, work: () => Promise<T>, reasonOf: (error: unknown) => string): Promise<T> {
  const otel = api;
  if (!otel) return work();
  return otel.trace.getTracer('@token-issuer/verifier').startActiveSpan(name, async (span) => {
    try {
      const result = await work();
      span.setAttribute('token_issuer.outcome', 'accepted');
      return result;
    } catch (error) {
      span.setAttribute('token_issuer.outcome', reasonOf(error));
      span.setStatus({ code: otel.SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}
