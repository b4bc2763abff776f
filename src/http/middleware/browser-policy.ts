import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';

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
