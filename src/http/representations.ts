import type { Client } from '../clients/client-registry.js';
import type { User } from '../users/user-store.js';

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
