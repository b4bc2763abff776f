import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import { dependencyOf, describeOutage, isOutage } from './outage.js';
import { withoutQueryParameters } from './redaction.js';

/**
 * JSON logs. Nothing secret is ever passed to the logger; the redaction below is a second line of
 * defence for fields that must never appear even by mistake.
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  options: { withoutAuditEvents?: boolean; traceIds?: boolean } = {},
): Logger {
  return pino(
    {
      level,
      // With tracing on, each line names its trace and span, so a log line leads to its trace.
      ...(options.traceIds ? { mixin: traceIdsOfActiveSpan } : {}),
      // The CLI's own changes are recorded in the audit table; its stderr keeps to what the operator
      // must see (warnings, errors) unless asked for more.
      ...(options.withoutAuditEvents
        ? {
            hooks: {
              logMethod(args: Parameters<Logger['info']>, method: (...args: unknown[]) => void) {
                if (typeof args[0] === 'object' && args[0] !== null && 'audit' in args[0]) return;
                method.apply(this, args);
              },
            },
          }
        : {}),
      base: { service: 'token-issuer' },
      serializers: { err: serializeError },
      redact: {
        paths: [
          'password',
          'secret',
          'client_secret',
          'access_token',
          'refresh_token',
          'token',
          'authorization',
          'privateJwk',
          '*.password',
          '*.secret',
          '*.client_secret',
          '*.access_token',
          '*.refresh_token',
          '*.token',
          '*.authorization',
          '*.privateJwk',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

function traceIdsOfActiveSpan(): Record<string, string> {
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/**
 * An error for the log: an expected outage (a dependency away, outage.ts) in one line without a
 * stack, as it says nothing about the code; anything else in full, URLs without their queries.
 */
function serializeError(error: Error) {
  if (isOutage(error)) return { type: error.name, message: describeOutage(error), dependency: dependencyOf(error) };
  return stdSerializers.err(withoutQueryParameters(error) as Error);
}

/**
 * The logger for the one access line per request. That line holds only fixed fields that are
 * never secret (request id, method, path without the query, status, duration), so it skips the
 * redaction above, which costs about three times the rest of writing a line.
 */
export function accessLoggerOf(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: ['__never_logged'], censor: '[redacted]' } });
}
