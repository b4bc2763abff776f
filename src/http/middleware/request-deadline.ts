import type { ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { RequestLife, runInRequest } from '../../request-deadline.js';
import type { AppEnv } from '../app-env.js';

/**
 * Gives each request a deadline: past it, or as soon as the client disconnects, the request's
 * database work stops being waited for (it answers 503 with Retry-After) and nothing it sent
 * commits any more (see db/deadline-guard.ts). A client that gave up and retried must never find
 * its first attempt taking effect behind the retry.
 */
export function requestDeadline(options: { seconds: number }): MiddlewareHandler<AppEnv> {
  const deadlineMs = options.seconds * 1000;
  return async function endAtDeadline(c, next) {
    const life = RequestLife.withDeadline(deadlineMs);
    // Under @hono/node-server the response object tells of a disconnect without building a
    // Request; app.request() in tests has only the Request's signal.
    const response = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    const onClose = () => {
      if (!response?.writableFinished) life.clientGone();
    };
    if (response) response.once('close', onClose);
    else c.req.raw.signal.addEventListener('abort', onClose, { once: true });
    try {
      await runInRequest(life, next);
    } finally {
      response?.off('close', onClose);
    }
  };
}
