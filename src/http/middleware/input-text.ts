import type { MiddlewareHandler } from 'hono';
import { invalidRequest } from '../../errors.js';
import { isSafeText } from '../../text.js';
import type { AppEnv } from '../app-env.js';

export const unsafeText = () => invalidRequest('the request contains a NUL character or an unpaired surrogate, which no field accepts');

/** Throws 400 invalid_request for text no field accepts (see text.ts). */
export function refuseUnsafeText(...values: string[]): void {
  if (!values.every(isSafeText)) throw unsafeText();
}

/**
 * The URL is input too: its path (route parameters) and query, percent-decoded, are refused here
 * for every route before any handler reads them. Bodies are checked by their readers (form.ts,
 * json-body.ts).
 */
export function refuseUnsafeUrls(): MiddlewareHandler<AppEnv> {
  return async function refuseUnsafeUrl(c, next) {
    // Printable ASCII without a percent sign decodes to itself: it holds neither NUL nor a
    // surrogate, so the common URL is not parsed at all.
    if (!PLAIN_URL.test(c.req.url)) {
      const url = new URL(c.req.url);
      refuseUnsafeText(...url.pathname.split('/').map(percentDecoded), ...[...url.searchParams].flat());
    }
    await next();
  };
}

const PLAIN_URL = /^[\x20-\x24\x26-\x7e]*$/;

/** A path segment as route parameters see it; one that does not decode is left as written. */
function percentDecoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
