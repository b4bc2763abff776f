import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { RequestContext } from '../sessions/refresh-sessions.js';

/** Who is calling, for sessions and audit events: the peer address and the user agent. */
export function requestContextOf(c: Context): RequestContext {
  let ipAddress: string | undefined;
  try {
    ipAddress = getConnInfo(c).remote.address;
  } catch {
    // No socket (an in-process request): no address.
  }
  return { ipAddress, userAgent: c.req.header('User-Agent') };
}
