import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { dependencyOf, describeOutage, isOutage } from '../outage.js';
import { ApiError } from '../errors.js';
import type { AppEnv } from './app-env.js';
import { NO_STORE } from './no-store.js';

/** Seconds a client should wait before retrying while a dependency is down. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * The one place errors become responses. Bodies follow RFC 6749 §5.2 ({error, error_description});
 * nothing unexpected leaves the process: internals go to the log, the client gets `server_error`.
 */
export function errorResponse(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ApiError) {
    c.set('refusal', { error: error.code, description: error.description });
    return errorBody(c, error.status, error.code, error.description, error.headers);
  }
  const logger = c.get('logger');
  if (isOutage(error)) {
    reportOutage(c, error);
    return errorBody(c, 503, 'temporarily_unavailable', 'the service is temporarily unavailable; retry later', {
      'Retry-After': String(RETRY_AFTER_SECONDS),
    });
  }
  logger?.error({ err: error }, 'unexpected error');
  return errorBody(c, 500, 'server_error', 'the server could not complete the request');
}

/** An outage's 503, told once per outage (outage-log.ts), or in one line without a stack when there is no outage log. */
export function reportOutage(c: Context<AppEnv>, error: Error): void {
  const outages = c.get('outages');
  if (outages) outages.refused(error, c.get('logger'));
  else c.get('logger')?.warn({ dependency: dependencyOf(error), cause: describeOutage(error) }, 'dependency unavailable');
}

function errorBody(
  c: Context<AppEnv>,
  status: number,
  code: string,
  description: string,
  headers: Readonly<Record<string, string>> = {},
): Response {
  // c.json keeps the headers middleware set before the error (request id, security headers).
  return c.json({ error: code, error_description: description }, status as ContentfulStatusCode, {
    // RFC 6749 §5.1/§5.2: responses from the token endpoint must not be cached.
    ...NO_STORE,
    ...headers,
  });
}
