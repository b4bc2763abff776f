import { actorsOf, API_KEY_TOKEN_TYPE, revocationFacts } from '@token-issuer/verifier';
import { recordAuditEvent } from '../audit/audit-log.js';
import type { Client } from '../clients/client-registry.js';
import { parseScope } from '../clients/scope.js';
import { invalidRequest, invalidScope } from '../errors.js';
import type { TokenParams } from '../request-parameters.js';
import { identifyOwnToken, type OwnToken } from '../tokens/identify-own-token.js';
import { epochSeconds, mintAccessToken } from '../tokens/access-token.js';
import { scopesAllowedForRoles } from '../users/roles.js';
import { activeUser } from '../users/user-directory.js';
import { exchangeApiKey } from './api-key-exchange.js';
import {
  ACCESS_TOKEN_TYPE,
  allowedTarget,
  checkRequestedTokenType,
  exchangeResponse,
  requestedTarget,
  subjectOf,
} from './exchange-request.js';
import type { Grant, GrantDependencies } from './grant.js';
import { TOKEN_EXCHANGE_GRANT } from './grant-types.js';

/** Claims of the subject token that say how and where the user signed in: kept down the chain. */
const CARRIED_CLAIMS = ['sid', 'auth_time', 'amr', 'acr', 'idp'] as const;

/**
 * OAuth 2.0 Token Exchange (RFC 8693) for clients registered for it: a service that received a
 * user's token gets one for the next service it calls, for the same user. Delegation by default:
 * the new token's `act` names the acting client above the chain so far (§4.1), so the last service
 * sees everyone who acted; a client registered for impersonation adds no `act`. Never an escalation:
 * the scope is at most the subject's and the client's, the audience one the client is registered
 * for, the life at most what the subject has left, the chain at most TOKEN_EXCHANGE_MAX_CHAIN long.
 * The `sid` is kept, so ending the session (or revoking the key it came from) reaches every token
 * down the chain. An API key as the subject needs no client (grants/api-key-exchange.ts).
 */
export const tokenExchangeGrant: Grant = {
  grantType: TOKEN_EXCHANGE_GRANT,
  withoutClient(params) {
    // The key is the credential: the request is the key's own.
    return params.get('subject_token_type') === API_KEY_TOKEN_TYPE ? (deps, request) => exchangeApiKey(params, deps, request) : undefined;
  },
  async handle(params, client, deps, request) {
    const presented = subjectOf(params);
    checkRequestedTokenType(params);
    const target = allowedTarget(requestedTarget(params), client.audiences);
    if (presented.type !== ACCESS_TOKEN_TYPE) {
      throw invalidRequest(`this issuer exchanges access tokens (subject_token_type ${ACCESS_TOKEN_TYPE}) and API keys`);
    }
    const subject = await liveAccessToken(deps, presented.token, 'subject_token');
    const actor = await actorOf(deps, params, client);

    // RFC 8693 §4.4: a subject token that names who may act for it is exchanged by that party only.
    const mayAct = subject.claims.may_act as { sub?: unknown } | undefined;
    if (mayAct !== undefined && (typeof mayAct !== 'object' || mayAct === null || mayAct.sub !== actor)) {
      throw invalidRequest('the subject token does not allow this party to act for it (may_act)');
    }

    const act = client.impersonation ? subject.claims.act : { sub: actor, ...(subject.claims.act ? { act: subject.claims.act } : {}) };
    const chain = act === undefined ? [] : actorsOf({ act });
    if (chain.length > deps.tokenExchange.maxChain) {
      throw invalidRequest(`the delegation chain would be longer than ${deps.tokenExchange.maxChain} (TOKEN_EXCHANGE_MAX_CHAIN)`);
    }

    const user = await subjectUser(deps, subject);
    const scope = exchangedScope(params.get('scope'), subject, client, user?.roles);

    const carried = Object.fromEntries(
      CARRIED_CLAIMS.filter((name) => subject.claims[name] !== undefined).map((name) => [name, subject.claims[name]]),
    );
    const minted = await mintAccessToken(deps.signer, {
      subject: subject.claims.sub,
      clientId: client.id,
      audience: target,
      scope,
      extra: { ...(user ? { roles: user.roles } : {}), ...carried, ...(act === undefined ? {} : { act }) },
      expiresNoLaterThan: subject.claims.exp,
    });
    await recordAuditEvent(deps.db, deps, {
      type: 'token_exchanged',
      ...(user ? { userId: user.id } : {}),
      clientId: client.id,
      ipAddress: request.ipAddress,
      details: { subject: subject.claims.sub, actors: chain, audience: target, scope, subject_token_type: 'access_token' },
    });
    return exchangeResponse(minted, scope);
  },
};

