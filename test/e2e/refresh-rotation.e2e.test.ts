import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerHarness, type ClientCredentials } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { basicAuth, post, verifyAgainstJwks, type TokenResult } from '../support/oauth-client.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const API = 'https://api.internal';
const PASSWORD = 'a long and quiet passphrase';
const FULL_SCOPE = 'openid profile orders:read';

let database: TestDatabase;
let harness: ServerHarness;
let app: ClientCredentials;
let other: ClientCredentials;
let spa: { client_id: string };

async function signIn(username: string, client: ClientCredentials = app): Promise<TokenResult> {
  const result = await post(
    `${harness.url}/token`,
    { grant_type: 'password', username, password: PASSWORD, scope: FULL_SCOPE },
    {
      headers: { Authorization: basicAuth(client) },
    },
  );
  expect(result.status).toBe(200);
  return result;
}

const refresh = (refreshToken: string, extra: Record<string, string> = {}, client: ClientCredentials = app) =>
  post(
    `${harness.url}/token`,
    { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra },
    {
      headers: { Authorization: basicAuth(client) },
    },
  );

const refreshTokenOf = (result: TokenResult) => result.body.refresh_token as string;
const invalidGrant = { status: 400, error: 'invalid_grant' };
const outcome = (result: TokenResult) => ({ status: result.status, error: result.body.error });

beforeAll(async () => {
  database = await createTestDatabase();
  const env = database.env;
  const registration = ['--grants', 'password,refresh_token', '--scopes', FULL_SCOPE, '--audiences', API];
  app = await seedClient(env, ['--name', 'app', ...registration]);
  other = await seedClient(env, ['--name', 'other', ...registration]);
  spa = await seedClient(env, ['--name', 'spa', '--public', ...registration]);
  for (const username of ['dora', 'erin', 'finn', 'gwen']) {
    await seedUser(env, ['--username', username, '--email', `${username}@example.com`], PASSWORD);
  }
  harness = await ServerHarness.start({ ...env, ISSUER });
});

afterAll(async () => {
  await harness?.stop();
  await database?.drop();
});

describe('refresh token rotation', () => {
  it('exchanges a refresh token for a new pair; the old one is then spent', async () => {
    const first = await signIn('dora');
    const second = await refresh(refreshTokenOf(first));
    expect(second.status).toBe(200);
    expect(second.headers.get('cache-control')).toBe('no-store');
    expect(second.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      scope: FULL_SCOPE,
      refresh_token: expect.any(String),
      id_token: expect.any(String),
    });
    expect(refreshTokenOf(second)).not.toBe(refreshTokenOf(first));
    const access = await verifyAgainstJwks(harness.url, second.body.access_token as string, {
      issuer: ISSUER,
      typ: 'at+jwt',
      audience: API,
    });
    expect(access.payload.sub).toBe(decodeJwt(refreshTokenOf(first)).sub);
    const id = decodeJwt(second.body.id_token as string);
    expect(id.auth_time).toBe(decodeJwt(first.body.id_token as string).auth_time); // same sign-in
  });

  it('revokes the whole family when a spent token comes back: the newest token dies too', async () => {
    const first = await signIn('dora');
    const second = await refresh(refreshTokenOf(first));
    // Once its child is used, a spent token is no retry (see the grace window below): it is reuse.
    expect((await refresh(refreshTokenOf(second))).status).toBe(200);
    const replay = await refresh(refreshTokenOf(first));
    expect(outcome(replay)).toEqual(invalidGrant);
    expect(outcome(await refresh(refreshTokenOf(second)))).toEqual(invalidGrant);
    await expect.poll(() => harness.server.output()).toContain('"msg":"refresh_token_reuse_detected"');
    const auditLine = harness.server
      .output()
      .split('\n')
      .find((line) => line.includes('refresh_token_reuse_detected'))!;
    expect(JSON.parse(auditLine).audit).toMatchObject({ clientId: app.client_id, userId: decodeJwt(refreshTokenOf(first)).sub });
  });

  it('answers through POST /refresh in JSON and form encoding alike', async () => {
    const first = await signIn('erin');
    const viaJson = await post(
      `${harness.url}/refresh`,
      { refresh_token: refreshTokenOf(first) },
      {
        json: true,
        headers: { Authorization: basicAuth(app) },
      },
    );
    expect(viaJson.status).toBe(200);
    expect(Object.keys(viaJson.body).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
    const viaForm = await post(
      `${harness.url}/refresh`,
      { refresh_token: refreshTokenOf(viaJson) },
      {
        headers: { Authorization: basicAuth(app) },
      },
    );
    expect(viaForm.status).toBe(200);
  });

  it.each([
    ['malformed JSON', '{"refresh_token":', 'application/json'],
    ['an unknown field', JSON.stringify({ refresh_token: 'x', extra: 1 }), 'application/json'],
    ['no refresh_token', JSON.stringify({ scope: 'openid' }), 'application/json'],
    ['a refresh_token that is not a string', JSON.stringify({ refresh_token: 42 }), 'application/json'],
    ['plain text', 'refresh_token=x', 'text/plain'],
  ])('refuses /refresh with %s as invalid_request', async (_case, body, contentType) => {
    const response = await fetch(`${harness.url}/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': contentType, Authorization: basicAuth(app) },
      body,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('gives 20 concurrent refreshes with the same token one new pair between them, by default', async () => {
    const first = await signIn('finn');
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(refreshTokenOf(first))));
    expect(results.map((result) => result.status)).toEqual(Array(20).fill(200));
    // One winner: every answer carries the same child, so the session did not fork.
    expect(new Set(results.map(refreshTokenOf)).size).toBe(1);
    const next = await refresh(refreshTokenOf(results[0]!));
    expect(next.status).toBe(200);
    expect((await refresh(refreshTokenOf(next))).status).toBe(200);
  });

  it('narrows the scope on request but never widens it; a refused request spends nothing', async () => {
    const first = await signIn('gwen');
    const widened = await refresh(refreshTokenOf(first), { scope: 'openid orders:write' });
    expect(outcome(widened)).toEqual({ status: 400, error: 'invalid_scope' });

    const narrowed = await refresh(refreshTokenOf(first), { scope: 'orders:read' });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.scope).toBe('orders:read');
    expect(narrowed.body).not.toHaveProperty('id_token');
    // RFC 6749 §6: the new refresh token keeps the original scope, so the next one may ask for all of it.
    expect(decodeJwt(refreshTokenOf(narrowed)).scope).toBe(FULL_SCOPE);
    const full = await refresh(refreshTokenOf(narrowed));
    expect(full.body.scope).toBe(FULL_SCOPE);
  });

  it("refuses another client's token and leaves it usable by its owner", async () => {
    const first = await signIn('gwen');
    expect(outcome(await refresh(refreshTokenOf(first), {}, other))).toEqual(invalidGrant);
    expect((await refresh(refreshTokenOf(first))).status).toBe(200);
  });

  it('lets a public client refresh with its client_id alone', async () => {
    const first = await post(`${harness.url}/token`, {
      grant_type: 'password',
      username: 'gwen',
      password: PASSWORD,
      client_id: spa.client_id,
    });
    expect(first.status).toBe(200);
    const second = await post(`${harness.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: refreshTokenOf(first),
      client_id: spa.client_id,
    });
    expect(second.status).toBe(200);
  });

  it.each([
    ['an access token', async () => (await signIn('gwen')).body.access_token as string],
    ['an id token', async () => (await signIn('gwen')).body.id_token as string],
    ['garbage', async () => 'definitely.not.a-token'],
    ['a tampered refresh token', async () => `${refreshTokenOf(await signIn('gwen'))}A`],
    ['an oversized token', async () => 'a'.repeat(9000)],
  ])('refuses %s in place of a refresh token with invalid_grant', async (_name, make) => {
    expect(outcome(await refresh(await make()))).toEqual(invalidGrant);
  });

  it('stops a family when its user is disabled', async () => {
    const first = await signIn('erin');
    expect((await harness.cli(['users', 'disable', 'erin'])).code).toBe(0);
    expect(outcome(await refresh(refreshTokenOf(first)))).toEqual(invalidGrant);
    expect((await harness.cli(['users', 'enable', 'erin'])).code).toBe(0);
  });

  it('stops a family that began before a password change', async () => {
    const first = await signIn('dora');
    expect((await harness.cli(['users', 'set-password', 'dora', '--password-stdin'], PASSWORD)).code).toBe(0);
    expect(outcome(await refresh(refreshTokenOf(first)))).toEqual(invalidGrant);
    expect((await refresh(refreshTokenOf(await signIn('dora')))).status).toBe(200);
  });
});

