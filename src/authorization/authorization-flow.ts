// The authorization code flow's steps (RFC 6749 §4.1, OpenID Connect Core §3.1.2): from the request,
// through sign-in and consent, to the redirect with a code. Pages render what these return; the
// state of a pending request lives in the database, bound to the browser (pending-authorization-store.ts).
// The second factor's steps are in second-factor-flow.ts; what they share, in flow-steps.ts.
import { recordAuditEvent } from '../audit/audit-log.js';
import { accessDenied, consentRequired, invalidForm, loginRequired } from '../errors.js';
import { isMultiFactor } from '../factors/authentication-methods.js';
import { signInSatisfies } from '../factors/mfa-policy.js';
import type { TokenParams } from '../request-parameters.js';
import type { RequestContext } from '../sessions/refresh-sessions.js';
import { signInWithPassword } from '../users/sign-in.js';
import { checkAuthorizationRequest, resolveAuthorizationTarget } from './authorization-request.js';
import { findLiveBrowserSession, type LiveBrowserSession } from './browser-session-store.js';
import { grantConsent } from './consents.js';
import {
  answeringErrorsAt,
  clientOf,
  errorRedirect,
  needsConsent,
  redirectWithCode,
  refuse,
  requestAsRow,
  sessionOfRequest,
  userOfSession,
  type AuthorizationFlowDependencies,
  type Browser,
  type Step,
} from './flow-steps.js';
import { checkFormToken } from './form-tokens.js';
import {
  attachBrowserSession,
  findPendingAuthorization,
  finishPendingAuthorization,
  savePendingAuthorization,
} from './pending-authorization-store.js';
import { registrationRefusal } from './registration-check.js';
import { afterFirstFactor, mfaDemandOf, stepUp, type SignInOutcome } from './second-factor-flow.js';

export type { AuthorizationFlowDependencies, Browser, Step } from './flow-steps.js';

/**
 * GET or POST /authorize. An unknown client or redirect URI throws (a page says so); every other
 * problem goes back to the client. A live browser session signs the user in without a password,
 * unless `prompt=login` or `max_age` asks for a fresh sign-in, or it lacks a second factor the
 * request needs (then only that is asked for); `prompt=none` never shows a page.
 */
export async function beginAuthorization(
  deps: AuthorizationFlowDependencies,
  params: TokenParams,
  browser: Browser,
  context: RequestContext,
): Promise<Step> {
  const target = await resolveAuthorizationTarget(deps.clients, params);
  return answeringErrorsAt(deps, target, async () => {
    const request = checkAuthorizationRequest(target, params);
    const now = deps.now();
    const session = await findLiveBrowserSession(deps.db, deps.browserSessions, browser.sessionToken, now);
    const signInIsFresh = (signedIn: LiveBrowserSession) =>
      request.maxAge === undefined || now.getTime() - signedIn.authTime.getTime() <= request.maxAge * 1000;
    const savePending = async () => {
      await deps.pendingSignIns.spend(context.ipAddress);
      return savePendingAuthorization(deps.db, request, browser.binding, now);
    };
    if (!session || request.prompt.has('login') || !signInIsFresh(session)) {
      if (request.prompt.has('none')) throw loginRequired();
      const pending = await savePending();
      return { kind: 'login', requestId: pending.id };
    }
    const demand = await mfaDemandOf(deps, request.client, session.userId, request.acrValues);
    if (!signInSatisfies(session.amr, demand)) {
      if (request.prompt.has('none')) throw loginRequired('the user must give a second factor (prompt=none)');
      return stepUp(deps, await savePending(), session, demand);
    }
    if (await needsConsent(deps.db, request.client, session.userId, request.scope, request.prompt.has('consent'))) {
      if (request.prompt.has('none')) throw consentRequired();
      const pending = await savePending();
      await attachBrowserSession(deps.db, pending.id, session.id);
      return { kind: 'consent', requestId: pending.id };
    }
    return redirectWithCode(deps, requestAsRow(request), session);
  });
}

/** What the login and consent pages show of a pending request. */
export async function describePendingAuthorization(deps: AuthorizationFlowDependencies, requestId: string | undefined, browser: Browser) {
  const pending = await findPendingAuthorization(deps.db, requestId, browser.binding, deps.now());
  const client = await clientOf(deps, pending);
  const user = pending.browserSessionId ? await userOfSession(deps, pending, browser) : undefined;
  return { pending, client, user };
}

/**
 * POST of the login form: the same throttling, non-enumerating answer and audit as the password
 * grant (signInWithPassword throws `invalid_grant` or 429 for the page to show). A user who needs
 * no second factor is signed in: a browser session starts, whose cookie value is returned once, and
 * ends the one this browser had. Otherwise the second factor comes next (second-factor-flow.ts).
 */
export async function submitLogin(
  deps: AuthorizationFlowDependencies,
  form: { requestId: string | undefined; csrf: string | undefined; login: string; password: string },
  browser: Browser,
  context: RequestContext,
): Promise<SignInOutcome> {
  const pending = await findPendingAuthorization(deps.db, form.requestId, browser.binding, deps.now());
  checkFormToken(browser.binding, `login:${pending.id}`, form.csrf);
  const client = await clientOf(deps, pending);
  const refused = registrationRefusal(client, pending);
  if (refused) return { next: await refuse(deps, pending, refused) };
  const user = await signInWithPassword(deps, {
    login: form.login,
    password: form.password,
    clientId: pending.clientId,
    ipAddress: context.ipAddress,
  });
  return afterFirstFactor(deps, pending, client, { user, amr: ['pwd'] }, browser, context);
}

/** POST of the consent form: allowed (remembered, then a code) or denied (`access_denied`). */
export async function submitConsent(
  deps: AuthorizationFlowDependencies,
  form: { requestId: string | undefined; csrf: string | undefined; allow: boolean },
  browser: Browser,
  context: RequestContext,
): Promise<Step> {
  const now = deps.now();
  const pending = await findPendingAuthorization(deps.db, form.requestId, browser.binding, now);
  checkFormToken(browser.binding, `consent:${pending.id}`, form.csrf);
  // The consent is the signed-in user's: the session that signed in for this very request.
  const session = await sessionOfRequest(deps, pending, browser);
  // A request that needed a second factor is consented to only once it was given.
  if (pending.firstFactorUserId && !isMultiFactor(session.amr)) throw invalidForm();
  const refused = registrationRefusal(await clientOf(deps, pending), pending);
  if (refused) return refuse(deps, pending, refused);
  if (!form.allow) {
    await finishPendingAuthorization(deps.db, pending.id);
    return errorRedirect(deps, pending, accessDenied('the user did not allow this application'));
  }
  await grantConsent(deps.db, session.userId, pending.clientId, pending.scope);
  await recordAuditEvent(deps.db, deps, {
    type: 'consent_granted',
    userId: session.userId,
    clientId: pending.clientId,
    ipAddress: context.ipAddress,
    details: { scopes: pending.scope },
  });
  return redirectWithCode(deps, pending, session, pending.id);
}