/**
 * One of this issuer's access tokens, unexpired and unrevoked. A refresh token, an id token or
 * anything else is refused: only what a resource server receives can be exchanged.
 */
async function liveAccessToken(deps: GrantDependencies, token: string, parameter: string): Promise<OwnToken> {
  const own = await identifyOwnToken(deps.signer.keyRing, deps.signer.issuer, token);
  if (own?.kind === 'refresh_token') throw invalidRequest(`the ${parameter} is a refresh token: only access tokens are exchanged`);
  if (!own) throw invalidRequest(`the ${parameter} is invalid, expired or revoked`);
  // Seconds from its end there is nothing left to hand on (the new token's iat may be a second ahead).
  const expiring = own.claims.exp <= epochSeconds(deps.signer.now()) + 1;
  if (expiring || (await deps.denylist.refusal(revocationFacts(own.claims, own.kid)))) {
    throw invalidRequest(`the ${parameter} is invalid, expired or revoked`);
  }
  return own;
}

/**
 * The user the subject token is about, as they are now; undefined for a machine client's own token.
 * After an exchange `sub` and `client_id` differ for a machine subject too, so `sub` is looked up:
 * a user who is no longer active, or a client that no longer exists, ends the chain.
 */
async function subjectUser(deps: GrantDependencies, subject: OwnToken) {
  const { sub } = subject.claims;
  const user = sub === subject.claims.client_id ? undefined : await activeUser(deps.db, sub);
  if (user || (await deps.clients.find(sub))) return user;
  throw invalidRequest('the subject token is invalid, expired or revoked');
}

/**
 * Who acts (RFC 8693 §1.1): the authenticated client, or the subject of `actor_token`, which must
 * be a live access token issued to that same client (a client cannot name someone else's identity).
 */
async function actorOf(deps: GrantDependencies, params: TokenParams, client: Client): Promise<string> {
  const token = params.get('actor_token');
  const type = params.get('actor_token_type');
  if (token === undefined && type === undefined) return client.id;
  // RFC 8693 §2.1: actor_token_type is required with actor_token and must not come without it.
  if (!token || type !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest(`actor_token comes with actor_token_type ${ACCESS_TOKEN_TYPE}, and only with it`);
  }
  const actor = await liveAccessToken(deps, token, 'actor_token');
  if (actor.claims.client_id !== client.id) throw invalidRequest('the actor_token was not issued to this client');
  return actor.claims.sub;
}

/**
 * The scope asked for (all the subject has, by default), never wider than the subject's, the
 * client's or, for a user, what their roles allow now (RFC 8693 §2.1, RFC 6749 §3.3).
 */
function exchangedScope(requested: string | undefined, subject: OwnToken, client: Client, roles: string[] | undefined): string[] {
  const held = typeof subject.claims.scope === 'string' ? subject.claims.scope.split(' ').filter(Boolean) : [];
  const permitted = held.filter((scope) => client.scopes.includes(scope));
  const allowed = roles ? scopesAllowedForRoles(permitted, roles) : permitted;
  if (requested === undefined) return allowed;
  const scopes = parseScope(requested);
  if (!scopes || scopes.length === 0) throw invalidScope('the scope parameter is malformed');
  const refused = scopes.filter((scope) => !allowed.includes(scope));
  if (refused.length > 0) throw invalidScope(`scope wider than the subject token's or this client's: ${refused.join(' ')}`);
  return scopes;
}
