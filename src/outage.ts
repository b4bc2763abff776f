import { DependencyUnavailableError } from './errors.js';

/**
 * Tells a database or network outage apart from a bug, so that an outage answers 503 with
 * Retry-After instead of 500. Drivers and drizzle wrap errors, so the whole cause chain is read.
 */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  // postgres.js
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  // PostgreSQL SQLSTATEs: query_canceled (statement_timeout), admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** True for a connection failure or a DependencyUnavailableError, wherever it sits in the cause chain. */
export function isOutage(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; depth += 1) {
    if (current instanceof DependencyUnavailableError) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08'))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Which dependency an outage error is about: a DependencyUnavailableError names it; a connection
 * error that reaches here unwrapped comes from postgres.js (Redis and outbound errors are wrapped).
 */
export function dependencyOf(error: unknown): string {
  for (let current = error, depth = 0; current && depth < 8; depth += 1) {
    if (current instanceof DependencyUnavailableError) return current.dependency;
    current = (current as { cause?: unknown }).cause;
  }
  return 'database';
}

/** The innermost cause of an error as one line, without its stack: `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:5432`. */
export function describeOutage(error: unknown): string {
  let innermost = error;
  for (let depth = 0; depth < 8; depth += 1) {
    const cause = (innermost as { cause?: unknown }).cause;
    if (!cause) break;
    innermost = cause;
  }
  const { code, message } = innermost as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message.split('\n')[0]!.slice(0, 300) : String(innermost);
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
}
