import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerHarness, type ClientCredentials } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { basicAuth, post, type TokenResult } from '../support/oauth-client.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';
import { createClient } from '../../src/clients/client-registry.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { accountDependenciesFrom, registerUser } from '../../src/users/accounts.js';
import { createVerifier } from '@token-issuer/verifier';
import type { VerificationError } from '@token-issuer/verifier';

const ISSUER = 'http://issuer.test';
const API = 'https://api.internal';
const PASSWORD = 'a long and quiet passphrase';
const INACTIVE = { active: false };

let database: TestDatabase;
let harness: ServerHarness;
let app: ClientCredentials;
let other: ClientCredentials;
let resourceServer: ClientCredentials;
let spa: { client_id: string };
const userIds: Record<string, string> = {};

async function signIn(username: string, client: ClientCredentials = app): Promise<TokenResult> {
  const result = await post(
    `${harness.url}/token`,
    { grant_type: 'password', username, password: PASSWORD, scope: 'openid profile account orders:read' },
    {
      headers: { Authorization: basicAuth(client), 'User-Agent': `test-agent/${username}` },
    },
  );
  expect(result.status).toBe(200);
  return result;
}

const accessOf = (result: TokenResult) => result.body.access_token as string;
const refreshOf = (result: TokenResult) => result.body.refresh_token as string;
const revoke = (token: string, client: ClientCredentials = app, extra: Record<string, string> = {}) =>
  post(`${harness.url}/revoke`, { token, ...extra }, { headers: { Authorization: basicAuth(client) } });
const introspect = async (token: string) => {
  const result = await post(`${harness.url}/introspect`, { token }, { headers: { Authorization: basicAuth(resourceServer) } });
  expect(result.status).toBe(200);
  return result.body;
};
const refresh = (token: string, client: ClientCredentials = app) =>
  post(`${harness.url}/token`, { grant_type: 'refresh_token', refresh_token: token }, { headers: { Authorization: basicAuth(client) } });
