import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { newOpaqueToken } from '../../tokens/opaque-token.js';
import type { Browser } from '../../authorization/authorization-flow.js';

/**
 * The two cookies of the pages: the browser session (single sign-on) and the binding that ties a
 * pending authorization and the pages' forms to this browser. Both opaque random values, HttpOnly,
 * SameSite=Lax (a client's redirect to /authorize is a top-level navigation, so they are sent);
 * over https also Secure with the `__Host-` prefix (no Domain, Path=/: no subdomain can set them).
 */
export interface BrowserCookies {
  read(c: Context, options?: { create?: boolean }): Browser;
  startSession(c: Context, token: string): void;
  endSession(c: Context): void;
}

export function browserCookies(options: { https: boolean; sessionMaxSeconds: number }): BrowserCookies {
  const prefix = options.https ? '__Host-' : '';
  const SESSION = `${prefix}ti_session`;
  const BINDING = `${prefix}ti_browser`;
  const flags = { path: '/', httpOnly: true, sameSite: 'Lax', secure: options.https } as const;
  return {
    read(c, { create = true } = {}) {
      let binding = getCookie(c, BINDING);
      if (!binding && create) {
        binding = newOpaqueToken();
        setCookie(c, BINDING, binding, flags);
      }
      return { binding: binding ?? '', sessionToken: getCookie(c, SESSION) };
    },
    startSession(c, token) {
      setCookie(c, SESSION, token, { ...flags, maxAge: options.sessionMaxSeconds });
    },
    endSession(c) {
      deleteCookie(c, SESSION, flags);
    },
  };
}
