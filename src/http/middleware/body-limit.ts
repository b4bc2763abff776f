import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { payloadTooLarge } from '../../errors.js';
import type { AppEnv } from '../app-env.js';

/** Methods whose requests carry no body here: they skip the check, which costs a stream wrapper. */
const BODILESS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Bodies past `maxBytes` are refused with 413 before anything parses them. A body with a
 * Content-Length (and no Transfer-Encoding) is judged by that header: Node's HTTP parser never
 * hands on more bytes than it declares (RFC 9112 §6.3). Reading the header, not the stream, lets
 * @hono/node-server read the body straight from the socket later; touching the stream here would
 * make it build a Fetch `Request` and a web stream for every POST. Chunked bodies are counted as
 * they arrive, by Hono's own middleware.
 */
export function limitBodies(maxBytes: number): MiddlewareHandler<AppEnv> {
  const countAsItArrives = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw payloadTooLarge(maxBytes);
    },
  });
  return async function limitBody(c, next) {
    if (BODILESS.has(c.req.method)) return next();
    const declared = c.req.header('Content-Length');
    if (declared === undefined || c.req.header('Transfer-Encoding') !== undefined) return countAsItArrives(c, next);
    if (Number(declared) > maxBytes) throw payloadTooLarge(maxBytes);
    return next();
  };
}
