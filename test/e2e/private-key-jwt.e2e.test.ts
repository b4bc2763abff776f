import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '@token-issuer/verifier';
import { freePort, startServer, type RunningServer } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const API = 'https://reports.test';

/**
 * A machine client without a secret, as a real, independent relying party (openid-client) signs
 * in with private_key_jwt, and an assertion replayed at a second issuer instance sharing Redis.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('private_key_jwt with openid-client, across two instances', () => {
  let database: TestDatabase;
  let issuer: string;
  let first: RunningServer;
  let second: RunningServer;
  let privateKey: CryptoKey;
  let clientId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const keys = await generateKeyPair('ES256');
    privateKey = keys.privateKey;
    const jwks = { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'reports-1', alg: 'ES256' }] };
    const client = await seedClient(database.env, [
      '--name',
      'reports',
      '--grants',
      'client_credentials',
      '--scopes',
      'reports:read',
      '--audiences',
      API,
      '--auth-methods',
      'private_key_jwt',
      '--jwks',
      JSON.stringify(jwks),
    ]);
    expect(client.client_secret).toBeUndefined();
    clientId = client.client_id;
    // The issuer is the first instance's own URL, so that discovery from it checks out exactly.
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    [first, second] = await Promise.all([
      startServer({ ...database.env, ISSUER: issuer, PORT: String(port) }),
      startServer({ ...database.env, ISSUER: issuer }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await database?.drop();
  });

  it('gets a token through openid-client’s PrivateKeyJwt client authentication, which the verifier accepts', async () => {
    const config = await oidc.discovery(new URL(issuer), clientId, {}, oidc.PrivateKeyJwt(privateKey), {
      execute: [oidc.allowInsecureRequests],
    });
    expect(config.serverMetadata().token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'reports:read' });
    const verifier = createVerifier({ issuer, audience: API });
    await expect(verifier.verify(tokens.access_token)).resolves.toMatchObject({ sub: clientId, scope: ['reports:read'] });
  });

  it('refuses an assertion replayed at the other instance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ jti: randomBytes(12).toString('hex') })
      .setProtectedHeader({ alg: 'ES256', kid: 'reports-1' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(`${issuer}/token`)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(privateKey);
    const present = (server: RunningServer) =>
      fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      }).then(async (response) => [response.status, ((await response.json()) as { error?: string }).error ?? 'issued']);
    expect(await present(first)).toEqual([200, 'issued']);
    expect(await present(second)).toEqual([401, 'invalid_client']);
  });
});
