import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import type { RequestContext } from '../../sessions/refresh-sessions.js';
import type { AppEnv } from '../app-env.js';
import { clientAddressResolver, type TrustedProxies } from '../../trusted-proxies.js';

/**
 * Finds the client address once per request, for throttling, sessions and audit events: the
 * socket's peer, or, behind the proxies TRUST_PROXY names, the address they say they received the
 * request from (see trusted-proxies.ts).
 */
export function clientAddress(options: { trustProxy: TrustedProxies }): MiddlewareHandler<AppEnv> {
  const resolve = clientAddressResolver(options.trustProxy);
  return async function findClientAddress(c, next) {
    let socketAddress: string | undefined;
    try {
      socketAddress = getConnInfo(c).remote.address;
    } catch {
      // No socket (an in-process request): no address.
    }
    c.set('clientIp', resolve(socketAddress, c.req.header('X-Forwarded-For')));
    await next();
  };
}

/** Who is calling: the client address found above, and the user agent. */
export function requestContextOf(c: Context<AppEnv>): RequestContext {
  return { ipAddress: c.get('clientIp'), userAgent: c.req.header('User-Agent') };
}
