// The issuer's own account page (/account) is an ordinary client of the issuer: a first-party,
// public client that signs its user in with the authorization code flow and PKCE, registered the
// first time the page is used. Operators see it among the clients; removing it only makes the page
// register it again.
import type { Database } from '../db/database.js';
import { ACCOUNT_SCOPE } from '../tokens/issuer-resources.js';
import type { ClientDirectory } from './client-directory.js';
import { withoutSecret, type Client } from './client-registry.js';
import { insertClient } from './client-store.js';

export const ACCOUNT_CLIENT_ID = 'token-issuer-account';

export const accountCallbackOf = (issuer: string) => `${issuer}/account/callback`;

/** The account page's client, registered now if it is not yet (two instances at once: one insert wins). */
export async function ensureAccountClient(db: Database, clients: ClientDirectory, issuer: string): Promise<Client> {
  const existing = await clients.find(ACCOUNT_CLIENT_ID);
  if (existing) return withoutSecret(existing);
  // Written as the issuer's own: its redirect URI is the issuer's, whatever scheme ISSUER has
  // (the registration rules ask a client for https, which a development issuer on http lacks).
  await insertClient(
    db,
    {
      id: ACCOUNT_CLIENT_ID,
      name: 'Account',
      secretHash: null,
      grantTypes: ['authorization_code'],
      scopes: ['openid', 'profile', 'email', ACCOUNT_SCOPE],
      audiences: [issuer],
      redirectUris: [accountCallbackOf(issuer)],
      postLogoutRedirectUris: [],
      firstParty: true,
      pkceRequired: true,
      requireMfa: false,
      singleFactorPasswordGrant: false,
      impersonation: false,
      idTokenAlgorithm: null,
      jwks: null,
      jwksUri: null,
      federated: false,
    },
    { ifAbsent: true },
  );
  clients.forget(ACCOUNT_CLIENT_ID);
  const row = await clients.find(ACCOUNT_CLIENT_ID);
  if (!row) throw new Error('the account page could not register its client');
  return withoutSecret(row);
}
