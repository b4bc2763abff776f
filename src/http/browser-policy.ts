import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from './app-env.js';

/**
 * CORS for exactly the configured origins (never `*`: browsers would then refuse credentials, and
 * any site could call the token endpoint from its pages). No configured origin: no CORS at all.
 */
export function corsPolicy(origins: readonly string[]): MiddlewareHandler<AppEnv> {
  const allowed = new Set(origins);
  return cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    exposeHeaders: ['WWW-Authenticate', 'Retry-After', 'X-Request-Id'],
    credentials: true,
    maxAge: 600,
  });
}

/**
 * Security headers on every response (OWASP Secure Headers): the API returns JSON only, so nothing
 * may be framed, scripted or loaded from it; HSTS only when the issuer is served over https.
 */
export function securityHeaders(options: { https: boolean }): MiddlewareHandler<AppEnv> {
  return secureHeaders({
    xFrameOptions: 'DENY',
    xContentTypeOptions: true,
    referrerPolicy: 'no-referrer',
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    strictTransportSecurity: options.https ? 'max-age=31536000; includeSubDomains' : false,
  });
}
