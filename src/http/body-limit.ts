import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { payloadTooLarge } from '../errors.js';
import type { AppEnv } from './app-env.js';

/** Methods whose requests carry no body here: they skip the check, which costs a stream wrapper. */
const BODILESS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Bodies past `maxBytes` are refused with 413 before anything parses them. */
export function limitBodies(maxBytes: number): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw payloadTooLarge(maxBytes);
    },
  });
  return async function limitBody(c, next) {
    if (BODILESS.has(c.req.method)) return next();
    return limit(c, next);
  };
}
