// The second step of a sign-in at the login page (NIST SP 800-63B-4 AAL2): after the password, or
// for a live single-factor session that a client or the issuer wants stepped up, a code from an
// authenticator app or a recovery code; or, for a user who has no factor where one is required,
// adding an authenticator app there and then. No browser session counts as multi-factor, and none
// is started for a user with a factor, until the second factor is given.
import type { Client } from '../clients/client-registry.js';
import type { AuthorizationRequestRow, UserRow } from '../db/schema.js';
import { invalidForm } from '../errors.js';
import { combinedMethods, isMultiFactor } from '../factors/authentication-methods.js';
import { secondFactorNeeded, type MfaDemand } from '../factors/mfa-policy.js';
import { confirmTotp, enrolTotp, hasSecondFactor, resumeTotpEnrolment, verifySecondFactor } from '../factors/second-factors.js';
import type { RequestContext } from '../sessions/refresh-sessions.js';
import { signInStands } from '../users/sign-in-standing.js';
import { findUserById } from '../users/user-store.js';
import { endBrowserSession, startBrowserSession, upgradeBrowserSession, type LiveBrowserSession } from './browser-session-store.js';
import {
  clientOf,
  nextAfterSignIn,
  refuse,
  sessionOfRequest,
  type AuthorizationFlowDependencies,
  type Browser,
  type Step,
} from './flow-steps.js';
import { checkFormToken } from './form-tokens.js';
import { attachBrowserSession, findPendingAuthorization, recordFirstFactor } from './pending-authorization-store.js';
import { registrationRefusal } from './registration-check.js';

/** What a sign-in step returns: the next step, and a new browser session's cookie value, once. */
export interface SignInOutcome {
  sessionToken?: string;
  next: Step;
}

/** What the policy asks of a sign-in for this request by this user. */
export async function mfaDemandOf(
  deps: AuthorizationFlowDependencies,
  client: Client,
  userId: string,
  acrValues: readonly string[],
): Promise<MfaDemand> {
  return { userHasFactor: await hasSecondFactor(deps.db, userId), issuerRequires: deps.mfaRequired, client, acrValues };
}

/**
 * A first factor passed (the password, or an upstream provider): signed in at once when that is
 * enough, or on to the second factor (or to adding one), with the first factor recorded on the
 * request. An upstream sign-in that did MFA there (`amr` with `mfa`) is enough by itself.
 */
export async function afterFirstFactor(
  deps: AuthorizationFlowDependencies,
  pending: AuthorizationRequestRow,
  client: Client,
  signedIn: { user: UserRow; amr: string[] },
  browser: Browser,
  context: RequestContext,
): Promise<SignInOutcome> {
  const { user, amr } = signedIn;
  const demand = await mfaDemandOf(deps, client, user.id, pending.acrValues);
  if (isMultiFactor(amr) || !secondFactorNeeded(demand))
    return completeSignIn(deps, pending, client, { userId: user.id, amr }, browser, context);
  await recordFirstFactor(deps.db, pending.id, { userId: user.id, amr, at: deps.now() });
  return { next: { kind: demand.userHasFactor ? 'second-factor' : 'enrol', requestId: pending.id } };
}

/**
 * A live session that does not satisfy the request (a password alone where a second factor is
 * needed): the user gives the second factor only, and the same session is stepped up.
 */
export async function stepUp(
  deps: AuthorizationFlowDependencies,
  pending: AuthorizationRequestRow,
  session: LiveBrowserSession,
  demand: MfaDemand,
): Promise<Step> {
  await recordFirstFactor(deps.db, pending.id, {
    userId: session.userId,
    amr: session.amr,
    at: session.authTime,
    browserSessionId: session.id,
  });
  return { kind: demand.userHasFactor ? 'second-factor' : 'enrol', requestId: pending.id };
}

/** The request waiting for a second factor in this browser, and whose it is. */
export async function pendingSecondFactor(deps: AuthorizationFlowDependencies, requestId: string | undefined, browser: Browser) {
  const pending = await findPendingAuthorization(deps.db, requestId, browser.binding, deps.now());
  if (!pending.firstFactorUserId || !pending.firstFactorAt) throw invalidForm();
  const user = await findUserById(deps.db, pending.firstFactorUserId);
  // Disabled, or the password changed, since the first factor: that sign-in is void.
  if (!user || !signInStands(user, pending.firstFactorAt)) throw invalidForm();
  return { pending, user, client: await clientOf(deps, pending) };
}

/** POST of the second-factor form: a code from an app or a recovery code (factors/second-factors.ts). */
export async function submitSecondFactor(
  deps: AuthorizationFlowDependencies,
  form: { requestId: string | undefined; csrf: string | undefined; code: string },
  browser: Browser,
  context: RequestContext,
): Promise<SignInOutcome> {
  const { pending, user, client } = await pendingSecondFactor(deps, form.requestId, browser);
  checkFormToken(browser.binding, `second-factor:${pending.id}`, form.csrf);
  const refused = registrationRefusal(client, pending);
  if (refused) return { next: await refuse(deps, pending, refused) };
  const { amr } = await verifySecondFactor(deps.factors, user, form.code, { clientId: client.id, ipAddress: context.ipAddress });
  return completeSignIn(
    deps,
    pending,
    client,
    { userId: user.id, amr: combinedMethods(pending.firstFactorAmr ?? [], amr) },
    browser,
    context,
  );
}

