import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError } from '../../errors.js';
import { isOutage } from '../../outage.js';
import type { PageBody, PageBranding } from '../../pages/layout.js';
import { messagePage } from '../../pages/message-page.js';
import { text } from '../../pages/page-text.js';
import type { AppEnv } from '../app-env.js';
import { reportOutage, RETRY_AFTER_SECONDS } from '../error-response.js';
import { NO_STORE } from '../no-store.js';

/**
 * A page's CSP: its own stylesheet only, no script at all, never framed. `form-action` lists where
 * its form may lead, since browsers apply it to the redirect that answers the post too: the
 * issuer, and the client's redirect URI when the answer goes back to the client. Three pages run
 * a script, each from a file of this origin (never inline): the reset page, and the login and
 * second-factor pages for passkeys.
 */
function pageCsp(formTargets: readonly string[], scripts: boolean): string {
  return [
    "default-src 'none'",
    ...(scripts ? ["script-src 'self'"] : []),
    "style-src 'self'",
    "img-src 'self'",
    `form-action 'self'${formTargets.map((target) => ` ${target}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The CSP source that admits a redirect URI: its origin, any port on a loopback IP (RFC 8252 §7.3), or its private-use scheme. */
export function formTargetOf(uri: string): string {
  const url = new URL(uri);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return url.protocol;
  if (url.protocol === 'http:' && ['127.0.0.1', '[::1]'].includes(url.hostname)) return `http://${url.hostname}:*`;
  return url.origin;
}

export async function htmlPage(
  c: Context<AppEnv>,
  body: PageBody,
  options: { status?: number; formTargets?: string[]; headers?: Record<string, string>; scripts?: boolean } = {},
): Promise<Response> {
  c.header('Content-Security-Policy', pageCsp(options.formTargets ?? [], options.scripts ?? false));
  for (const [name, value] of Object.entries({ ...NO_STORE, ...options.headers })) c.header(name, value);
  return c.html(await body, (options.status ?? 200) as ContentfulStatusCode);
}

/** The pages' errors, as pages: what the user can do about it, never internals. */
export function pageErrorHandler(branding: PageBranding) {
  return async function renderPageError(error: Error, c: Context<AppEnv>): Promise<Response> {
    if (error instanceof ApiError) {
      c.set('refusal', { error: error.code, description: error.description });
      return htmlPage(c, messagePage(branding, text.errorTitle, sentence(error.description), text.errorAdvice), {
        status: error.status,
        headers: { ...error.headers },
      });
    }
    if (isOutage(error)) {
      reportOutage(c, error);
      return htmlPage(c, messagePage(branding, text.errorTitle, text.unavailable), {
        status: 503,
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      });
    }
    c.get('logger')?.error({ err: error }, 'unexpected error');
    return htmlPage(c, messagePage(branding, text.errorTitle, text.errorAdvice), { status: 500 });
  };
}

/** An error's description as a sentence for a page. */
export const sentence = (description: string) => `${description.charAt(0).toUpperCase()}${description.slice(1)}.`;
