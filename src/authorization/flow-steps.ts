// What every step of the authorization code flow shares (authorization-flow.ts for the request,
// login and consent; second-factor-flow.ts for the second factor): where the browser goes next,
// and how a request ends (a code, or an error for the client).
import type { ClientDirectory } from '../clients/client-directory.js';
import { withoutSecret, type Client } from '../clients/client-registry.js';
import type { Database } from '../db/database.js';
import type { AuthorizationRequestRow } from '../db/schema.js';
import { ApiError, invalidForm } from '../errors.js';
import type { PasskeyDependencies } from '../factors/passkeys.js';
import type { IpBudget } from '../throttle/ip-budget.js';
import type { SignInDependencies } from '../users/sign-in.js';
import { findUserById } from '../users/user-store.js';
import { issueAuthorizationCode } from './authorization-code-store.js';
import { redirectWith, type AuthorizationRequest, type AuthorizationTarget } from './authorization-request.js';
import { findLiveBrowserSession, type BrowserSessionPolicy, type LiveBrowserSession } from './browser-session-store.js';
import { consentCovers } from './consents.js';
import { finishPendingAuthorization } from './pending-authorization-store.js';

export interface AuthorizationFlowDependencies extends SignInDependencies {
  clients: ClientDirectory;
  issuer: string;
  browserSessions: BrowserSessionPolicy;
  /**
   * Sign-ins begun per client IP: each stores a pending request for ten minutes, for anyone who
   * asks, so their number is bounded (429 with Retry-After past it, shown on a page).
   */
  pendingSignIns: IpBudget;
  /** Second factors and passkeys: checked, enrolled at sign-in when required (factors/). */
  factors: PasskeyDependencies;
  /** MFA_REQUIRED: every sign-in needs a second factor. */
  mfaRequired: boolean;
  now: () => Date;
}

/** What the browser does next: go back to the client (a code or an error), or see a page. */
export type Step =
  | { kind: 'redirect'; location: string; /** The error sent to the client, when it is one. */ refused?: ApiError }
  | { kind: 'login' | 'second-factor' | 'enrol' | 'consent'; requestId: string };

/** What identifies the browser: its binding cookie (always) and its session cookie (once signed in). */
export interface Browser {
  binding: string;
  sessionToken: string | undefined;
}

/** Signed in for this request: consent when the client needs it, otherwise back to the client with a code. */
export async function nextAfterSignIn(
  deps: AuthorizationFlowDependencies,
  pending: AuthorizationRequestRow,
  client: Client,
  session: LiveBrowserSession,
): Promise<Step> {
  return (await needsConsent(deps.db, client, session.userId, pending.scope, pending.forceConsent))
    ? { kind: 'consent', requestId: pending.id }
    : redirectWithCode(deps, pending, session, pending.id);
}

/** First-party clients never ask; others ask for scopes not yet allowed, and always on `prompt=consent`. */
export async function needsConsent(db: Database, client: Client, userId: string, scopes: string[], force: boolean): Promise<boolean> {
  if (client.firstParty) return false;
  return force || !(await consentCovers(db, client, userId, scopes));
}

/**
 * The registration changed since the request began: the request ends, and the error goes to the
 * redirect URI, or to a page when that URI is no longer registered (RFC 9700 §4.1).
 */
export async function refuse(deps: AuthorizationFlowDependencies, pending: AuthorizationRequestRow, error: ApiError): Promise<Step> {
  await finishPendingAuthorization(deps.db, pending.id);
  if (error.code === 'invalid_authorization_request') throw error;
  return errorRedirect(deps, pending, error);
}

type CodeRequest = Parameters<typeof issueAuthorizationCode>[1] & Pick<AuthorizationRequestRow, 'state'>;

export async function redirectWithCode(
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

export function requestAsRow(request: AuthorizationRequest): CodeRequest {
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

export function errorRedirect(
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
export async function answeringErrorsAt(
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

export async function clientOf(deps: AuthorizationFlowDependencies, pending: AuthorizationRequestRow): Promise<Client> {
  const row = await deps.clients.find(pending.clientId);
  if (!row) throw invalidForm();
  return withoutSecret(row);
}

/** The browser session this request was signed in with (or is stepping up), still live in this browser. */
export async function sessionOfRequest(
  deps: AuthorizationFlowDependencies,
  pending: AuthorizationRequestRow,
  browser: Browser,
): Promise<LiveBrowserSession> {
  const session = await findLiveBrowserSession(deps.db, deps.browserSessions, browser.sessionToken, deps.now());
  if (!session || session.id !== pending.browserSessionId) throw invalidForm();
  return session;
}

/** Who the consent page names: the user of the request's browser session. */
export async function userOfSession(deps: AuthorizationFlowDependencies, pending: AuthorizationRequestRow, browser: Browser) {
  const session = await sessionOfRequest(deps, pending, browser);
  const user = await findUserById(deps.db, session.userId);
  if (!user) throw invalidForm();
  return { id: user.id, username: user.username, fullName: user.fullName };
}
