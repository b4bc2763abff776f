// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): a client sends the browser here to
// end its browser session. Only a valid id_token_hint for the signed-in user logs out at once; any
// other request is confirmed by the user, so a cross-site link alone cannot sign anyone out.
import { withoutSecret, type Client } from '../clients/client-registry.js';
import type { ClientDirectory } from '../clients/client-directory.js';
import { invalidAuthorizationRequest } from '../errors.js';
import type { TokenParams } from '../request-parameters.js';
import type { KeyRing } from '../keys/key-ring.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import { TokenRejectedError, verifyOwnToken } from '../tokens/verify-own-token.js';
import { findLiveBrowserSession, type BrowserSessionPolicy } from './browser-session-store.js';
import { checkFormToken } from './form-tokens.js';

export interface EndSessionDependencies {
  clients: ClientDirectory;
  keyRing: KeyRing;
  issuer: string;
  browserSessions: BrowserSessionPolicy;
  revocation: RevocationDependencies;
  now: () => Date;
}

export interface EndSessionRequest {
  client: Client | undefined;
  /** Registered for the client, exactly; where the browser goes afterwards, with `state`. */
  postLogoutRedirectUri: string | undefined;
  state: string | undefined;
  /** The subject of a valid id_token_hint. */
  hintSubject: string | undefined;
}

export type LogoutStep = { kind: 'confirm'; request: EndSessionRequest } | { kind: 'done'; location: string | undefined };

export const LOGOUT_FORM = 'logout';

/** GET or POST of the end-session endpoint. */
export async function requestLogout(
  deps: EndSessionDependencies,
  params: TokenParams,
  browser: { sessionToken: string | undefined },
): Promise<LogoutStep> {
  const request = await resolveEndSession(deps, params);
  if (request.hintSubject === undefined) return { kind: 'confirm', request };
  const session = await findLiveBrowserSession(deps.revocation.db, deps.browserSessions, browser.sessionToken, deps.now());
  // A hint for someone else than who is signed in here: the user decides.
  if (session && session.userId !== request.hintSubject) return { kind: 'confirm', request };
  return finish(deps, request, browser.sessionToken);
}

/** The user's "Sign out" on the confirmation page (its form carries the anti-forgery token). */
export async function confirmLogout(
  deps: EndSessionDependencies,
  params: TokenParams,
  browser: { binding: string | undefined; sessionToken: string | undefined },
): Promise<LogoutStep> {
  checkFormToken(browser.binding, LOGOUT_FORM, params.get('csrf'));
  return finish(deps, await resolveEndSession(deps, params), browser.sessionToken);
}

async function finish(deps: EndSessionDependencies, request: EndSessionRequest, sessionToken: string | undefined): Promise<LogoutStep> {
  const session = await findLiveBrowserSession(deps.revocation.db, deps.browserSessions, sessionToken, deps.now());
  if (session) {
    // The browser session ends with every session a client started from it (revocation/revocation-store.ts).
    await revokeSessions(
      deps.revocation,
      { familyIds: [session.id], userId: session.userId },
      { type: 'browser_session_ended', userId: session.userId, clientId: request.client?.id, reason: 'logout' },
      { alwaysAudit: true },
    );
  }
  if (!request.postLogoutRedirectUri) return { kind: 'done', location: undefined };
  const url = new URL(request.postLogoutRedirectUri);
  if (request.state !== undefined) url.searchParams.set('state', request.state);
  return { kind: 'done', location: url.href };
}

/** RP-Initiated Logout §2: the hint, client and post-logout URI must agree; otherwise a page says why. */
async function resolveEndSession(deps: EndSessionDependencies, params: TokenParams): Promise<EndSessionRequest> {
  const hint = params.get('id_token_hint');
  const claims =
    hint === undefined
      ? undefined
      : await verifyOwnToken(
          deps.keyRing,
          // An expired id token is still a good hint (§2); one older than any browser session is not.
          { issuer: deps.issuer, typ: 'JWT', expiredToleranceSeconds: deps.browserSessions.maxSeconds },
          hint,
        ).catch((error: unknown) => {
          if (error instanceof TokenRejectedError)
            throw invalidAuthorizationRequest('the id_token_hint is not a valid id token of this issuer');
          throw error;
        });
  const hintClient = typeof claims?.aud === 'string' ? claims.aud : undefined;
  const clientId = params.get('client_id') ?? hintClient;
  if (hintClient !== undefined && clientId !== hintClient) {
    throw invalidAuthorizationRequest('client_id does not match the id_token_hint');
  }
  const row = clientId === undefined || clientId.length > 255 ? undefined : await deps.clients.find(clientId);
  if (clientId !== undefined && !row) throw invalidAuthorizationRequest('there is no such client');
  const client = row && withoutSecret(row);
  const postLogoutRedirectUri = params.get('post_logout_redirect_uri');
  if (postLogoutRedirectUri !== undefined && !client?.postLogoutRedirectUris.includes(postLogoutRedirectUri)) {
    throw invalidAuthorizationRequest('the post_logout_redirect_uri is not registered for this client');
  }
  return { client, postLogoutRedirectUri, state: params.get('state')?.slice(0, 512), hintSubject: claims?.sub };
}
