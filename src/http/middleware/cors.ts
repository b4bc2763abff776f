import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { isWebOriginOf } from '../../clients/web-origins.js';
import type { AppEnv } from '../app-env.js';

/** Public documents: any page may read them, without credentials (node-oidc-provider does the same). */
const PUBLIC_DOCUMENTS = new Set([
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
  '/.well-known/jwks.json',
]);
/** What a browser app calls as a client; the client's registration says which origins may read the answer. */
const CLIENT_ENDPOINTS = new Set(['/token', '/refresh', '/revoke', '/userinfo']);

const EXPOSED = 'WWW-Authenticate, Retry-After, X-Request-Id';
const PREFLIGHT_MAX_AGE = '600';

/**
 * CORS (Fetch Standard §3.2), three ways, never with credentials but for the configured origins:
 * - discovery and the JWKS answer `*`;
 * - /token, /refresh, /revoke and /userinfo answer the origin of a page of the client the request
 *   is from (its redirect URIs' origins, clients/web-origins.ts) or a configured one; a preflight
 *   cannot name its client, so it is answered for any origin and the request itself decides;
 * - everything else (the account and admin APIs) answers only `CORS_ORIGINS`, with credentials.
 */
export function corsPolicy(configuredOrigins: readonly string[]): MiddlewareHandler<AppEnv> {
  const configured = new Set(configuredOrigins);
  const forConfigured =
    configured.size > 0
      ? cors({
          origin: (origin) => (configured.has(origin) ? origin : null),
          allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
          allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
          exposeHeaders: EXPOSED.split(', '),
          credentials: true,
          maxAge: Number(PREFLIGHT_MAX_AGE),
        })
      : undefined;

  return async function crossOrigin(c, next) {
    const origin = c.req.header('Origin');
    const path = c.req.path;
    const isPreflight = c.req.method === 'OPTIONS' && c.req.header('Access-Control-Request-Method') !== undefined;
    c.header('Vary', 'Origin'); // a shared cache must not hand one origin's answer to another
    if (origin === undefined) return next();
    if (PUBLIC_DOCUMENTS.has(path)) {
      c.header('Access-Control-Allow-Origin', '*');
      if (!isPreflight) {
        c.header('Access-Control-Expose-Headers', 'ETag');
        return next();
      }
      return preflight(c, 'GET', c.req.header('Access-Control-Request-Headers'));
    }
    if (CLIENT_ENDPOINTS.has(path)) {
      if (isPreflight) {
        c.header('Access-Control-Allow-Origin', origin);
        return preflight(c, 'GET, POST', 'Authorization, Content-Type, DPoP');
      }
      await next();
      const client = c.get('client');
      if (configured.has(origin) || (client && isWebOriginOf(client, origin))) {
        c.header('Access-Control-Allow-Origin', origin);
        c.header('Access-Control-Expose-Headers', EXPOSED);
      }
      return;
    }
    return forConfigured ? forConfigured(c, next) : next();
  };
}

function preflight(c: Parameters<MiddlewareHandler<AppEnv>>[0], methods: string, headers: string | undefined) {
  c.header('Access-Control-Allow-Methods', methods);
  if (headers) c.header('Access-Control-Allow-Headers', headers);
  c.header('Access-Control-Max-Age', PREFLIGHT_MAX_AGE);
  return c.body(null, 204);
}
