import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '@token-issuer/verifier';
import { freePort, startServer, type RunningServer } from '../support/processes.js';
import { federationChange, seedClient, withTestData } from '../support/seed.js';
import { serviceAccountClaims, startWorkloadIssuer, type WorkloadIssuer } from '../support/workload-issuer.js';
import { addTrustedIssuer, bindWorkload } from '../../src/federation/trusted-issuers.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const API = 'https://reports.test';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const present = (server: RunningServer, assertion: string) =>
  fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }),
  }).then(async (response) => [response.status, ((await response.json()) as { error?: string }).error ?? 'issued']);

/**
 * Machine clients without a secret: a real, independent relying party (openid-client) signs in
 * with private_key_jwt, and an assertion, or a workload's platform token, replayed at a second
 * issuer instance sharing Redis is refused.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('client assertions with openid-client, across two instances', () => {
  let database: TestDatabase;
  let issuer: string;
  let first: RunningServer;
  let second: RunningServer;
  let privateKey: CryptoKey;
  let clientId: string;
  let cluster: WorkloadIssuer;
  let federatedClientId: string;

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
    cluster = await startWorkloadIssuer();
    const federated = await seedClient(database.env, [
      ...['--name', 'billing', '--grants', 'client_credentials', '--scopes', 'invoices:read', '--audiences', API],
      ...['--auth-methods', 'federation'],
    ]);
    federatedClientId = federated.client_id;
    await withTestData(database.env, async (context) => {
      const change = federationChange(context);
      await addTrustedIssuer(change, { issuer: cluster.issuer, jwksUri: `${cluster.issuer}/openid/v1/jwks`, audience: 'token-issuer' });
      await bindWorkload(change, { clientId: federatedClientId, issuer: cluster.issuer, subject: 'system:serviceaccount:billing:api' });
    });
    // The issuer is the first instance's own URL, so that discovery from it checks out exactly.
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    [first, second] = await Promise.all([
      startServer({ ...database.env, ISSUER: issuer, PORT: String(port) }),
      startServer({ ...database.env, ISSUER: issuer }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop(), cluster?.close()]);
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
    expect(await present(first, assertion)).toEqual([200, 'issued']);
    expect(await present(second, assertion)).toEqual([401, 'invalid_client']);
  });

  it('gives a bound workload a token for its client, once: its platform token replayed at the other instance fails', async () => {
    const platformToken = await cluster.mint(serviceAccountClaims('billing', 'api', 'token-issuer'));
    const [atFirst, atSecond] = await Promise.all([present(first, platformToken), present(second, platformToken)]);
    // Sent to both at once: exactly one instance accepts it.
    expect([atFirst, atSecond].sort()).toEqual([
      [200, 'issued'],
      [401, 'invalid_client'],
    ]);
    const fresh = await cluster.mint(serviceAccountClaims('billing', 'api', 'token-issuer'));
    const response = await fetch(`${second.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: fresh }),
    });
    const { access_token } = (await response.json()) as { access_token: string };
    const verifier = createVerifier({ issuer, audience: API });
    await expect(verifier.verify(access_token)).resolves.toMatchObject({ sub: federatedClientId, scope: ['invoices:read'] });
  });
});