describe('without a reuse grace window (REFRESH_REUSE_GRACE_SECONDS=0)', () => {
  beforeAll(async () => {
    await harness.restart({ REFRESH_REUSE_GRACE_SECONDS: '0' });
  });

  it('lets exactly one of 20 concurrent refreshes with the same token win; the rest get invalid_grant', async () => {
    const first = await signIn('finn');
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(refreshTokenOf(first))));
    const outcomes = results.map((result) => result.status);
    expect(outcomes.filter((status) => status === 200)).toHaveLength(1);
    expect(results.filter((result) => result.status !== 200).map(outcome)).toEqual(Array(19).fill(invalidGrant));
  });

  it('revokes the family on the first replay of a spent token, even at once', async () => {
    const first = await signIn('dora');
    const second = await refresh(refreshTokenOf(first));
    expect(outcome(await refresh(refreshTokenOf(first)))).toEqual(invalidGrant);
    expect(outcome(await refresh(refreshTokenOf(second)))).toEqual(invalidGrant);
  });
});

describe('reuse grace window (10 s by default) and absolute lifetime', () => {
  beforeAll(async () => {
    // An empty value is unset: the default grace.
    await harness.restart({ REFRESH_REUSE_GRACE_SECONDS: '', REFRESH_TOKEN_TTL: '4', REFRESH_TOKEN_MAX_LIFETIME: '5' });
  });

  it('gives a retry of the immediate parent the very same pair, and revokes on an older token', async () => {
    const first = await signIn('gwen');
    const second = await refresh(refreshTokenOf(first));
    const retry = await refresh(refreshTokenOf(first));
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(second.body);

    const third = await refresh(refreshTokenOf(second));
    expect(third.status).toBe(200);
    // `first` is no longer the immediate parent of the newest token: that is reuse.
    expect(outcome(await refresh(refreshTokenOf(first)))).toEqual(invalidGrant);
    expect(outcome(await refresh(refreshTokenOf(third)))).toEqual(invalidGrant);
  });

  it('never extends a family past REFRESH_TOKEN_MAX_LIFETIME by rotating', async () => {
    const first = await signIn('finn');
    const familyEnd = decodeJwt(refreshTokenOf(first)).iat! + 5;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = await refresh(refreshTokenOf(first));
    expect(second.status).toBe(200);
    // now + REFRESH_TOKEN_TTL would pass the family's end: the token ends with the family.
    expect(decodeJwt(refreshTokenOf(second)).exp).toBe(familyEnd);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, familyEnd * 1000 - Date.now()) + 1200));
    expect(outcome(await refresh(refreshTokenOf(second)))).toEqual(invalidGrant);
  });
});
