import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUserEnabled } from '../../src/users/accounts.js';
import { ServerHarness, type ClientCredentials } from '../support/processes.js';
import { seedClient, seedUser, withTestData } from '../support/seed.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ACR_SINGLE_FACTOR } from '@token-issuer/verifier';
import { basicAuth, post, verifyAgainstJwks } from '../support/oauth-client.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const API = 'https://api.internal';
const ALICE_PASSWORD = 'correct horse battery staple';

let database: TestDatabase;
let harness: ServerHarness;
let app: ClientCredentials;
let spa: { client_id: string };
let machine: ClientCredentials;
let alice: { id: string };

const token = (body: Record<string, string>, headers: Record<string, string> = {}) => post(`${harness.url}/token`, body, { headers });
const login = (extra: Record<string, string> = {}) =>
  token({ grant_type: 'password', username: 'alice', password: ALICE_PASSWORD, ...extra }, { Authorization: basicAuth(app) });

beforeAll(async () => {
  database = await createTestDatabase();
  const env = database.env;
  // The issuer among the audiences: its tokens also work at the issuer's own /userinfo.
  const scopes = ['--scopes', 'openid profile email orders:read', '--audiences', `${API},${ISSUER}`];
  app = await seedClient(env, ['--name', 'app', '--grants', 'password,refresh_token', ...scopes]);
  spa = await seedClient(env, ['--name', 'spa', '--public', '--grants', 'password', ...scopes]);
  machine = await seedClient(env, ['--name', 'machine', '--grants', 'client_credentials', ...scopes]);
  alice = await seedUser(env, ['--username', 'alice', '--email', 'Alice@Example.com', '--full-name', 'Alice Liddell'], ALICE_PASSWORD);
  await seedUser(env, ['--username', 'bob', '--email', 'bob@example.com'], 'another long passphrase here');
  const disabled = await seedUser(env, ['--username', 'carol', '--email', 'carol@example.com'], 'carol has a long passphrase');
  expect(disabled.username).toBe('carol');
  // Limits high enough that the login storm below reaches argon2 (throttling has its own tests).
  // The login storm below queues 200 argon2 verifies; on a busy 2-core machine the last ones may
  // wait past the default 5 s request deadline (a 503), which is not what that test is about.
  await withTestData(env, (context) => setUserEnabled(context, 'carol', false));
  harness = await ServerHarness.start({
    ...env,
    ISSUER,
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '100000',
    LOGIN_MAX_FAILURES_PER_IP: '100000',
    REQUEST_DEADLINE_SECONDS: '60',
  });
});

afterAll(async () => {
  await harness?.stop();
  await database?.drop();
});

