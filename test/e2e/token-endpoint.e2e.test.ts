import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const BILLING = 'https://billing.internal';
const LEDGER = 'https://ledger.internal';

let database: TestDatabase;
let server: RunningServer;
let billing: ClientCredentials;
let noScopes: ClientCredentials;
let otherGrantsOnly: ClientCredentials;

beforeAll(async () => {
  database = await createTestDatabase();
  billing = await seedClient(database.env, [
    '--name',
    'billing',
    '--grants',
    'client_credentials',
    '--scopes',
    'invoices:read,invoices:write',
    '--audiences',
    `${BILLING},${LEDGER}`,
  ]);
  noScopes = await seedClient(database.env, ['--name', 'reporting', '--grants', 'client_credentials', '--audiences', LEDGER]);
  otherGrantsOnly = await seedClient(database.env, ['--name', 'app', '--grants', 'password', '--audiences', LEDGER]);
  server = await startServer({ ...database.env, ISSUER });
});

afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

function basic({ client_id, client_secret }: ClientCredentials): string {
  const encode = (value: string) => encodeURIComponent(value);
  return `Basic ${Buffer.from(`${encode(client_id)}:${encode(client_secret)}`).toString('base64')}`;
}

async function tokenRequest(body: string | URLSearchParams, headers: Record<string, string> = {}, path = '/token') {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: body.toString(),
  });
  const text = await response.text();
  return { response, status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function verifyAccessToken(token: string, audience: string) {
  const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
  return jwtVerify(token, jwks, { issuer: ISSUER, audience, typ: 'at+jwt', algorithms: ['RS256'] });
}

describe('client_credentials over HTTP', () => {
  it('issues an RFC 9068 access token that verifies against the served JWKS', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { status, body, response } = await tokenRequest('grant_type=client_credentials&scope=invoices%3Aread', {
      Authorization: basic(billing),
    });
    expect(status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900, scope: 'invoices:read' });
    expect(body).not.toHaveProperty('refresh_token'); // RFC 6749 §4.4.3

    const { payload, protectedHeader } = await verifyAccessToken(body.access_token as string, BILLING);
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: jwks.keys[0]!.kid });
    expect(payload).toEqual({
      iss: ISSUER,
      sub: billing.client_id,
      client_id: billing.client_id,
      aud: [BILLING, LEDGER],
      scope: 'invoices:read',
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22,}$/),
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(payload.iat).toBeGreaterThanOrEqual(before - 1);
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('gives every allowed scope when none is asked for, and fresh jti each time', async () => {
    const first = await tokenRequest('grant_type=client_credentials', { Authorization: basic(billing) });
    const second = await tokenRequest('grant_type=client_credentials', { Authorization: basic(billing) });
    expect(first.body.scope).toBe('invoices:read invoices:write');
    const a = await verifyAccessToken(first.body.access_token as string, LEDGER);
    const b = await verifyAccessToken(second.body.access_token as string, LEDGER);
    expect(a.payload.jti).not.toBe(b.payload.jti);
  });

  it('accepts client_secret_post', async () => {
    const { status, body } = await tokenRequest(
      new URLSearchParams({ grant_type: 'client_credentials', client_id: billing.client_id, client_secret: billing.client_secret }),
    );
    expect(status).toBe(200);
    expect(body.token_type).toBe('Bearer');
  });

  it('narrows the audience to one resource (RFC 8707), as a plain string', async () => {
    const { body } = await tokenRequest(`grant_type=client_credentials&resource=${encodeURIComponent(LEDGER)}`, {
      Authorization: basic(billing),
    });
    const { payload } = await verifyAccessToken(body.access_token as string, LEDGER);
    expect(payload.aud).toBe(LEDGER);
    await expect(verifyAccessToken(body.access_token as string, BILLING)).rejects.toThrow(/aud/);
  });

  it('omits scope for a client that has none', async () => {
    const { status, body } = await tokenRequest('grant_type=client_credentials', { Authorization: basic(noScopes) });
    expect(status).toBe(200);
    expect(body).not.toHaveProperty('scope');
    const { payload } = await verifyAccessToken(body.access_token as string, LEDGER);
    expect(payload).not.toHaveProperty('scope');
    expect(payload.aud).toBe(LEDGER);
  });
});