const APP_NAME = 'Authenticator app';

/** GET of the enrolment page: a new authenticator app for the QR code (an earlier unconfirmed one is replaced). */
export async function beginEnrolment(deps: AuthorizationFlowDependencies, requestId: string | undefined, browser: Browser) {
  const { pending, user } = await pendingEnrolment(deps, requestId, browser);
  return { pending, enrolment: await enrolTotp(deps.factors, user, APP_NAME) };
}

/** The enrolment page again after a wrong first code: the same app, so the QR code already scanned still works. */
export async function resumeEnrolment(
  deps: AuthorizationFlowDependencies,
  requestId: string | undefined,
  browser: Browser,
  factorId: string,
) {
  const { pending, user } = await pendingEnrolment(deps, requestId, browser);
  return { pending, enrolment: await resumeTotpEnrolment(deps.factors, user, factorId, APP_NAME) };
}

/** Enrolment at sign-in is for a user with no factor yet: one who has one gives it instead. */
async function pendingEnrolment(deps: AuthorizationFlowDependencies, requestId: string | undefined, browser: Browser) {
  const found = await pendingSecondFactor(deps, requestId, browser);
  if (await hasSecondFactor(deps.db, found.user.id)) throw invalidForm();
  return found;
}

/**
 * POST of the enrolment form: the app's first code confirms it, which signs the user in with two
 * factors. The recovery codes are returned to be shown once; `continueSignIn` goes on from there,
 * so the page can take as long as the user needs to write them down.
 */
export async function submitEnrolment(
  deps: AuthorizationFlowDependencies,
  form: { requestId: string | undefined; csrf: string | undefined; factorId: string; code: string },
  browser: Browser,
  context: RequestContext,
): Promise<{ sessionToken?: string; recoveryCodes: string[]; pending: AuthorizationRequestRow }> {
  const { pending, user } = await pendingEnrolment(deps, form.requestId, browser);
  checkFormToken(browser.binding, `enrol:${pending.id}`, form.csrf);
  const confirmed = await confirmTotp(deps.factors, user, {
    factorId: form.factorId,
    code: form.code,
    ipAddress: context.ipAddress,
    // Stepping up: this browser's session goes on, with the second factor (startOrUpgrade).
    keepBrowserSessionId: pending.browserSessionId ?? undefined,
  });
  const amr = combinedMethods(pending.firstFactorAmr ?? [], ['otp']);
  const { sessionToken } = await startOrUpgrade(deps, pending, { userId: user.id, amr }, browser, context);
  return { sessionToken, recoveryCodes: confirmed.recoveryCodes ?? [], pending };
}

/** POST of "Continue" after the recovery codes: consent, or back to the client with a code. */
export async function continueSignIn(
  deps: AuthorizationFlowDependencies,
  form: { requestId: string | undefined; csrf: string | undefined },
  browser: Browser,
): Promise<Step> {
  const pending = await findPendingAuthorization(deps.db, form.requestId, browser.binding, deps.now());
  checkFormToken(browser.binding, `continue:${pending.id}`, form.csrf);
  const session = await sessionOfRequest(deps, pending, browser);
  if (!isMultiFactor(session.amr)) throw invalidForm();
  const client = await clientOf(deps, pending);
  const refused = registrationRefusal(client, pending);
  if (refused) return refuse(deps, pending, refused);
  return nextAfterSignIn(deps, pending, client, session);
}

/** Fully signed in: a browser session (new, or the stepped-up one), then consent or a code. */
export async function completeSignIn(
  deps: AuthorizationFlowDependencies,
  pending: AuthorizationRequestRow,
  client: Client,
  signedIn: { userId: string; amr: string[] },
  browser: Browser,
  context: RequestContext,
): Promise<SignInOutcome> {
  const { sessionToken, session } = await startOrUpgrade(deps, pending, signedIn, browser, context);
  return { sessionToken, next: await nextAfterSignIn(deps, pending, client, session) };
}

/**
 * The browser session of a completed sign-in: the stepped-up one, or a new one that replaces
 * whatever session this browser had.
 */
async function startOrUpgrade(
  deps: AuthorizationFlowDependencies,
  pending: AuthorizationRequestRow,
  signedIn: { userId: string; amr: string[] },
  browser: Browser,
  context: RequestContext,
): Promise<{ sessionToken?: string; session: LiveBrowserSession }> {
  if (pending.browserSessionId) {
    const session = await sessionOfRequest(deps, pending, browser);
    if (session.userId !== signedIn.userId) throw invalidForm();
    await upgradeBrowserSession(deps.db, session.id, signedIn.amr);
    return { session: { ...session, amr: signedIn.amr } };
  }
  const now = deps.now();
  if (browser.sessionToken) await endBrowserSession(deps.db, browser.sessionToken, 'signed_in_again', now);
  const { token, session } = await startBrowserSession(deps.db, deps.browserSessions, { ...signedIn, now, ...context });
  await attachBrowserSession(deps.db, pending.id, session.id);
  return { sessionToken: token, session: { id: session.id, userId: session.userId, authTime: session.authTime, amr: session.amr } };
}