describe('password grant', () => {
  it('signs the user in: access, refresh and id tokens that verify against the JWKS', async () => {
    const { status, body, headers } = await login({ scope: 'openid profile email orders:read' });
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'openid profile email orders:read',
      refresh_token: expect.any(String),
      id_token: expect.any(String),
    });

    const access = await verifyAgainstJwks(harness.url, body.access_token as string, { issuer: ISSUER, typ: 'at+jwt', audience: API });
    expect(access.payload).toEqual({
      iss: ISSUER,
      sub: alice.id,
      aud: [API, ISSUER, `${ISSUER}/userinfo`],
      client_id: app.client_id,
      scope: 'openid profile email orders:read',
      roles: ['user'],
      sid: expect.stringMatching(/^[0-9a-f-]{36}$/), // the session, for logout
      // RFC 9068 §2.2.1: how and when the user signed in; the password alone (RFC 8176).
      auth_time: expect.any(Number),
      amr: ['pwd'],
      acr: ACR_SINGLE_FACTOR,
      preferred_username: 'alice',
      name: 'Alice Liddell',
      email: 'alice@example.com',
      jti: expect.any(String),
      iat: expect.any(Number),
      exp: expect.any(Number),
    });

    // The refresh token is signed with a key the JWKS does not hold: only the issuer can verify it.
    const refresh = decodeJwt(body.refresh_token as string);
    expect(decodeProtectedHeader(body.refresh_token as string).typ).toBe('rt+jwt');
    expect(refresh).toMatchObject({
      iss: ISSUER,
      aud: ISSUER,
      sub: alice.id,
      client_id: app.client_id,
      scope: 'openid profile email orders:read',
    });
    expect(refresh.exp! - refresh.iat!).toBe(7 * 86_400);

    const id = await verifyAgainstJwks(harness.url, body.id_token as string, { issuer: ISSUER, typ: 'JWT', audience: app.client_id });
    expect(id.payload).toEqual({
      iss: ISSUER,
      sub: alice.id,
      aud: app.client_id,
      auth_time: expect.any(Number),
      amr: ['pwd'],
      acr: ACR_SINGLE_FACTOR,
      sid: access.payload.sid,
      preferred_username: 'alice',
      name: 'Alice Liddell',
      email: 'alice@example.com',
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(id.payload.auth_time).toBe(id.payload.iat);
  });

  it('releases profile and email claims only with their scopes, and an id token only with openid', async () => {
    const { body } = await login({ scope: 'orders:read' });
    expect(body).not.toHaveProperty('id_token');
    const { payload } = await verifyAgainstJwks(harness.url, body.access_token as string, { issuer: ISSUER, typ: 'at+jwt', audience: API });
    expect(payload).not.toHaveProperty('preferred_username');
    expect(payload).not.toHaveProperty('email');
    expect(payload).not.toHaveProperty('name');
    expect(payload.roles).toEqual(['user']);

    const emailOnly = await login({ scope: 'email' });
    const claims = (
      await verifyAgainstJwks(harness.url, emailOnly.body.access_token as string, { issuer: ISSUER, typ: 'at+jwt', audience: API })
    ).payload;
    expect(claims.email).toBe('alice@example.com');
    expect(claims).not.toHaveProperty('preferred_username');
  });

  it('accepts the email address or any case of the username', async () => {
    expect((await login({ username: 'ALICE@example.com' })).status).toBe(200);
    expect((await login({ username: 'Alice' })).status).toBe(200);
  });

  it('gives the same answer for an unknown user, a wrong password and a disabled user', async () => {
    const unknown = await login({ username: 'nobody' });
    const wrong = await login({ password: 'not the right passphrase' });
    const disabled = await login({ username: 'carol', password: 'carol has a long passphrase' });
    for (const result of [unknown, wrong, disabled]) {
      expect(result.status).toBe(400);
      expect(result.body).toEqual({ error: 'invalid_grant', error_description: 'the username or password is incorrect' });
    }
  });

  it('lets a public client sign in with its client_id alone, and refuses it a secret', async () => {
    const ok = await token({ grant_type: 'password', username: 'alice', password: ALICE_PASSWORD, client_id: spa.client_id });
    expect(ok.status).toBe(200);
    expect(ok.body).not.toHaveProperty('refresh_token'); // not registered for refresh_token
    const withSecret = await token({
      grant_type: 'password',
      username: 'alice',
      password: ALICE_PASSWORD,
      client_id: spa.client_id,
      client_secret: 'anything',
    });
    expect([withSecret.status, withSecret.body.error]).toEqual([401, 'invalid_client']);
    const confidentialWithoutSecret = await token({
      grant_type: 'password',
      username: 'alice',
      password: ALICE_PASSWORD,
      client_id: app.client_id,
    });
    expect([confidentialWithoutSecret.status, confidentialWithoutSecret.body.error]).toEqual([401, 'invalid_client']);
  });

  it('refuses a client not registered for the grant with unauthorized_client', async () => {
    const result = await token(
      { grant_type: 'password', username: 'alice', password: ALICE_PASSWORD },
      { Authorization: basicAuth(machine) },
    );
    expect([result.status, result.body.error]).toEqual([400, 'unauthorized_client']);
  });

  it.each([
    [{ username: '' }, 'invalid_request'],
    [{ password: '' }, 'invalid_request'],
    [{ scope: 'orders:write' }, 'invalid_scope'],
    [{ resource: 'https://elsewhere.internal' }, 'invalid_target'],
  ])('refuses %o with %s', async (change, error) => {
    const result = await login(change);
    expect([result.status, result.body.error]).toEqual([400, error]);
  });
});

