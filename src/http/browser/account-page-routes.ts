import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { checkFormToken, formToken } from '../../authorization/form-tokens.js';
import { ApiError, InvalidPasswordError, signupDisabled } from '../../errors.js';
import { donePage, forgotPage, RESET_LINK_SCRIPT, resetPage, signupPage } from '../../pages/account-pages.js';
import type { PageBranding } from '../../pages/layout.js';
import { text } from '../../pages/page-text.js';
import type { AuditSink } from '../../audit/audit-log.js';
import { signUp } from '../../users/accounts.js';
import { completePasswordReset } from '../../users/password-reset.js';
import type { AppEnv } from '../app-env.js';
import type { BrowserCookies } from './browser-cookies.js';
import { readForm } from '../form.js';
import { htmlPage, pageErrorHandler, sentence } from './page-response.js';
import { mailResetLinkLater, type PasswordResetRouteOptions } from '../routes/password-reset-routes.js';
import { requestContextOf } from '../middleware/request-context.js';

export interface AccountPageRouteOptions {
  reset: PasswordResetRouteOptions;
  audit: AuditSink;
  signupEnabled: boolean;
  signupRateLimit: MiddlewareHandler<AppEnv>;
  cookies: BrowserCookies;
  branding: PageBranding;
}

const email = z.email().max(254);
const PENDING_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const LOGIN_PAGE = '/authorize/login?request=';

/** The login page a user came from (`?request=` or the form's `back`), and nowhere else: never an open redirect. */
function backTo(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const id = value.startsWith(LOGIN_PAGE) ? value.slice(LOGIN_PAGE.length) : value;
  return PENDING_ID.test(id) ? `${LOGIN_PAGE}${id}` : undefined;
}

/**
 * The account pages the login page links to: forgot password, the reset page the mail links to
 * (the default PASSWORD_RESET_URL), and signup when it is enabled. Same rules, limits and audit as
 * the JSON API (users/), in forms that work without JavaScript and carry an anti-forgery token.
 */
export function accountPageRoutes(options: AccountPageRouteOptions): Hono<AppEnv> {
  const { cookies, branding } = options;
  const { accounts } = options.reset;
  const routes = new Hono<AppEnv>();
  routes.onError(pageErrorHandler(branding));
  const csrfFor = (c: Context<AppEnv>, purpose: string) => formToken(cookies.read(c).binding, purpose);
  /** Refusals the user can fix: the same form again, saying what to fix. */
  const fixable = (error: unknown) => error instanceof ApiError && error.status < 500 && error.status !== 429;
  /** What to fix, in the pages' words (page-text.ts) where they have their own. */
  const refusal = (error: ApiError): string => {
    if (error instanceof InvalidPasswordError) return text.passwordRefused[error.rule](accounts.policy);
    if (error.code === 'account_exists') return text.accountTaken;
    if (error.code === 'invalid_reset_token') return text.resetLinkInvalid;
    return sentence(error.description);
  };

  routes.get('/account/forgot', function showForgot(c) {
    return htmlPage(c, forgotPage(branding, { csrf: csrfFor(c, 'forgot'), back: backTo(c.req.query('request')) }));
  });

  /** One answer for every address, before any lookup (OWASP Forgot Password Cheat Sheet). */
  routes.post('/account/forgot', options.reset.forgotRateLimit, async function forgot(c) {
    const form = await readForm(c);
    checkFormToken(cookies.read(c, { create: false }).binding, 'forgot', form.get('csrf'));
    const back = backTo(form.get('back'));
    const address = email.safeParse(form.get('email'));
    if (!address.success) {
      const page = forgotPage(branding, { csrf: csrfFor(c, 'forgot'), back, email: form.get('email'), error: text.invalidEmail });
      return htmlPage(c, page, { status: 400 });
    }
    mailResetLinkLater(options.reset, c, address.data, back?.slice(LOGIN_PAGE.length));
    return htmlPage(c, donePage(branding, text.forgotTitle, text.forgotSent, back));
  });

  // The mail's link names the sign-in the reset began from (`?request=`), when it began at one.
  routes.get('/account/reset', function showReset(c) {
    const page = resetPage(branding, { csrf: csrfFor(c, 'reset'), back: backTo(c.req.query('request')) });
    return htmlPage(c, page, { scripts: true });
  });

  routes.get('/pages/reset-link.js', function resetLinkScript(c) {
    return c.body(RESET_LINK_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600' });
  });

  routes.post('/account/reset', async function reset(c) {
    const form = await readForm(c);
    checkFormToken(cookies.read(c, { create: false }).binding, 'reset', form.get('csrf'));
    const token = form.get('token') ?? '';
    const back = backTo(form.get('back'));
    try {
      await completePasswordReset(options.reset, token.trim(), form.get('new_password') ?? '', requestContextOf(c).ipAddress);
    } catch (error) {
      if (!fixable(error)) throw error;
      const page = resetPage(branding, { csrf: csrfFor(c, 'reset'), token, back, error: refusal(error as ApiError) });
      return htmlPage(c, page, { status: 400, scripts: true });
    }
    return htmlPage(c, donePage(branding, text.resetTitle, text.resetDone, back));
  });

  routes.get('/account/signup', function showSignup(c) {
    if (!options.signupEnabled) throw signupDisabled();
    const page = signupPage(branding, {
      csrf: csrfFor(c, 'signup'),
      back: backTo(c.req.query('request')),
      minLength: accounts.policy.minLength,
    });
    return htmlPage(c, page);
  });

  routes.post('/account/signup', options.signupRateLimit, async function signup(c) {
    if (!options.signupEnabled) throw signupDisabled();
    const form = await readForm(c);
    checkFormToken(cookies.read(c, { create: false }).binding, 'signup', form.get('csrf'));
    const back = backTo(form.get('back'));
    const input = { username: form.get('username') ?? '', email: form.get('email') ?? '', fullName: form.get('full_name') };
    try {
      await signUp(accounts, options.audit, input, form.get('password') ?? '', requestContextOf(c).ipAddress);
    } catch (error) {
      if (!fixable(error)) throw error;
      const page = signupPage(branding, {
        ...input,
        csrf: csrfFor(c, 'signup'),
        back,
        error: refusal(error as ApiError),
        minLength: accounts.policy.minLength,
      });
      return htmlPage(c, page, { status: 400 });
    }
    return htmlPage(c, donePage(branding, text.signupTitle, text.signupDone, back));
  });

  return routes;
}
