import { count } from 'drizzle-orm';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/clients/client-registry.js';
import { refreshTokenFamilies } from '../src/db/schema.js';
import type { SigningAlgorithm } from '../src/keys/signing-key.js';
import { registerUser } from '../src/users/accounts.js';
import { createInProcessApp, passwordSignIn, type InProcessApp } from './support/in-process-app.js';

const PASSWORD = 'a passphrase long enough to pass';
const ISSUER = 'http://issuer.test';

/** A client's id_token_signed_response_alg (OpenID Connect Registration §2) against an issuer signing ES256. */
describe('id_token_signed_response_alg', () => {
  let harness: InProcessApp;
  const clientWith = async (idTokenAlgorithm: SigningAlgorithm | null) => {
    const created = await createClient(harness.database.db, {
      name: `app ${idTokenAlgorithm}`,
      grantTypes: ['password', 'refresh_token'],
      scopes: ['openid'],
      audiences: ['https://api.test'],
      redirectUris: [],
      idTokenAlgorithm,
    });
    return { id: created.id, secret: created.secret! };
  };
  const sessions = async () => (await harness.database.db.select({ n: count() }).from(refreshTokenFamilies))[0]!.n;

  beforeAll(async () => {
    harness = await createInProcessApp({ issuer: ISSUER, env: { SIGNING_ALGORITHM: 'ES256' } });
    await registerUser(harness.accounts, { username: 'alice', email: 'alice@example.com' }, PASSWORD);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('signs the id token with the algorithm the client asked for, when a key of it signs', async () => {
    const response = await passwordSignIn(harness, await clientWith('ES256'), { username: 'alice', password: PASSWORD, scope: 'openid' });
    expect(response.status).toBe(200);
    const { id_token: idToken } = (await response.json()) as { id_token: string };
    expect(decodeProtectedHeader(idToken).alg).toBe('ES256');
  });

  it('refuses a client asking for an algorithm no key signs with, before anything is started', async () => {
    const before = await sessions();
    const response = await passwordSignIn(harness, await clientWith('RS256'), { username: 'alice', password: PASSWORD, scope: 'openid' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'unauthorized_client', error_description: expect.stringContaining('RS256') });
    expect(await sessions()).toBe(before);
  });

  it('is refused at registration when it is no signing algorithm of ours', async () => {
    await expect(clientWith('HS256' as SigningAlgorithm)).rejects.toThrow(/id token algorithm is one of RS256, PS256, ES256, EdDSA/);
  });

  it('is registered, shown, changed and removed through the admin API', async () => {
    const console = await createClient(harness.database.db, {
      name: 'console',
      grantTypes: ['password'],
      scopes: ['admin'],
      audiences: [ISSUER],
    });
    await registerUser(harness.accounts, { username: 'root', email: 'root@example.com', roles: ['admin', 'user'] }, PASSWORD);
    const signIn = await passwordSignIn(
      harness,
      { id: console.id, secret: console.secret! },
      { username: 'root', password: PASSWORD, scope: 'admin' },
    );
    const admin = ((await signIn.json()) as { access_token: string }).access_token;
    const call = async (method: string, path: string, body: unknown) => {
      const response = await harness.app.request(path, {
        method,
        headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    const created = await call('POST', '/admin/clients', {
      name: 'rp',
      grant_types: ['password'],
      scopes: ['openid'],
      audiences: ['https://api.test'],
      id_token_signed_response_alg: 'EdDSA',
    });
    expect(created).toMatchObject({ status: 201, body: { id_token_signed_response_alg: 'EdDSA' } });
    const path = `/admin/clients/${String(created.body.client_id)}`;
    expect(await call('PATCH', path, { id_token_signed_response_alg: 'PS256' })).toMatchObject({
      status: 200,
      body: { id_token_signed_response_alg: 'PS256' },
    });
    expect(await call('PATCH', path, { id_token_signed_response_alg: null })).toMatchObject({
      status: 200,
      body: { id_token_signed_response_alg: null },
    });
    const refused = await call('PATCH', path, { id_token_signed_response_alg: 'none' });
    expect(refused.status).toBe(400);
    expect((await call('GET', path, undefined)).body.id_token_signed_response_alg).toBeNull();
  });
});