describe('userinfo', () => {
  const userinfo = (headers: Record<string, string>, path = '/userinfo') => fetch(`${harness.url}${path}`, { headers });

  it("returns the user's claims for the token's scope", async () => {
    const { body } = await login({ scope: 'openid profile' });
    const response = await userinfo({ Authorization: `Bearer ${body.access_token as string}` });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ sub: alice.id, preferred_username: 'alice', name: 'Alice Liddell' });
  });

  it('asks for a token when there is none, with no error code (RFC 6750 §3.1)', async () => {
    const response = await userinfo({});
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="token-issuer"');
  });

  it('ignores a token in the query string', async () => {
    const { body } = await login({ scope: 'openid' });
    const response = await userinfo({}, `/userinfo?access_token=${body.access_token as string}`);
    expect(response.status).toBe(401);
  });

  it.each([
    ['garbage', async () => 'not-a-token'],
    ['a refresh token', async () => (await login({ scope: 'openid' })).body.refresh_token as string],
    ['an id token', async () => (await login({ scope: 'openid' })).body.id_token as string],
    ['a tampered access token', async () => `${(await login({ scope: 'openid' })).body.access_token as string}x`],
  ])('refuses %s with 401 invalid_token', async (_name, make) => {
    const response = await userinfo({ Authorization: `Bearer ${await make()}` });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="token-issuer", error="invalid_token"/);
  });

  it('refuses an access token without openid with 403 insufficient_scope', async () => {
    const { body } = await login({ scope: 'orders:read' });
    const response = await userinfo({ Authorization: `Bearer ${body.access_token as string}` });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('refuses a client_credentials token with 403 insufficient_scope: it names no user', async () => {
    const machineToken = await token(
      { grant_type: 'client_credentials', scope: 'openid', resource: ISSUER },
      { Authorization: basicAuth(machine) },
    );
    expect(machineToken.status).toBe(200);
    const response = await userinfo({ Authorization: `Bearer ${machineToken.body.access_token as string}` });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('takes a token granted openid whatever its other audiences; refuses one for neither the issuer nor /userinfo, and says why', async () => {
    const forApi = await login({ scope: 'openid', resource: API });
    expect((await userinfo({ Authorization: `Bearer ${forApi.body.access_token as string}` })).status).toBe(200);
    const { body } = await login({ scope: 'orders:read', resource: API });
    const response = await userinfo({ Authorization: `Bearer ${body.access_token as string}` });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error_description: string }).error_description).toContain(
      'audience must contain the issuer URL or its /userinfo URL',
    );
  });

  it('takes the access token from a form body too (RFC 6750 §2.2), but not from both places', async () => {
    const { body } = await login({ scope: 'openid profile' });
    const accessToken = body.access_token as string;
    const inBody = await post(`${harness.url}/userinfo`, { access_token: accessToken });
    expect([inBody.status, inBody.body.sub]).toEqual([200, alice.id]);
    const both = await post(
      `${harness.url}/userinfo`,
      { access_token: accessToken },
      { headers: { Authorization: `Bearer ${accessToken}` } },
    );
    expect([both.status, both.body.error]).toEqual([400, 'invalid_request']);
  });
});

describe('a login storm', () => {
  it('does not stall /healthz: health answers while 200 wrong-password logins are in flight', async () => {
    let finished = 0;
    const storm = Array.from({ length: 200 }, () =>
      login({ password: 'wrong wrong wrong wrong' }).then((result) => {
        finished += 1;
        return result;
      }),
    );
    const healthWhileStorming: { status: number; finishedBefore: number }[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await fetch(`${harness.url}/healthz`);
      healthWhileStorming.push({ status: response.status, finishedBefore: finished });
    }
    const results = await Promise.all(storm);
    expect(healthWhileStorming.every(({ status }) => status === 200)).toBe(true);
    // Health was answered before the storm was over.
    expect(healthWhileStorming[0]!.finishedBefore).toBeLessThan(200);
    expect(new Set(results.map((result) => `${result.status} ${result.body.error as string}`))).toEqual(new Set(['400 invalid_grant']));
  });
});
