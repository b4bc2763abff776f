import type { Client } from './clients/client-registry.js';
import type { ApiKeyRow, FederatedIdentityRow, TrustedIssuerRow } from './db/schema.js';
import type { FactorSummary } from './factors/second-factors.js';
import { releasedBy } from './tokens/user-claims.js';
import type { User } from './users/user-store.js';

/** A user as the HTTP API shows it: never the password hash. */
export function userJson(user: User) {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    full_name: user.fullName,
    roles: user.roles,
    is_active: user.isActive,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
    password_changed_at: user.passwordChangedAt.toISOString(),
  };
}

/**
 * The caller's own account at /me: its name and email only with `profile` and `email`, as at
 * /userinfo (OpenID Connect Core §5.4), whoever the client is.
 */
export function accountJson(user: User, scope: readonly string[]) {
  const { username, full_name, email, ...account } = userJson(user);
  const released = releasedBy(scope);
  return { ...account, ...(released.profile ? { username, full_name } : {}), ...(released.email ? { email } : {}) };
}

/** A client as the HTTP API and the CLI show it: never the secret or its hash. */
export function clientJson(client: Client) {
  return {
    client_id: client.id,
    name: client.name,
    public: client.isPublic,
    grant_types: client.grantTypes,
    scopes: client.scopes,
    audiences: client.audiences,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    first_party: client.firstParty,
    pkce_required: client.pkceRequired,
    require_mfa: client.requireMfa,
    single_factor_password_grant: client.singleFactorPasswordGrant,
    impersonation: client.impersonation,
    id_token_signed_response_alg: client.idTokenAlgorithm,
    auth_methods: client.authMethods,
    // How many secrets work now and how old they are, never a value (a rotation's overlap: two).
    secrets: secretsOf(client),
    ...(client.jwks ? { jwks: client.jwks } : {}),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
  };
}

function secretsOf(client: Client) {
  if (!client.authMethods.includes('client_secret')) return [];
  const secrets = [{ created_at: client.secretCreatedAt?.toISOString() ?? null, expires_at: null as string | null }];
  const { previousSecretCreatedAt: created, previousSecretExpiresAt: expires } = client;
  if (expires && expires.getTime() > Date.now())
    secrets.push({ created_at: created?.toISOString() ?? null, expires_at: expires.toISOString() });
  return secrets;
}

/** A trusted issuer as the admin API and the CLI show it, with the bindings to its workloads. */
export function trustedIssuerJson(issuer: TrustedIssuerRow, bindings: FederatedIdentityRow[]) {
  return {
    id: issuer.id,
    issuer: issuer.issuer,
    audience: issuer.audience,
    max_token_age_seconds: issuer.maxTokenAgeSeconds,
    ...(issuer.jwksUri ? { jwks_uri: issuer.jwksUri } : { jwks: issuer.jwks }),
    bindings: bindings.filter((binding) => binding.issuer === issuer.issuer).map(bindingJson),
    created_at: issuer.createdAt.toISOString(),
  };
}

export function bindingJson(binding: FederatedIdentityRow) {
  return {
    id: binding.id,
    client_id: binding.clientId,
    issuer: binding.issuer,
    ...(binding.subject === null ? {} : { subject: binding.subject }),
    claims: binding.claims,
    created_at: binding.createdAt.toISOString(),
  };
}

/** A second factor as the account and admin APIs show it: never its secret. */
export function factorJson(factor: FactorSummary) {
  return {
    id: factor.id,
    kind: factor.kind,
    name: factor.name,
    created_at: factor.createdAt.toISOString(),
    last_used_at: factor.lastUsedAt?.toISOString() ?? null,
  };
}

/** A user's sign-in methods: the factors, and how many recovery codes are left unused. */
export function factorsJson(described: { factors: FactorSummary[]; recoveryCodesLeft: number }) {
  return { factors: described.factors.map(factorJson), recovery_codes_left: described.recoveryCodesLeft };
}

/** An API key as the account API, the admin API and the CLI show it: never the key, never its hash. */
export function apiKeyJson(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    ...(row.userId ? { user_id: row.userId } : {}),
    ...(row.clientId ? { client_id: row.clientId } : {}),
    scopes: row.scopes,
    audiences: row.audiences,
    created_at: row.createdAt.toISOString(),
    created_by: row.createdBy,
    expires_at: row.expiresAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
  };
}
