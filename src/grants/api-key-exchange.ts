import { findLiveApiKey } from '../api-keys/api-keys.js';
import { recordApiKeyUse, registeredAudiences } from '../api-keys/api-key-store.js';
import { recordAuditEvent } from '../audit/audit-log.js';
import { withoutSecret } from '../clients/client.js';
import { resolveRequestedScope } from '../clients/requested-scope.js';
import type { ApiKeyRow } from '../db/schema.js';
import { invalidRequest } from '../errors.js';
import type { TokenParams } from '../request-parameters.js';
import type { RequestContext } from '../sessions/refresh-sessions.js';
import { epochSeconds, mintAccessToken } from '../tokens/access-token.js';
import type { TokenResponse } from '../tokens/user-tokens.js';
import { scopesAllowedForRoles } from '../users/roles.js';
import { activeUser } from '../users/user-directory.js';
import { allowedTarget, checkRequestedTokenType, exchangeResponse, requestedTarget, subjectOf } from './exchange-request.js';
import type { GrantDependencies } from './grant.js';

/** Same words for every refused key: the caller learns nothing about which check failed. */
const REFUSED = 'the API key is invalid, expired or revoked';

/** What a key may do now: its own scopes and audiences, within what its owner may hold now. */
interface KeyGrant {
  key: ApiKeyRow;
  subject: string;
  clientId: string;
  scopes: string[];
  audiences: string[];
  roles?: string[];
}

/**
 * An API key exchanged for an access token (RFC 8693 with our own subject_token_type): the key is
 * the credential, so no client authenticates. The token is for the key's owner, with at most the
 * key's scopes and audiences as the owner may hold them now (a demoted user's key narrows, a
 * disabled user's or deleted client's dies), for at most ACCESS_TOKEN_TTL and never past the key's
 * expiry. Its `sid` is the key's id: revoking the key is one cut-off that reaches every token made
 * from it. Refused keys are audited and count against the caller's address (429 past the limit).
 */
export async function exchangeApiKey(params: TokenParams, deps: GrantDependencies, request: RequestContext): Promise<TokenResponse> {
  const presented = subjectOf(params);
  checkRequestedTokenType(params);
  if (params.get('actor_token') !== undefined || params.get('actor_token_type') !== undefined) {
    throw invalidRequest('an API key is exchanged on its own, without an actor_token');
  }
  const target = requestedTarget(params);
  const now = deps.signer.now();
  const grant = await whatKeyGrants(deps, presented.token, now);
  if (!grant) {
    await deps.tokenExchange.apiKeyRefusals.spend(request.ipAddress);
    await recordAuditEvent(deps.db, deps, { type: 'api_key_refused', ipAddress: request.ipAddress });
    throw invalidRequest(REFUSED);
  }
  const scope = resolveRequestedScope(params.get('scope'), grant.scopes);
  const audience = allowedTarget(target, grant.audiences);
  const minted = await mintAccessToken(deps.signer, {
    subject: grant.subject,
    clientId: grant.clientId,
    audience,
    scope,
    extra: { sid: grant.key.id, ...(grant.roles ? { roles: grant.roles } : {}) },
    expiresNoLaterThan: epochSeconds(grant.key.expiresAt),
  });
  const owner = {
    ...(grant.key.userId ? { userId: grant.key.userId } : {}),
    ...(grant.key.clientId ? { clientId: grant.key.clientId } : {}),
  };
  if (await recordApiKeyUse(deps.db, grant.key, now)) {
    await recordAuditEvent(deps.db, deps, {
      type: 'api_key_first_used',
      ...owner,
      ipAddress: request.ipAddress,
      details: { key_id: grant.key.id },
    });
  }
  await recordAuditEvent(deps.db, deps, {
    type: 'token_exchanged',
    ...owner,
    ipAddress: request.ipAddress,
    details: { subject: grant.subject, actors: [], audience, scope, subject_token_type: 'api_key', key_id: grant.key.id },
  });
  return exchangeResponse(minted, scope);
}

/** The live key, narrowed to what its owner may hold now; undefined when the key or its owner is gone. */
async function whatKeyGrants(deps: GrantDependencies, presented: string, now: Date): Promise<KeyGrant | undefined> {
  const key = await findLiveApiKey(deps, presented, now);
  if (!key) return undefined;
  if (key.clientId !== null) {
    const row = await deps.clients.find(key.clientId);
    if (!row) return undefined;
    const client = withoutSecret(row);
    return {
      key,
      subject: client.id,
      clientId: client.id,
      scopes: key.scopes.filter((scope) => client.scopes.includes(scope)),
      audiences: key.audiences.filter((audience) => client.audiences.includes(audience)),
    };
  }
  const [user, registered] = await Promise.all([activeUser(deps.db, key.userId!), registeredAudiences(deps.db)]);
  if (!user) return undefined;
  return {
    key,
    subject: user.id,
    // A user's key is its own client: tokens made from it name the key, and no registered client.
    clientId: key.id,
    scopes: scopesAllowedForRoles(key.scopes, user.roles),
    audiences: key.audiences.filter((audience) => registered.includes(audience)),
    roles: user.roles,
  };
}