describe('token endpoint errors (RFC 6749 §5.2)', () => {
  const ok = 'grant_type=client_credentials';

  it.each([
    [
      'a wrong secret',
      () => ({ body: ok, headers: { Authorization: basic({ ...billing, client_secret: 'wrong' }) } }),
      401,
      'invalid_client',
    ],
    [
      'an unknown client',
      () => ({ body: ok, headers: { Authorization: basic({ client_id: 'nobody', client_secret: 'x' }) } }),
      401,
      'invalid_client',
    ],
    ['no client authentication', () => ({ body: ok, headers: {} }), 401, 'invalid_client'],
    ['a malformed Basic header', () => ({ body: ok, headers: { Authorization: 'Basic !!!' } }), 401, 'invalid_client'],
    ['a Bearer header in place of Basic', () => ({ body: ok, headers: { Authorization: 'Bearer abc' } }), 401, 'invalid_client'],
    [
      'a wrong client_secret_post',
      () => ({ body: `${ok}&client_id=${billing.client_id}&client_secret=nope`, headers: {} }),
      401,
      'invalid_client',
    ],
    [
      'two authentication methods',
      () => ({ body: `${ok}&client_secret=${billing.client_secret}`, headers: { Authorization: basic(billing) } }),
      400,
      'invalid_request',
    ],
    [
      'a grant the client is not registered for',
      () => ({ body: 'grant_type=refresh_token&refresh_token=x', headers: { Authorization: basic(billing) } }),
      400,
      'unauthorized_client',
    ],
    [
      'an unknown grant',
      () => ({ body: 'grant_type=urn:example:magic', headers: { Authorization: basic(billing) } }),
      400,
      'unsupported_grant_type',
    ],
    ['a missing grant_type', () => ({ body: 'scope=invoices%3Aread', headers: { Authorization: basic(billing) } }), 400, 'invalid_request'],
    ['an empty grant_type', () => ({ body: 'grant_type=', headers: { Authorization: basic(billing) } }), 400, 'invalid_request'],
    [
      'a duplicated parameter',
      () => ({ body: `${ok}&scope=invoices%3Aread&scope=invoices%3Awrite`, headers: { Authorization: basic(billing) } }),
      400,
      'invalid_request',
    ],
    ['a duplicated grant_type', () => ({ body: `${ok}&${ok}`, headers: { Authorization: basic(billing) } }), 400, 'invalid_request'],
    [
      'a scope beyond the client',
      () => ({ body: `${ok}&scope=invoices%3Aread%20admin`, headers: { Authorization: basic(billing) } }),
      400,
      'invalid_scope',
    ],
    ['a malformed scope', () => ({ body: `${ok}&scope=%22quoted%22`, headers: { Authorization: basic(billing) } }), 400, 'invalid_scope'],
    [
      'a resource outside the audiences',
      () => ({ body: `${ok}&resource=https%3A%2F%2Fevil.example`, headers: { Authorization: basic(billing) } }),
      400,
      'invalid_target',
    ],
  ])('%s -> %i %s', async (_case, request, status, error) => {
    const { body, headers } = request();
    const result = await tokenRequest(body, headers);
    expect(result.status).toBe(status);
    expect(result.body).toEqual({ error, error_description: expect.any(String) });
    expect(result.response.headers.get('cache-control')).toBe('no-store');
  });

  it('names Basic in WWW-Authenticate only when the Authorization header was used', async () => {
    const header = await tokenRequest(ok, { Authorization: basic({ ...billing, client_secret: 'wrong' }) });
    expect(header.response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const post = await tokenRequest(`${ok}&client_id=${billing.client_id}&client_secret=nope`);
    expect(post.response.headers.get('www-authenticate')).toBeNull();
  });

  it('gives the same answer for an unknown client and a wrong secret', async () => {
    const unknown = await tokenRequest(ok, { Authorization: basic({ client_id: 'nobody', client_secret: 'x' }) });
    const wrong = await tokenRequest(ok, { Authorization: basic({ ...billing, client_secret: 'x' }) });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('refuses a grant the client is not registered for with unauthorized_client', async () => {
    const { status, body } = await tokenRequest(ok, { Authorization: basic(otherGrantsOnly) });
    expect([status, body.error]).toEqual([400, 'unauthorized_client']);
  });

  it('refuses a JSON body with invalid_request', async () => {
    const { status, body } = await tokenRequest(JSON.stringify({ grant_type: 'client_credentials' }), {
      'Content-Type': 'application/json',
      Authorization: basic(billing),
    });
    expect([status, body.error]).toEqual([400, 'invalid_request']);
  });

  it('refuses an oversized body with 413 and a JSON error', async () => {
    const { status, body } = await tokenRequest(`${ok}&scope=${'a'.repeat(20_000)}`, { Authorization: basic(billing) });
    expect([status, body.error]).toEqual([413, 'invalid_request']);
  });

  it('counts a chunked body as it arrives: a small one is read, an oversized one gets 413', async () => {
    const chunked = (body: string) =>
      fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(billing) },
        // A stream has no length known in advance: fetch sends it with Transfer-Encoding: chunked.
        body: new Blob([body]).stream(),
        duplex: 'half',
      } as RequestInit);
    const small = await chunked(ok);
    expect(small.status).toBe(200);
    expect(await small.json()).toHaveProperty('access_token');
    const oversized = await chunked(`${ok}&scope=${'a'.repeat(20_000)}`);
    expect([oversized.status, ((await oversized.json()) as { error: string }).error]).toEqual([413, 'invalid_request']);
  });

  it('refuses credentials in the query string, even with a valid body', async () => {
    const path = `/token?client_id=${billing.client_id}&client_secret=${billing.client_secret}`;
    const { status, body } = await tokenRequest(ok, { Authorization: basic(billing) }, path);
    expect([status, body.error]).toEqual([400, 'invalid_request']);
  });

  it('answers an unknown path with a JSON 404', async () => {
    const response = await fetch(`${server.url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not_found', error_description: expect.any(String) });
  });
});

describe('request logs', () => {
  it('carry the request id, method, path, status and duration, and never a secret or token', async () => {
    const { body, response } = await tokenRequest('grant_type=client_credentials', {
      Authorization: basic(billing),
      'X-Request-Id': 'trace-abc-123',
    });
    expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const line = server
      .output()
      .split('\n')
      .find((entry) => entry.includes('"requestId":"trace-abc-123"'));
    expect(JSON.parse(line!)).toMatchObject({ method: 'POST', path: '/token', status: 200, durationMs: expect.any(Number) });
    const output = server.output();
    expect(output).not.toContain(billing.client_secret);
    expect(output).not.toContain((body.access_token as string).split('.')[2]);
  });

  it('replace an unusable X-Request-Id with a fresh one', async () => {
    const response = await fetch(`${server.url}/healthz`, { headers: { 'X-Request-Id': 'x'.repeat(500) } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('discovery (RFC 8414, OpenID Connect Discovery)', () => {
  it.each(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'])(
    '%s names exactly the issuer that signs the tokens, and the endpoints',
    async (path) => {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata).toMatchObject({
        issuer: ISSUER,
        token_endpoint: `${ISSUER}/token`,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
        userinfo_endpoint: `${ISSUER}/userinfo`,
        revocation_endpoint: `${ISSUER}/revoke`,
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
        introspection_endpoint: `${ISSUER}/introspect`,
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'bearer'],
        grant_types_supported: [
          'authorization_code',
          'client_credentials',
          'password',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:token-exchange',
        ],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
        token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        id_token_signing_alg_values_supported: ['RS256'],
        claims_supported: expect.arrayContaining(['sub', 'auth_time', 'roles', 'preferred_username', 'name', 'email']),
        // OpenID Connect's and the account API's scopes are served on a new issuer too; admin and introspect never listed.
        scopes_supported: ['openid', 'profile', 'email', 'account', 'invoices:read', 'invoices:write'],
      });
      const { body } = await tokenRequest('grant_type=client_credentials', { Authorization: basic(billing) });
      const { payload } = await verifyAccessToken(body.access_token as string, BILLING);
      expect(payload.iss).toBe(metadata.issuer);
    },
  );
});
