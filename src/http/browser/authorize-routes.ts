import { type Context, Hono } from 'hono';
import {
  beginAuthorization,
  describePendingAuthorization,
  submitConsent,
  submitLogin,
  type Step,
} from '../../authorization/authorization-flow.js';
import { formToken } from '../../authorization/form-tokens.js';
import {
  beginEnrolment,
  continueSignIn,
  pendingSecondFactor,
  resumeEnrolment,
  submitEnrolment,
  submitSecondFactor,
} from '../../authorization/second-factor-flow.js';
import { passkeyOfferFor, submitPasskey } from '../../authorization/passkey-flow.js';
import {
  beginUpstreamSignIn,
  finishUpstreamSignIn,
  upstreamLinksFor,
  type UpstreamFlowDependencies,
} from '../../authorization/upstream-flow.js';
import type { Browser } from '../../authorization/flow-steps.js';
import type { AuthorizationRequestRow } from '../../db/schema.js';
import { qrCodeSvg } from '../../factors/qr-code.js';
import { PASSKEY_SCRIPT } from '../../pages/passkey-script.js';
import { INVALID_CREDENTIALS } from '../../users/sign-in.js';
import { enrolPage, recoveryCodesPage, secondFactorPage } from '../../pages/second-factor-pages.js';
import { ApiError } from '../../errors.js';
import type { TokenParams } from '../../request-parameters.js';
import { consentPage } from '../../pages/consent-page.js';
import type { PageBranding } from '../../pages/layout.js';
import { loginPage } from '../../pages/login-page.js';
import { messagePage } from '../../pages/message-page.js';
import { text } from '../../pages/page-text.js';
import { stylesheet } from '../../pages/stylesheet.js';
import type { AppEnv } from '../app-env.js';
import type { BrowserCookies } from './browser-cookies.js';
import { readForm, readQueryParams } from '../form.js';
import { formTargetOf, htmlPage, pageErrorHandler, sentence } from './page-response.js';
import { requestContextOf } from '../middleware/request-context.js';

export interface AuthorizeRouteOptions {
  flow: UpstreamFlowDependencies;
  cookies: BrowserCookies;
  branding: PageBranding;
  accentColor: string;
  /** Whether the login page links to the signup page. */
  signupEnabled: boolean;
}

/**
 * The authorization endpoint (RFC 6749 §3.1, GET and POST as OpenID Connect Core §3.1.2.1 asks)
 * and its pages: login, second factor (or adding one), and consent. Thin: the flow's steps live in authorization/.
 */
