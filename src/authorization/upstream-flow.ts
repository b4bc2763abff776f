// Signing in through an upstream provider from the login page (upstream/ for the providers and the
// accounts): this issuer is an OpenID Connect client there, with openid-client: PKCE, `state` and
// `nonce` bound to the pending request in this browser, `iss` (RFC 9207) and the id token checked.
// Upstream tokens are neither logged nor kept.
import * as oidc from 'openid-client';
import { recordAuditEvent } from '../audit/audit-log.js';
import { methodsAtProvider } from '../factors/authentication-methods.js';
import type { AuthorizationRequestRow } from '../db/schema.js';
import { accessDenied, ApiError, DependencyUnavailableError, notFound } from '../errors.js';
import type { RequestContext } from '../sessions/refresh-sessions.js';
import { findProviderById, findProviderByName, listProviders } from '../upstream/provider-store.js';
import { upstreamCallbackOf } from '../upstream/providers.js';
import { accountForUpstream, linkUpstreamAccount, type UpstreamClaims } from '../upstream/upstream-accounts.js';
import type { UpstreamClients } from '../upstream/upstream-clients.js';
import type { AccountDependencies } from '../users/accounts.js';
import { clientOf, refuse, type AuthorizationFlowDependencies, type Browser } from './flow-steps.js';
import { checkFormToken, formToken } from './form-tokens.js';
import {
  findPendingAuthorization,
  finishPendingAuthorization,
  recordUpstreamRequest,
  savePendingAuthorization,
  takeUpstreamRequest,
} from './pending-authorization-store.js';
import type { Client } from '../clients/client-registry.js';
import { registrationRefusal } from './registration-check.js';
import { afterFirstFactor, type SignInOutcome } from './second-factor-flow.js';

export interface UpstreamFlowDependencies extends AuthorizationFlowDependencies {
  upstream: UpstreamClients;
  accounts: AccountDependencies;
}

/** The login page's links to each provider: GET, so no form-action has to admit the provider. */
export async function upstreamLinksFor(deps: UpstreamFlowDependencies, pendingId: string, browser: Browser) {
  const providers = await listProviders(deps.db);
  const csrf = formToken(browser.binding, `upstream:${pendingId}`);
  return providers.map((provider) => ({
    displayName: provider.displayName,
    href: `/authorize/upstream?${new URLSearchParams({ request: pendingId, provider: provider.name, csrf })}`,
  }));
}

/** The provider's authorization URL for this pending sign-in; its state, nonce and verifier recorded on the request. */
export async function beginUpstreamSignIn(
  deps: UpstreamFlowDependencies,
  link: { requestId: string | undefined; csrf: string | undefined; provider: string | undefined },
  browser: Browser,
): Promise<string> {
  const pending = await findPendingAuthorization(deps.db, link.requestId, browser.binding, deps.now());
  checkFormToken(browser.binding, `upstream:${pending.id}`, link.csrf);
  return sendUpstream(deps, pending.id, link.provider);
}

/**
 * From the account page: linking the signed-in user to their account at a provider. A pending
 * request of the account page's own client carries the upstream request, marked as a link for
 * this user; the callback links instead of signing in, and goes back to the account page.
 */
export async function beginUpstreamLink(
  deps: UpstreamFlowDependencies,
  link: { userId: string; provider: string | undefined; accountClient: Client; redirectUri: string },
  browser: Browser,
): Promise<string> {
  const request = {
    client: link.accountClient,
    redirectUri: link.redirectUri,
    redirectUriGiven: true,
    state: undefined,
    scope: ['openid'],
    audience: [deps.issuer],
    nonce: undefined,
    codeChallenge: null,
    prompt: new Set<never>(),
    maxAge: undefined,
    loginHint: undefined,
    acrValues: [],
  };
  const pending = await savePendingAuthorization(deps.db, request, browser.binding, deps.now());
  return sendUpstream(deps, pending.id, link.provider, link.userId);
}

/** The provider's authorization URL for a pending request; its state, nonce and verifier recorded on it. */
async function sendUpstream(deps: UpstreamFlowDependencies, pendingId: string, providerName: string | undefined, linkUserId?: string) {
  const provider = providerName ? await findProviderByName(deps.db, providerName) : undefined;
  if (!provider) throw notFound('identity provider');
  const configuration = await configurationOf(deps, provider);
  const checks = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
  await recordUpstreamRequest(deps.db, pendingId, { providerId: provider.id, ...checks, linkUserId });
  return oidc.buildAuthorizationUrl(configuration, {
    redirect_uri: upstreamCallbackOf(deps.issuer),
    scope: provider.scopes.join(' '),
    state: checks.state,
    nonce: checks.nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(checks.verifier),
    code_challenge_method: 'S256',
  }).href;
}

/**
 * The callback's outcome: signed in (or on to a second factor), linked (back to the account page),
 * or refused with words for the page it came from.
 */