const withBearer = (method: string, path: string, token: string, body?: string) =>
  fetch(`${harness.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body,
  });

beforeAll(async () => {
  database = await createTestDatabase();
  const env = database.env;
  // First-party apps may get tokens for the issuer's own account endpoints (/me, /logout).
  const user = ['--grants', 'password,refresh_token', '--scopes', 'openid profile account orders:read', '--audiences', `${API},${ISSUER}`];
  app = await seedClient(env, ['--name', 'app', ...user]);
  other = await seedClient(env, ['--name', 'other', ...user]);
  spa = await seedClient(env, ['--name', 'spa', '--public', ...user]);
  resourceServer = await seedClient(env, [
    '--name',
    'orders-api',
    '--grants',
    'client_credentials',
    '--scopes',
    'introspect',
    '--audiences',
    ISSUER,
  ]);
  for (const username of ['ann', 'ben', 'cat', 'dan']) {
    userIds[username] = (await seedUser(env, ['--username', username, '--email', `${username}@example.com`], PASSWORD)).id;
  }
  harness = await ServerHarness.start({ ...env, ISSUER });
});

afterAll(async () => {
  await harness?.stop();
  await database?.drop();
});

describe('POST /introspect (RFC 7662)', () => {
  it('describes an active access token with every field', async () => {
    const tokens = await signIn('ann');
    const body = await introspect(accessOf(tokens));
    expect(body).toEqual({
      active: true,
      scope: 'openid profile account orders:read',
      client_id: app.client_id,
      sub: userIds.ann,
      username: 'ann',
      token_type: 'access_token',
      exp: expect.any(Number),
      iat: expect.any(Number),
      nbf: expect.any(Number),
      aud: [API, ISSUER, `${ISSUER}/userinfo`],
      iss: ISSUER,
      jti: expect.any(String),
    });
  });

  it('describes an active refresh token, and a client_credentials token without a username', async () => {
    const tokens = await signIn('ann');
    expect(await introspect(refreshOf(tokens))).toMatchObject({ active: true, token_type: 'refresh_token', aud: ISSUER, username: 'ann' });
    const machine = await post(
      `${harness.url}/token`,
      { grant_type: 'client_credentials' },
      { headers: { Authorization: basicAuth(resourceServer) } },
    );
    const body = await introspect(accessOf(machine));
    expect(body).toMatchObject({ active: true, sub: resourceServer.client_id, token_type: 'access_token' });
    expect(body).not.toHaveProperty('username');
  });

  it.each([
    ['garbage', async () => 'garbage'],
    [
      'a spent refresh token',
      async () => {
        const tokens = await signIn('ann');
        await refresh(refreshOf(tokens));
        return refreshOf(tokens);
      },
    ],
    ['an id token', async () => (await signIn('ann')).body.id_token as string],
    [
      'a token signed by an unknown key',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT({ client_id: app.client_id, scope: 'openid' })
          .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'unknown-kid' })
          .setIssuer(ISSUER)
          .setSubject(userIds.ann!)
          .setAudience(API)
          .setIssuedAt()
          .setExpirationTime('5m')
          .setJti('forged')
          .sign(privateKey);
      },
    ],
    [
      'an expired token',
      async () => {
        const tokens = await signIn('ann');
        const [header, payload, signature] = accessOf(tokens).split('.');
        const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
        return `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: 1 })).toString('base64url')}.${signature}`;
      },
    ],
  ])('answers exactly {"active": false} for %s', async (_name, make) => {
    expect(await introspect(await make())).toEqual(INACTIVE);
  });

  it('needs an authenticated confidential client, or a bearer token with the introspect scope', async () => {
    const tokens = await signIn('ann');
    const none = await post(`${harness.url}/introspect`, { token: accessOf(tokens) });
    expect([none.status, none.body.error]).toEqual([401, 'invalid_client']);
    const publicClient = await post(`${harness.url}/introspect`, { token: accessOf(tokens), client_id: spa.client_id });
    expect([publicClient.status, publicClient.body.error]).toEqual([401, 'invalid_client']);
    const wrongSecret = await post(
      `${harness.url}/introspect`,
      { token: accessOf(tokens) },
      {
        headers: { Authorization: basicAuth({ ...resourceServer, client_secret: 'nope' }) },
      },
    );
    expect(wrongSecret.status).toBe(401);

    const machine = await post(
      `${harness.url}/token`,
      { grant_type: 'client_credentials', scope: 'introspect' },
      {
        headers: { Authorization: basicAuth(resourceServer) },
      },
    );
    const byBearer = await post(
      `${harness.url}/introspect`,
      { token: accessOf(tokens) },
      { headers: { Authorization: `Bearer ${accessOf(machine)}` } },
    );
    expect(byBearer.body.active).toBe(true);
    const withoutScope = await post(
      `${harness.url}/introspect`,
      { token: accessOf(tokens) },
      { headers: { Authorization: `Bearer ${accessOf(tokens)}` } },
    );
    expect([withoutScope.status, withoutScope.body.error]).toEqual([403, 'insufficient_scope']);
  });
});

describe('POST /revoke (RFC 7009)', () => {
  it("revokes an access token: introspection and the issuer's own endpoints refuse it", async () => {
    const tokens = await signIn('ben');
    const result = await revoke(accessOf(tokens), app, { token_type_hint: 'access_token' });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({});
    expect(await introspect(accessOf(tokens))).toEqual(INACTIVE);
    expect((await withBearer('GET', '/userinfo', accessOf(tokens))).status).toBe(401);
    // The refresh token of that sign-in still works: only the access token was revoked.
    expect((await refresh(refreshOf(tokens))).status).toBe(200);
  });

  it("revokes a refresh token's whole family, and the family's access tokens", async () => {
    const first = await signIn('ben');
    const second = await refresh(refreshOf(first));
    expect((await revoke(refreshOf(second), app, { token_type_hint: 'refresh_token' })).status).toBe(200);
    expect(await introspect(refreshOf(second))).toEqual(INACTIVE);
    expect(await introspect(accessOf(second))).toEqual(INACTIVE);
    expect(await introspect(accessOf(first))).toEqual(INACTIVE);
    expect((await refresh(refreshOf(second))).body.error).toBe('invalid_grant');
  });

  it("answers 200 and changes nothing for another client's token, garbage, or a wrong hint", async () => {
    const tokens = await signIn('ben');
    expect((await revoke(accessOf(tokens), other)).status).toBe(200);
    expect((await revoke(refreshOf(tokens), other)).status).toBe(200);
    expect((await revoke('garbage')).status).toBe(200);
    expect((await introspect(accessOf(tokens))).active).toBe(true);
    expect((await introspect(refreshOf(tokens))).active).toBe(true);
    // The hint is only a hint: an access token sent as refresh_token is still revoked.
    expect((await revoke(accessOf(tokens), app, { token_type_hint: 'refresh_token' })).status).toBe(200);
    expect(await introspect(accessOf(tokens))).toEqual(INACTIVE);
  });

  it('needs client authentication and a token', async () => {
    const tokens = await signIn('ben');
    const unauthenticated = await post(`${harness.url}/revoke`, { token: accessOf(tokens) });
    expect([unauthenticated.status, unauthenticated.body.error]).toEqual([401, 'invalid_client']);
    const wrong = await revoke(accessOf(tokens), { ...app, client_secret: 'wrong' });
    expect([wrong.status, wrong.body.error]).toEqual([401, 'invalid_client']);
    const missing = await post(`${harness.url}/revoke`, {}, { headers: { Authorization: basicAuth(app) } });
    expect([missing.status, missing.body.error]).toEqual([400, 'invalid_request']);
    expect((await introspect(accessOf(tokens))).active).toBe(true);
  });
});

describe('logout and sessions', () => {
  type Session = { id: string; client_id: string; client_name: string; current: boolean; user_agent: string };
  const sessionsOf = async (token: string) => (await (await withBearer('GET', '/me/sessions', token)).json()) as Session[];

  it('lists live sessions and revokes one of them', async () => {
    const phone = await signIn('cat');
    const laptop = await signIn('cat');
    const sessions = await sessionsOf(accessOf(laptop));
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((session) => session.current)).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ client_id: app.client_id, client_name: 'app', user_agent: 'test-agent/cat' });

    const phoneSession = sessions.find((session) => !session.current)!;
    expect((await withBearer('DELETE', `/me/sessions/${phoneSession.id}`, accessOf(laptop))).status).toBe(204);
    expect((await sessionsOf(accessOf(laptop))).map((session) => session.id)).not.toContain(phoneSession.id);
    expect((await refresh(refreshOf(phone))).body.error).toBe('invalid_grant');
    expect(await introspect(accessOf(phone))).toEqual(INACTIVE);
    expect((await introspect(accessOf(laptop))).active).toBe(true);
  });

  it("answers 404 for an unknown session and for another user's", async () => {
    const cat = await signIn('cat');
    const dan = await signIn('dan');
    const dansSession = (await sessionsOf(accessOf(dan)))[0]!.id;
    expect((await withBearer('DELETE', `/me/sessions/${dansSession}`, accessOf(cat))).status).toBe(404);
    expect((await withBearer('DELETE', '/me/sessions/00000000-0000-4000-8000-000000000000', accessOf(cat))).status).toBe(404);
    expect((await withBearer('DELETE', '/me/sessions/not-a-uuid', accessOf(cat))).status).toBe(404);
    expect((await introspect(refreshOf(dan))).active).toBe(true);
  });

  it('logs out: the session and the presented access token stop working', async () => {
    const tokens = await signIn('dan');
    const response = await withBearer('POST', '/logout', accessOf(tokens), JSON.stringify({ refresh_token: refreshOf(tokens) }));
    expect(response.status).toBe(204);
    expect((await withBearer('GET', '/me/sessions', accessOf(tokens))).status).toBe(401);
    expect((await refresh(refreshOf(tokens))).body.error).toBe('invalid_grant');
    expect(await introspect(accessOf(tokens))).toEqual(INACTIVE);
  });

  it('refuses /logout and /me/sessions without a valid access token', async () => {
    expect((await fetch(`${harness.url}/logout`, { method: 'POST' })).status).toBe(401);
    expect((await withBearer('GET', '/me/sessions', 'garbage')).status).toBe(401);
    const tokens = await signIn('dan');
    expect((await withBearer('GET', '/me/sessions', refreshOf(tokens))).status).toBe(401);
    const badBody = await withBearer('POST', '/logout', accessOf(tokens), '{"refresh_token": 5}');
    expect(badBody.status).toBe(400);
    expect((await introspect(accessOf(tokens))).active).toBe(true); // the bad request changed nothing
  });

  it('logs out everywhere', async () => {
    const one = await signIn('cat');
    const two = await signIn('cat', other);
    expect((await withBearer('DELETE', '/me/sessions', accessOf(one))).status).toBe(204);
    for (const tokens of [one, two]) {
      expect(await introspect(accessOf(tokens))).toEqual(INACTIVE);
      expect(await introspect(refreshOf(tokens))).toEqual(INACTIVE);
    }
  });

  it('ends every session of a user whose password changes, including through a restart', async () => {
    const one = await signIn('ann');
    const two = await signIn('ann', other);
    const changed = await harness.cli(['users', 'set-password', 'ann', '--password-stdin'], `${PASSWORD}\n`);
    expect(changed.code, changed.stderr).toBe(0);
    for (const tokens of [one, two]) {
      expect(await introspect(accessOf(tokens))).toEqual(INACTIVE);
      expect((await refresh(refreshOf(tokens), tokens === one ? app : other)).body.error).toBe('invalid_grant');
    }
  });

  it('ends every session of a user who is disabled', async () => {
    const tokens = await signIn('ben');
    expect((await harness.cli(['users', 'disable', 'ben'])).code).toBe(0);
    expect(await introspect(accessOf(tokens))).toEqual(INACTIVE);
    expect((await harness.cli(['users', 'enable', 'ben'])).code).toBe(0);
    // Enabling does not bring the old session back.
    expect(await introspect(accessOf(tokens))).toEqual(INACTIVE);
    expect((await refresh(refreshOf(tokens))).body.error).toBe('invalid_grant');
  });
});

// A downstream verifier in this process, the issuer in its own: the revocation crosses through Redis.
describe.runIf(adminDatabaseUrl && testRedisUrl)('sessions of every sign-in', () => {
  it("refuses a demoted admin's token at a downstream verifier within 2 s, though its client gets no refresh token", async () => {
    const handle = await openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: '' });
    const admins = await createClient(handle.db, {
      name: 'console',
      grantTypes: ['password'],
      scopes: ['admin'],
      audiences: [API, ISSUER],
    });
    const accounts = accountDependenciesFrom(loadConfig({}), handle.db);
    await registerUser(accounts, { username: 'boss', email: 'boss@example.com', roles: ['admin', 'user'] }, PASSWORD);
    const deputy = await registerUser(accounts, { username: 'deputy', email: 'deputy@example.com', roles: ['admin', 'user'] }, PASSWORD);
    await handle.close();
    const adminToken = async (username: string) => {
      const result = await post(`${harness.url}/token`, {
        grant_type: 'password',
        username,
        password: PASSWORD,
        scope: 'admin',
        client_id: admins.id,
        client_secret: admins.secret!,
      });
      expect([result.status, result.body.refresh_token]).toEqual([200, undefined]);
      return accessOf(result);
    };
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: API,
      jwksUri: `${harness.url}/.well-known/jwks.json`,
      denylist: { redis: testRedisUrl!, prefix: database.env.REDIS_KEY_PREFIX },
    });
    try {
      const deputyToken = await adminToken('deputy');
      await expect(verifier.verify(deputyToken)).resolves.toMatchObject({ sub: deputy.id, roles: ['admin', 'user'], scope: ['admin'] });
      const demoted = await withBearer('PATCH', `/admin/users/${deputy.id}`, await adminToken('boss'), JSON.stringify({ roles: ['user'] }));
      expect(demoted.status).toBe(200);
      const started = Date.now();
      await expect
        .poll(
          () =>
            verifier.verify(deputyToken).then(
              () => 'accepted',
              (error: VerificationError) => error.code,
            ),
          { timeout: 2000, interval: 50 },
        )
        .toBe('revoked');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await verifier.close();
    }
  });
});