export function authorizeRoutes(options: AuthorizeRouteOptions): Hono<AppEnv> {
  const { flow, cookies, branding } = options;
  const routes = new Hono<AppEnv>();
  routes.onError(pageErrorHandler(branding));
  const css = stylesheet(options.accentColor);

  routes.get('/pages/style.css', function pageStyles(c) {
    return c.body(css, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600' });
  });

  async function authorize(c: Context<AppEnv>, params: TokenParams) {
    return go(c, await beginAuthorization(flow, params, cookies.read(c), requestContextOf(c)));
  }
  routes.get('/authorize', (c) => authorize(c, readQueryParams(c)));
  routes.post('/authorize', async (c) => authorize(c, await readForm(c)));

  routes.get('/authorize/login', async function showLogin(c) {
    const browser = cookies.read(c, { create: false });
    const { pending, client } = await describePendingAuthorization(flow, c.req.query('request'), browser);
    return renderLogin(c, { pending, clientName: client.name, browser }, pending.loginHint);
  });

  routes.post('/authorize/login', async function logIn(c) {
    const form = await readForm(c);
    const browser = cookies.read(c);
    const attempt = {
      requestId: form.get('request'),
      csrf: form.get('csrf'),
      login: form.get('username') ?? '',
      password: form.get('password') ?? '',
    };
    try {
      const { sessionToken, next } = await submitLogin(flow, attempt, browser, requestContextOf(c));
      if (sessionToken) cookies.startSession(c, sessionToken);
      return go(c, next);
    } catch (error) {
      // A wrong password or a throttled account: the form again, with the reason in words.
      if (!(error instanceof ApiError) || (error.code !== 'invalid_grant' && error.status !== 429)) throw error;
      const { pending, client } = await describePendingAuthorization(flow, attempt.requestId, browser);
      const retryAfter = error.headers['Retry-After'];
      // One sentence for a wrong password and an unknown user; another reason (an account that
      // signs in elsewhere) only once the password was right.
      const message = retryAfter
        ? text.throttled(Number(retryAfter))
        : error.description === INVALID_CREDENTIALS
          ? text.invalidCredentials
          : sentence(error.description);
      return renderLogin(c, { pending, clientName: client.name, browser }, attempt.login, {
        message,
        status: retryAfter ? 429 : 401,
        headers: retryAfter ? { 'Retry-After': retryAfter } : {},
      });
    }
  });

  routes.get('/authorize/second-factor', async function showSecondFactor(c) {
    const browser = cookies.read(c, { create: false });
    const { pending, user } = await pendingSecondFactor(flow, c.req.query('request'), browser);
    return renderSecondFactor(c, { pending, userId: user.id, browser });
  });

  routes.post('/authorize/second-factor', async function verifyCode(c) {
    const form = await readForm(c);
    const browser = cookies.read(c);
    const attempt = { requestId: form.get('request'), csrf: form.get('csrf'), code: form.get('code') ?? '' };
    try {
      const { sessionToken, next } = await submitSecondFactor(flow, attempt, browser, requestContextOf(c));
      if (sessionToken) cookies.startSession(c, sessionToken);
      return go(c, next);
    } catch (error) {
      const refusal = codeRefusal(error);
      const { pending, user } = await pendingSecondFactor(flow, attempt.requestId, browser);
      return renderSecondFactor(c, { pending, userId: user.id, browser }, refusal);
    }
  });

  /** To an upstream provider (a link of the login page): its authorization URL for this sign-in. */
  routes.get('/authorize/upstream', async function toUpstream(c) {
    const browser = cookies.read(c, { create: false });
    const link = { requestId: c.req.query('request'), csrf: c.req.query('csrf'), provider: c.req.query('provider') };
    const location = await beginUpstreamSignIn(flow, link, browser);
    c.header('Cache-Control', 'no-store');
    return c.redirect(location, 303);
  });

  /** The one redirect URI of every upstream provider. */
  routes.get('/authorize/callback', async function fromUpstream(c) {
    const browser = cookies.read(c, { create: false });
    const answer = await finishUpstreamSignIn(flow, new URL(c.req.url), browser, requestContextOf(c));
    if (answer.kind === 'signed-in') {
      if (answer.outcome.sessionToken) cookies.startSession(c, answer.outcome.sessionToken);
      return go(c, answer.outcome.next);
    }
    if (answer.kind === 'linked') return c.redirect('/account', 303);
    c.set('refusal', { error: answer.error.code, description: answer.error.description });
    // A link from the account page: a page saying why, leading back to it.
    if (answer.pending.linkUserId) {
      const page = messagePage(branding, text.linkRefusedTitle, sentence(answer.error.description), text.linkRefusedAdvice);
      return htmlPage(c, page, { status: 403 });
    }
    // Refused (an email of an existing account, no sign-up there, an answer that failed its checks):
    // the login page again, saying why, so the user can sign in another way.
    const client = await flow.clients.find(answer.pending.clientId);
    return renderLogin(c, { pending: answer.pending, clientName: client?.name ?? '', browser }, undefined, {
      message: sentence(answer.error.description),
      status: 403,
      headers: {},
    });
  });

  routes.get('/pages/passkey.js', function passkeyScript(c) {
    return c.body(PASSKEY_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600' });
  });

  /** The passkey form of the login and second-factor pages, which /pages/passkey.js posts. */
  routes.post('/authorize/passkey', async function signInWithPasskey(c) {
    const form = await readForm(c);
    const browser = cookies.read(c);
    const answer = { requestId: form.get('request'), csrf: form.get('csrf'), credential: form.get('credential') ?? '' };
    try {
      const { sessionToken, next } = await submitPasskey(flow, answer, browser, requestContextOf(c));
      if (sessionToken) cookies.startSession(c, sessionToken);
      return go(c, next);
    } catch (error) {
      // The page it came from again, saying so: the user can try again or sign in another way.
      if (!(error instanceof ApiError) || error.code !== 'invalid_passkey') throw error;
      const refusal = { message: text.passkeyRefused, status: 400, headers: {} };
      const { pending, client } = await describePendingAuthorization(flow, answer.requestId, browser);
      if (!pending.firstFactorUserId) return renderLogin(c, { pending, clientName: client.name, browser }, undefined, refusal);
      const { user } = await pendingSecondFactor(flow, pending.id, browser);
      return renderSecondFactor(c, { pending, userId: user.id, browser }, refusal);
    }
  });

  routes.get('/authorize/enrol', async function showEnrolment(c) {
    const browser = cookies.read(c, { create: false });
    const { pending, enrolment } = await beginEnrolment(flow, c.req.query('request'), browser);
    return renderEnrolment(
      c,
      { pending, binding: browser.binding, factorId: enrolment.id, secret: enrolment.secret },
      enrolment.otpauthUri,
    );
  });

  routes.post('/authorize/enrol', async function confirmEnrolment(c) {
    const form = await readForm(c);
    const browser = cookies.read(c);
    const attempt = {
      requestId: form.get('request'),
      csrf: form.get('csrf'),
      factorId: form.get('factor') ?? '',
      code: form.get('code') ?? '',
    };
    try {
      const { sessionToken, recoveryCodes, pending } = await submitEnrolment(flow, attempt, browser, requestContextOf(c));
      if (sessionToken) cookies.startSession(c, sessionToken);
      const page = recoveryCodesPage(branding, {
        codes: recoveryCodes,
        next: {
          action: '/authorize/continue',
          fields: { request: pending.id, csrf: formToken(browser.binding, `continue:${pending.id}`) },
        },
      });
      // "Continue" may lead straight back to the client: form-action must admit that redirect.
      return htmlPage(c, page, { formTargets: [formTargetOf(pending.redirectUri)] });
    } catch (error) {
      const refusal = codeRefusal(error);
      // The same app stays on the page, so that the user need not scan a new QR code.
      const { pending, enrolment } = await resumeEnrolment(flow, attempt.requestId, browser, attempt.factorId);
      const shown = { pending, binding: browser.binding, factorId: enrolment.id, secret: enrolment.secret };
      return renderEnrolment(c, shown, enrolment.otpauthUri, refusal);
    }
  });

  routes.post('/authorize/continue', async function continueAfterCodes(c) {
    const form = await readForm(c);
    return go(c, await continueSignIn(flow, { requestId: form.get('request'), csrf: form.get('csrf') }, cookies.read(c)));
  });

  routes.get('/authorize/consent', async function showConsent(c) {
    const browser = cookies.read(c, { create: false });
    const { pending, client, user } = await describePendingAuthorization(flow, c.req.query('request'), browser);
    const page = consentPage(branding, {
      requestId: pending.id,
      csrf: formToken(browser.binding, `consent:${pending.id}`),
      clientName: client.name,
      userName: user?.fullName ?? user?.username ?? '',
      scopes: pending.scope,
    });
    return htmlPage(c, page, { formTargets: [formTargetOf(pending.redirectUri)] });
  });

  routes.post('/authorize/consent', async function answerConsent(c) {
    const form = await readForm(c);
    const decision = { requestId: form.get('request'), csrf: form.get('csrf'), allow: form.get('decision') === 'allow' };
    return go(c, await submitConsent(flow, decision, cookies.read(c), requestContextOf(c)));
  });

  async function renderSecondFactor(
    c: Context<AppEnv>,
    shown: { pending: AuthorizationRequestRow; userId: string; browser: Browser },
    error?: PageRefusal,
  ) {
    const { pending, browser } = shown;
    const passkey = await passkeyOfferFor(flow, pending, browser, shown.userId);
    const page = secondFactorPage(branding, {
      requestId: pending.id,
      csrf: formToken(browser.binding, `second-factor:${pending.id}`),
      error: error?.message,
      passkey,
    });
    return htmlPage(c, page, {
      status: error?.status,
      headers: error?.headers,
      formTargets: [formTargetOf(pending.redirectUri)],
      scripts: passkey !== undefined,
    });
  }

  async function renderEnrolment(
    c: Context<AppEnv>,
    shown: { pending: { id: string; clientId: string; redirectUri: string }; binding: string; factorId: string; secret: string },
    otpauthUri: string,
    error?: PageRefusal,
  ) {
    const client = await flow.clients.find(shown.pending.clientId);
    const fields = { request: shown.pending.id, csrf: formToken(shown.binding, `enrol:${shown.pending.id}`), factor: shown.factorId };
    const page = enrolPage(branding, {
      intro: text.enrolIntro(client?.name ?? ''),
      form: { action: '/authorize/enrol', fields },
      secret: shown.secret,
      qrCodeSvg: await qrCodeSvg(otpauthUri),
      error: error?.message,
    });
    return htmlPage(c, page, { status: error?.status, headers: error?.headers, formTargets: [formTargetOf(shown.pending.redirectUri)] });
  }

  async function renderLogin(
    c: Context<AppEnv>,
    shown: { pending: AuthorizationRequestRow; clientName: string; browser: Browser },
    username: string | null | undefined,
    error?: PageRefusal,
  ) {
    const { pending, browser } = shown;
    const page = loginPage(branding, {
      requestId: pending.id,
      csrf: formToken(browser.binding, `login:${pending.id}`),
      clientName: shown.clientName,
      username: username ?? undefined,
      error: error?.message,
      signupEnabled: options.signupEnabled,
      passkey: await passkeyOfferFor(flow, pending, browser),
      providers: await upstreamLinksFor(flow, pending.id, browser),
    });
    return htmlPage(c, page, {
      status: error?.status,
      headers: error?.headers,
      formTargets: [formTargetOf(pending.redirectUri)],
      scripts: true,
    });
  }

  return routes;
}

interface PageRefusal {
  message: string;
  status: number;
  headers: Record<string, string>;
}

/** A wrong code or a throttled account: the form again, with the reason in words; anything else is thrown on. */
function codeRefusal(error: unknown): PageRefusal {
  if (!(error instanceof ApiError) || (error.code !== 'invalid_code' && error.status !== 429)) throw error;
  const retryAfter = error.headers['Retry-After'];
  if (retryAfter) return { message: text.throttled(Number(retryAfter)), status: 429, headers: { 'Retry-After': retryAfter } };
  return { message: text.invalidCode, status: 400, headers: {} };
}

/** 303: after a form post the browser follows with a GET (RFC 9110 §15.4.4). */
function go(c: Context<AppEnv>, step: Step): Response {
  c.header('Cache-Control', 'no-store'); // the Location may carry a code
  if (step.kind === 'redirect') {
    if (step.refused) c.set('refusal', { error: step.refused.code, description: step.refused.description });
    return c.redirect(step.location, 303);
  }
  return c.redirect(`/authorize/${step.kind}?request=${step.requestId}`, 303);
}
