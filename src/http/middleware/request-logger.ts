import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { accessLoggerOf } from '../../logger.js';
import type { OutageLog } from '../../outage-log.js';
import type { AppEnv, Refusal } from '../app-env.js';

/** A caller's X-Request-Id is kept when it is short and printable; otherwise one is made. */
const ACCEPTABLE_REQUEST_ID = /^[\x21-\x7E]{1,128}$/;

/**
 * Gives each request an id (propagating X-Request-Id), a child logger, and one log line when done.
 * Only the path is logged, never the query string or headers, which may carry credentials. A
 * refused request's line carries the `error` and `error_description` the client got, whether in a
 * JSON body, a redirect to the client or a page, so an operator sees why without the user's browser.
 */
export function requestLogger(options: { logger: Logger; outages?: OutageLog }): MiddlewareHandler<AppEnv> {
  const { logger, outages } = options;
  const accessLog = accessLoggerOf(logger);
  return async function logRequest(c, next) {
    const incoming = c.req.header('X-Request-Id');
    const requestId = incoming && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const requestLog = logger.child({ requestId });
    c.set('requestId', requestId);
    c.set('logger', requestLog);
    if (outages) c.set('outages', outages);
    // Set before the handler runs, so it goes out with whatever response is built.
    c.header('X-Request-Id', requestId);
    const started = performance.now();
    await next();
    accessLog.info(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ...refusalFields(c.get('refusal')),
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    );
  };
}

const refusalFields = (refusal: Refusal | undefined) => (refusal ? { error: refusal.error, errorDescription: refusal.description } : {});
