import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from './app-env.js';

/**
 * CORS for exactly the configured origins (never `*`: browsers would then refuse credentials, and
 * any site could call the token endpoint from its pages). No configured origin: no CORS at all.
 */
export function corsPolicy(origins: readonly string[]): MiddlewareHandler<AppEnv> {
  const allowed = new Set(origins);
  const policy = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    exposeHeaders: ['WWW-Authenticate', 'Retry-After', 'X-Request-Id'],
    credentials: true,
    maxAge: 600,
  });
  // Browsers send Origin on every cross-origin request and preflight; other callers skip the work.
  return async function corsForBrowsers(c, next) {
    if (c.req.header('Origin') === undefined) {
      c.header('Vary', 'Origin'); // a shared cache must not hand this answer to a browser
      return next();
    }
    return policy(c, next);
  };
}

/** The API returns JSON only: nothing may be loaded, scripted or framed from it. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * The one HTML page (/docs, Swagger UI): scripts, styles and fetches from this origin only; inline
 * styles (Swagger UI sets them), never inline scripts; still never framed.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * Security headers on every response (OWASP Secure Headers Project), HSTS only when the issuer is
 * served over https. They are set before the handler runs, so they go out with the response the
 * handler builds (errors included) instead of rewriting it afterwards, which costs a copy of every
 * response.
 */
export function securityHeaders(options: { https: boolean }): MiddlewareHandler<AppEnv> {
  const common: [string, string][] = [
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
    ['Referrer-Policy', 'no-referrer'],
    ...(options.https ? ([['Strict-Transport-Security', 'max-age=31536000; includeSubDomains']] as [string, string][]) : []),
  ];
  return async function setSecurityHeaders(c, next) {
    for (const [name, value] of common) c.header(name, value);
    const path = c.req.path;
    c.header('Content-Security-Policy', path === '/docs' || path.startsWith('/docs/') ? DOCS_CSP : API_CSP);
    await next();
  };
}
