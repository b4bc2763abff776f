// The authorization code flow's steps (RFC 6749 §4.1, OpenID Connect Core §3.1.2): from the request,
// through sign-in and consent, to the redirect with a code. Pages render what these return; the
// state of a pending request lives in the database, bound to the browser (pending-authorization-store.ts).
import { recordAuditEvent } from '../audit/audit-log.js';
import type { ClientDirectory } from '../clients/client-directory.js';
import { withoutSecret, type Client } from '../clients/client-registry.js';
import type { Database } from '../db/database.js';
import type { AuthorizationRequestRow } from '../db/schema.js';
import { accessDenied, ApiError, consentRequired, invalidForm, loginRequired } from '../errors.js';
import type { TokenParams } from '../request-parameters.js';
import type { RequestContext } from '../sessions/refresh-sessions.js';
import type { IpBudget } from '../throttle/ip-budget.js';
import { signInWithPassword, type SignInDependencies } from '../users/sign-in.js';
import { findUserById } from '../users/user-store.js';
import { issueAuthorizationCode } from './authorization-code-store.js';
import {
  checkAuthorizationRequest,
  redirectWith,
  resolveAuthorizationTarget,
  type AuthorizationRequest,
  type AuthorizationTarget,
} from './authorization-request.js';
import {
  endBrowserSession,
  findLiveBrowserSession,
  startBrowserSession,
  type BrowserSessionPolicy,
  type LiveBrowserSession,
} from './browser-session-store.js';
import { consentCovers, grantConsent } from './consents.js';
import { registrationRefusal } from './registration-check.js';
import { checkFormToken } from './form-tokens.js';
import {
  attachBrowserSession,
  findPendingAuthorization,
  finishPendingAuthorization,
  savePendingAuthorization,
} from './pending-authorization-store.js';

export interface AuthorizationFlowDependencies extends SignInDependencies {
  clients: ClientDirectory;
  issuer: string;
  browserSessions: BrowserSessionPolicy;
  /**
   * Sign-ins begun per client IP: each stores a pending request for ten minutes, for anyone who
   * asks, so their number is bounded (429 with Retry-After past it, shown on a page).
   */
  pendingSignIns: IpBudget;
  now: () => Date;
}

/** What the browser does next: go back to the client (a code or an error), or see a page. */
export type Step =
  | { kind: 'redirect'; location: string; /** The error sent to the client, when it is one. */ refused?: ApiError }
  | { kind: 'login' | 'consent'; requestId: string };

/** What identifies the browser: its binding cookie (always) and its session cookie (once signed in). */
export interface Browser {
  binding: string;
  sessionToken: string | undefined;
}

/**
 * GET or POST /authorize. An unknown client or redirect URI throws (a page says so); every other
 * problem goes back to the client. A live browser session signs the user in without a password,
 * unless `prompt=login` or `max_age` asks for a fresh sign-in; `prompt=none` never shows a page.
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
 * grant (signInWithPassword throws `invalid_grant` or 429 for the page to show). A success starts
 * a browser session, whose cookie value is returned once, and ends the one this browser had.
 */
