import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '@token-issuer/verifier';
import { clientToken } from '../support/api-client.js';
import { freePort, startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser, withTestData } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const API = 'https://api.internal';
const PASSWORD = 'a long passphrase for the algorithms';
const KEY_TYPES = { RS256: 'RSA', PS256: 'RSA', ES256: 'EC', EdDSA: 'OKP' } as const;
type Algorithm = keyof typeof KEY_TYPES;

const algorithmOf = (token: string) => decodeProtectedHeader(token).alg;
const jwksOf = async (server: RunningServer) =>
  ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kty: string; alg: string; d?: string }[] }).keys;
const advertised = async (server: RunningServer) =>
  ((await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { id_token_signing_alg_values_supported: string[] })
    .id_token_signing_alg_values_supported;

/**
 * SIGNING_ALGORITHM end to end: a server process per algorithm, its id tokens validated by
 * openid-client and its access tokens by oauth4webapi's RFC 9068 validation and our verifier, each
 * against the served JWKS and metadata only.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl).each(Object.keys(KEY_TYPES) as Algorithm[])('SIGNING_ALGORITHM=%s', (algorithm) => {
  let database: TestDatabase;
  let server: RunningServer;
  let app: ClientCredentials;
  let alice: { id: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await seedClient(database.env, [
      ...['--name', 'app', '--grants', 'password,refresh_token'],
      ...['--scopes', 'openid profile orders:read', '--audiences', API],
    ]);
    alice = await seedUser(database.env, ['--username', 'alice', '--email', 'alice@example.com'], PASSWORD);
    // The issuer is the server's own URL, so that openid-client's discovery checks out exactly.
    const port = await freePort();
    server = await startServer({ ...database.env, ISSUER: `http://127.0.0.1:${port}`, PORT: String(port), SIGNING_ALGORITHM: algorithm });
  });

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('signs id, access and refresh tokens that independent libraries validate', async () => {
    const config = await oidc.discovery(new URL(server.url), app.client_id, app.client_secret, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    expect(config.serverMetadata().id_token_signing_alg_values_supported).toEqual([algorithm]);
    const keys = await jwksOf(server);
    expect(keys).toEqual([expect.objectContaining({ kty: KEY_TYPES[algorithm], alg: algorithm, use: 'sig' })]);
    expect(keys[0]).not.toHaveProperty('d');

    // openid-client checks the id token's signature against the JWKS and its claims.
    const tokens = await oidc.genericGrantRequest(config, 'password', {
      username: 'alice',
      password: PASSWORD,
      scope: 'openid orders:read',
    });
    expect(tokens.claims()).toMatchObject({ sub: alice.id, aud: app.client_id, iss: server.url });
    for (const token of [tokens.id_token!, tokens.access_token]) expect(algorithmOf(token)).toBe(algorithm);
    // Refresh tokens are EdDSA whatever signs the rest, with a key no JWKS holds: even the
    // published Ed25519 key of the EdDSA run does not verify one.
    expect(algorithmOf(tokens.refresh_token!)).toBe('EdDSA');
    const published = createLocalJWKSet({
      keys: keys.map((key): JWK => ({ ...key, kid: decodeProtectedHeader(tokens.refresh_token!).kid })),
    });
    await expect(jwtVerify(tokens.refresh_token!, published)).rejects.toThrow(
      algorithm === 'EdDSA' ? errors.JWSSignatureVerificationFailed : errors.JWKSNoMatchingKey,
    );

    // A resource server: oauth4webapi's RFC 9068 validation, then our verifier with its defaults.
    const request = new Request(`${API}/orders`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(config.serverMetadata(), request, API, {
      [oauth.allowInsecureRequests]: true,
    } as oauth.ValidateJWTAccessTokenOptions);
    expect(claims).toMatchObject({ sub: alice.id, client_id: app.client_id, scope: 'openid orders:read' });
    const verifier = createVerifier({ issuer: server.url, audience: API, jwksUri: `${server.url}/.well-known/jwks.json` });
    await expect(verifier.verify(tokens.access_token)).resolves.toMatchObject({ sub: alice.id });

    // The refresh token rotates.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(algorithmOf(refreshed.access_token)).toBe(algorithm);
    expect(algorithmOf(refreshed.refresh_token!)).toBe('EdDSA');

    // A token whose header names another algorithm than its key's is refused, here and at the issuer.
    const relabel = (token: string, other = algorithmOf(token) === 'RS256' ? 'PS256' : 'RS256') => {
      const [, payload, signature] = token.split('.');
      const header = Buffer.from(JSON.stringify({ ...decodeProtectedHeader(token), alg: other })).toString('base64url');
      return `${header}.${payload}.${signature}`;
    };
    await expect(verifier.verify(relabel(refreshed.access_token))).rejects.toThrow();
    const refused = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: relabel(refreshed.refresh_token!), ...app }),
    });
    expect([refused.status, ((await refused.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
  });
});

/**
 * Changing SIGNING_ALGORITHM is a rotation: an instance started with ES256 beside one with RS256
 * publishes an ES256 key first, both sign with it once it activates, and tokens of both kinds in
 * flight verify until the RS256 ones expire; the RS256 key leaves the JWKS once the longest token
 * it signed has expired.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('changing SIGNING_ALGORITHM from RS256 to ES256', () => {
  const ISSUER = 'http://issuer.test';
  let database: TestDatabase;
  let rsa: RunningServer;
  let ec: RunningServer | undefined;
  let machine: ClientCredentials;
  const env = () => ({ ...database.env, ISSUER, ACCESS_TOKEN_TTL: '12', KEY_ACTIVATION_DELAY: '2', KEYS_REFRESH_INTERVAL: '1' });
  const tokenFrom = async (server: RunningServer) => {
    const { status, body } = await clientToken(server.url, machine);
    expect(status).toBe(200);
    return String(body.access_token);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    machine = await seedClient(database.env, ['--name', 'machine', '--grants', 'client_credentials', '--audiences', API]);
    rsa = await startServer({ ...env(), SIGNING_ALGORITHM: 'RS256' });
  });

  afterAll(async () => {
    await Promise.all([rsa?.stop(), ec?.stop()]);
    await database?.drop();
  });

  it('publishes the new kind first, then signs with it, and accepts both until the old tokens expire', async () => {
    // Its JWKS copy lasts 1 s, shorter than KEY_ACTIVATION_DELAY (2 s here), as 60 s is shorter than 90 s by default.
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: API,
      jwksUri: `${rsa.url}/.well-known/jwks.json`,
      jwksCacheMaxAge: 1,
      clockTolerance: 0,
    });
    const before = await tokenFrom(rsa);
    expect(algorithmOf(before)).toBe('RS256');
    await verifier.verify(before);

    ec = await startServer({ ...env(), SIGNING_ALGORITHM: 'ES256' });
    // Published everywhere at once, signing only after KEY_ACTIVATION_DELAY.
    await expect
      .poll(async () => (await jwksOf(rsa)).map((key) => key.alg).sort(), { timeout: 2_000, interval: 50 })
      .toEqual(['ES256', 'RS256']);
    expect(await advertised(rsa)).toEqual(['ES256', 'RS256']);

    for (const server of [rsa, ec]) {
      await expect.poll(async () => algorithmOf(await tokenFrom(server)), { timeout: 5_000, interval: 100 }).toBe('ES256');
    }
    const after = await tokenFrom(rsa);
    // Both kinds in flight: the verifier accepts each.
    await expect(verifier.verify(before)).resolves.toMatchObject({ clientId: machine.client_id });
    await expect(verifier.verify(after)).resolves.toMatchObject({ clientId: machine.client_id });
    const jwks = createRemoteJWKSet(new URL(`${ec.url}/.well-known/jwks.json`));
    await jwtVerify(before, jwks, { issuer: ISSUER, audience: API });

    // The RS256 token expires (ACCESS_TOKEN_TTL 12 s); the ES256 ones keep coming and verifying.
    await expect
      .poll(
        () =>
          verifier.verify(before).then(
            () => 'accepted',
            (error: Error) => error.message,
          ),
        { timeout: 15_000, interval: 250 },
      )
      .not.toBe('accepted');
    await expect(verifier.verify(await tokenFrom(ec))).resolves.toMatchObject({ clientId: machine.client_id });

    // Once the longest token the RS256 key signed is past (shown by moving its retirement back),
    // only the new kind is published and advertised.
    await withTestData(database.env, ({ db }) =>
      db.execute(sql`update signing_keys set retired_at = retired_at - interval '1 hour' where algorithm = 'RS256'`),
    );
    for (const server of [rsa, ec]) {
      await expect.poll(async () => (await jwksOf(server)).map((key) => key.alg), { timeout: 3_000, interval: 100 }).toEqual(['ES256']);
      expect(await advertised(server)).toEqual(['ES256']);
    }
  });
});
