import { describe, expect, it } from 'vitest';
import type { ClientRow } from '../db/schema.js';
import { authenticateClient } from './authenticate-client.js';
import { hashClientSecret } from './client-secret.js';

const now = new Date();
const row = (previousExpiresAt: Date | null): ClientRow => ({
  id: 'billing',
  name: 'billing',
  secretHash: hashClientSecret('new-secret'),
  secretCreatedAt: now,
  previousSecretHash: previousExpiresAt ? hashClientSecret('old-secret') : null,
  previousSecretCreatedAt: previousExpiresAt ? new Date(now.getTime() - 86_400_000) : null,
  previousSecretExpiresAt: previousExpiresAt,
  grantTypes: ['client_credentials'],
  scopes: [],
  audiences: ['https://api'],
  redirectUris: [],
  postLogoutRedirectUris: [],
  firstParty: false,
  pkceRequired: true,
  requireMfa: false,
  singleFactorPasswordGrant: false,
  impersonation: false,
  idTokenAlgorithm: null,
  federated: false,
  jwks: null,
  jwksUri: null,
  createdAt: now,
  updatedAt: now,
});
const directoryOf = (client: ClientRow) => ({ find: async (id: string) => (id === client.id ? client : undefined), forget: () => {} });
const attempt = (client: ClientRow, secret: string) =>
  authenticateClient(directoryOf(client), { authorization: undefined, clientId: 'billing', clientSecret: secret }).then(
    (authenticated) => authenticated.id,
    (error: { code: string }) => error.code,
  );

describe('a client secret during and after a rotation’s overlap', () => {
  it('accepts the replaced secret until its overlap ends, then refuses it like any wrong secret', async () => {
    const during = row(new Date(Date.now() + 60_000));
    expect([await attempt(during, 'new-secret'), await attempt(during, 'old-secret')]).toEqual(['billing', 'billing']);
    const after = row(new Date(Date.now() - 1));
    expect([await attempt(after, 'new-secret'), await attempt(after, 'old-secret')]).toEqual(['billing', 'invalid_client']);
    expect(await attempt(during, 'a-guess')).toBe('invalid_client');
  });

  it('never shows a hash to the rest of the issuer', async () => {
    const client = await authenticateClient(directoryOf(row(new Date(Date.now() + 60_000))), {
      authorization: undefined,
      clientId: 'billing',
      clientSecret: 'old-secret',
    });
    expect(Object.keys(client)).not.toContain('secretHash');
    expect(Object.keys(client)).not.toContain('previousSecretHash');
  });
});