export async function submitLogin(
  deps: AuthorizationFlowDependencies,
  form: { requestId: string | undefined; csrf: string | undefined; login: string; password: string },
  browser: Browser,
  context: RequestContext,
): Promise<{ sessionToken?: string; next: Step }> {
  const now = deps.now();
  const pending = await findPendingAuthorization(deps.db, form.requestId, browser.binding, now);
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
  if (browser.sessionToken) await endBrowserSession(deps.db, browser.sessionToken, 'signed_in_again', now);
  const { token, session } = await startBrowserSession(deps.db, deps.browserSessions, { userId: user.id, now, ...context });
  await attachBrowserSession(deps.db, pending.id, session.id);
  const signedIn = { id: session.id, userId: user.id, authTime: session.authTime };
  const next: Step = (await needsConsent(deps.db, client, user.id, pending.scope, pending.forceConsent))
    ? { kind: 'consent', requestId: pending.id }
    : await redirectWithCode(deps, pending, signedIn, pending.id);
  return { sessionToken: token, next };
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
  const session = await findLiveBrowserSession(deps.db, deps.browserSessions, browser.sessionToken, now);
  // The consent is the signed-in user's: the session that signed in for this very request.
  if (!session || session.id !== pending.browserSessionId) throw invalidForm();
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

/** First-party clients never ask; others ask for scopes not yet allowed, and always on `prompt=consent`. */
async function needsConsent(db: Database, client: Client, userId: string, scopes: string[], force: boolean): Promise<boolean> {
  if (client.firstParty) return false;
  return force || !(await consentCovers(db, client, userId, scopes));
}

/**
 * The registration changed since the request began: the request ends, and the error goes to the
 * redirect URI, or to a page when that URI is no longer registered (RFC 9700 §4.1).
 */
async function refuse(deps: AuthorizationFlowDependencies, pending: AuthorizationRequestRow, error: ApiError): Promise<Step> {
  await finishPendingAuthorization(deps.db, pending.id);
  if (error.code === 'invalid_authorization_request') throw error;
  return errorRedirect(deps, pending, error);
}

type CodeRequest = Parameters<typeof issueAuthorizationCode>[1] & Pick<AuthorizationRequestRow, 'state'>;

async function redirectWithCode(
  deps: AuthorizationFlowDependencies,
  request: CodeRequest,
  session: LiveBrowserSession,
  pendingId?: string,
): Promise<Step> {
  // A pending request is answered once: a second post of the same form gets no second code.
  if (pendingId !== undefined && !(await finishPendingAuthorization(deps.db, pendingId))) throw invalidForm();
  const code = await issueAuthorizationCode(deps.db, request, session, deps.now());
  return { kind: 'redirect', location: redirectWith(targetOf(request), deps.issuer, { code }) };
}

function requestAsRow(request: AuthorizationRequest): CodeRequest {
  return {
    clientId: request.client.id,
    redirectUri: request.redirectUri,
    redirectUriGiven: request.redirectUriGiven,
    codeChallenge: request.codeChallenge,
    nonce: request.nonce ?? null,
    scope: request.scope,
    audience: request.audience,
    state: request.state ?? null,
  };
}

const targetOf = (request: Pick<AuthorizationRequestRow, 'redirectUri' | 'state'>) => ({
  redirectUri: request.redirectUri,
  state: request.state ?? undefined,
});

function errorRedirect(
  deps: AuthorizationFlowDependencies,
  request: Pick<AuthorizationRequestRow, 'redirectUri' | 'state'>,
  error: ApiError,
): Step {
  const location = redirectWith(targetOf(request), deps.issuer, { error: error.code, error_description: error.description });
  return { kind: 'redirect', location, refused: error };
}

/**
 * RFC 6749 §4.1.2.1: once the redirect URI is trusted, errors go to it (with `state` and `iss`);
 * a throttled browser is not the client's error, and sees a page saying when to try again.
 */
async function answeringErrorsAt(
  deps: AuthorizationFlowDependencies,
  target: AuthorizationTarget,
  run: () => Promise<Step>,
): Promise<Step> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 429) throw error;
    return errorRedirect(deps, { redirectUri: target.redirectUri, state: target.state ?? null }, error);
  }
}

async function clientOf(deps: AuthorizationFlowDependencies, pending: AuthorizationRequestRow): Promise<Client> {
  const row = await deps.clients.find(pending.clientId);
  if (!row) throw invalidForm();
  return withoutSecret(row);
}

async function userOfSession(deps: AuthorizationFlowDependencies, pending: AuthorizationRequestRow, browser: Browser) {
  const session = await findLiveBrowserSession(deps.db, deps.browserSessions, browser.sessionToken, deps.now());
  if (!session || session.id !== pending.browserSessionId) throw invalidForm();
  const user = await findUserById(deps.db, session.userId);
  if (!user) throw invalidForm();
  return { id: user.id, username: user.username, fullName: user.fullName };
}
