import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import type { RequestContext } from '../sessions/refresh-sessions.js';
import type { AppEnv } from './app-env.js';

/**
 * Finds the client address once per request, for throttling, sessions and audit events: the
 * socket's peer, or, only when the deployment says a proxy writes it (TRUST_PROXY), the first
 * address of X-Forwarded-For; otherwise any client could pick its own.
 */
export function clientAddress(options: { trustProxy: boolean }): MiddlewareHandler<AppEnv> {
  return async function findClientAddress(c, next) {
    const forwarded = options.trustProxy ? c.req.header('X-Forwarded-For')?.split(',')[0]?.trim() : undefined;
    if (forwarded && /^[0-9a-fA-F:.]{2,45}$/.test(forwarded)) {
      c.set('clientIp', forwarded);
    } else {
      try {
        c.set('clientIp', getConnInfo(c).remote.address);
      } catch {
        // No socket (an in-process request): no address.
      }
    }
    await next();
  };
}

/** Who is calling: the client address found above, and the user agent. */
export function requestContextOf(c: Context<AppEnv>): RequestContext {
  return { ipAddress: c.get('clientIp'), userAgent: c.req.header('User-Agent') };
}