export type UpstreamOutcome =
  | { kind: 'signed-in'; outcome: SignInOutcome }
  | { kind: 'linked' }
  | { kind: 'refused'; pending: AuthorizationRequestRow; error: ApiError };

/**
 * GET /authorize/callback: the pending request this browser sent upstream (taken once, so a
 * replayed callback or one in another browser finds nothing), the provider's answer checked by
 * openid-client, then the account (upstream-accounts.ts) and the same steps as after a password.
 */
export async function finishUpstreamSignIn(
  deps: UpstreamFlowDependencies,
  callback: URL,
  browser: Browser,
  context: RequestContext,
): Promise<UpstreamOutcome> {
  const pending = await takeUpstreamRequest(deps.db, callback.searchParams.get('state') ?? undefined, browser.binding, deps.now()).catch(
    async (error: unknown) => {
      // A callback replayed, opened in another browser, or forged: refused, and on record. Anyone
      // can send one, so the record takes a slot of the sign-ins an address may begin (429 past it).
      await deps.pendingSignIns.spend(context.ipAddress);
      const details = { reason: 'unknown_state' };
      await recordAuditEvent(deps.db, deps, { type: 'upstream_sign_in_refused', ipAddress: context.ipAddress, details });
      throw error;
    },
  );
  const client = await clientOf(deps, pending);
  // A sign-in answers the client, so it is checked against the registration as it is now; a link
  // issues nothing to any client.
  const refused = pending.linkUserId ? undefined : registrationRefusal(client, pending);
  if (refused) return { kind: 'signed-in', outcome: { next: await refuse(deps, pending, refused) } };
  const provider = pending.upstreamProviderId ? await findProviderById(deps.db, pending.upstreamProviderId) : undefined;
  if (!provider) return { kind: 'refused', pending, error: accessDenied('this sign-in option was removed meanwhile: choose another') };
  // The user cancelled or the provider refused (RFC 6749 §4.1.2.1): the client hears so.
  if (callback.searchParams.has('error')) {
    const error = accessDenied(`the sign-in at ${provider.displayName} was cancelled or refused`);
    // A link from the account page has no client to tell: the page says so instead.
    if (pending.linkUserId) return { kind: 'refused', pending, error };
    return { kind: 'signed-in', outcome: { next: await refuse(deps, pending, error) } };
  }
  const audit = { clientId: client.id, ipAddress: context.ipAddress };
  const configuration = await configurationOf(deps, provider);
  const refusedAnswer = async () => {
    const details = { idp: provider.name, reason: 'invalid_response' };
    await recordAuditEvent(deps.db, deps, { type: 'upstream_sign_in_refused', ...audit, details });
    return { kind: 'refused' as const, pending, error: accessDenied(`the answer of ${provider.displayName} could not be verified`) };
  };
  // GitHub has no id token (nor nonce): who the user is comes from its API with the access token.
  const github = provider.kind === 'github';
  const checks = github ? {} : { expectedNonce: pending.upstreamNonce ?? '', idTokenExpected: true };
  let claims: (UpstreamClaims & { amr?: unknown }) | undefined;
  try {
    const tokens = await oidc.authorizationCodeGrant(configuration, callback, {
      pkceCodeVerifier: pending.upstreamVerifier ?? '',
      expectedState: callback.searchParams.get('state') ?? '',
      ...checks,
    });
    claims = github ? await deps.upstream.githubClaims(provider, tokens.access_token) : tokens.claims();
  } catch (error) {
    if (isNetworkFailure(error)) throw new DependencyUnavailableError(`the identity provider ${provider.name}`, { cause: error });
    return refusedAnswer();
  }
  if (!claims) return refusedAnswer();
  try {
    if (pending.linkUserId) {
      await linkUpstreamAccount(deps, provider, claims, pending.linkUserId, audit);
      await finishPendingAuthorization(deps.db, pending.id);
      return { kind: 'linked' };
    }
    const user = await accountForUpstream(deps, provider, claims, audit);
    // RFC 8176 has no value for "signed in elsewhere": `fed`, with `mfa` when the upstream says it did MFA.
    const upstreamMfa = Array.isArray(claims.amr) && claims.amr.includes('mfa');
    const amr = methodsAtProvider(upstreamMfa ? ['fed', 'mfa'] : ['fed'], provider.name);
    return { kind: 'signed-in', outcome: await afterFirstFactor(deps, pending, client, { user, amr }, browser, context) };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'access_denied') return { kind: 'refused', pending, error };
    throw error;
  }
}

async function configurationOf(deps: UpstreamFlowDependencies, provider: Parameters<UpstreamClients['configurationOf']>[0]) {
  return deps.upstream.configurationOf(provider).catch((error: unknown) => {
    throw new DependencyUnavailableError(`the identity provider ${provider.name}`, { cause: error });
  });
}

/** A provider that did not answer (down, slow, unreachable), as opposed to an answer that failed its checks. */
function isNetworkFailure(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  return name === 'AbortError' || name === 'TimeoutError' || (name === 'TypeError' && typeof cause?.code === 'string');
}
