import { type Context, Hono } from 'hono';
import {
  confirmLogout,
  LOGOUT_FORM,
  requestLogout,
  type EndSessionDependencies,
  type LogoutStep,
} from '../../authorization/end-session.js';
import { formToken } from '../../authorization/form-tokens.js';
import type { TokenParams } from '../../request-parameters.js';
import type { PageBranding } from '../../pages/layout.js';
import { logoutPage } from '../../pages/logout-page.js';
import { messagePage } from '../../pages/message-page.js';
import { text } from '../../pages/page-text.js';
import type { AppEnv } from '../app-env.js';
import type { BrowserCookies } from './browser-cookies.js';
import { readForm, readQueryParams } from '../form.js';
import { formTargetOf, htmlPage, pageErrorHandler } from './page-response.js';

export interface EndSessionRouteOptions {
  endSession: EndSessionDependencies;
  cookies: BrowserCookies;
  branding: PageBranding;
}

/** The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2), GET and POST, and its confirmation. */
export function endSessionRoutes(options: EndSessionRouteOptions): Hono<AppEnv> {
  const { endSession, cookies, branding } = options;
  const routes = new Hono<AppEnv>();
  routes.onError(pageErrorHandler(branding));

  async function logout(c: Context<AppEnv>, params: TokenParams) {
    const browser = cookies.read(c);
    return answer(c, await requestLogout(endSession, params, browser), browser.binding);
  }
  routes.get('/session/end', (c) => logout(c, readQueryParams(c)));
  routes.post('/session/end', async (c) => logout(c, await readForm(c)));

  routes.post('/session/end/confirm', async function confirm(c) {
    const form = await readForm(c);
    const browser = cookies.read(c, { create: false });
    if (form.get('decision') !== 'logout') return htmlPage(c, messagePage(branding, text.signedOutTitle, text.stayedMessage));
    return answer(c, await confirmLogout(endSession, form, browser), browser.binding);
  });

  function answer(c: Context<AppEnv>, step: LogoutStep, binding: string) {
    if (step.kind === 'confirm') {
      const { client, postLogoutRedirectUri, state } = step.request;
      const carried = Object.fromEntries(
        Object.entries({ client_id: client?.id, post_logout_redirect_uri: postLogoutRedirectUri, state }).filter(
          (entry): entry is [string, string] => entry[1] !== undefined,
        ),
      );
      const page = logoutPage(branding, { csrf: formToken(binding, LOGOUT_FORM), clientName: client?.name, carried });
      return htmlPage(c, page, { formTargets: postLogoutRedirectUri ? [formTargetOf(postLogoutRedirectUri)] : [] });
    }
    cookies.endSession(c);
    if (step.location) {
      c.header('Cache-Control', 'no-store');
      return c.redirect(step.location, 303);
    }
    return htmlPage(c, messagePage(branding, text.signedOutTitle, text.signedOutMessage));
  }

  return routes;
}
