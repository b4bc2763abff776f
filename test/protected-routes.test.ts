import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { OPENAPI_PATH } from '../src/http/routes/openapi-routes.js';
import { mintAccessToken } from '../src/tokens/access-token.js';
import { registerUser } from '../src/users/accounts.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';
import { testSigner } from './support/signer.js';

const ISSUER = 'http://issuer.test';
const PASSWORD = 'a long and proper passphrase';
type Kind = 'user' | 'account' | 'admin' | 'userinfo' | 'introspect' | 'feed';
type Route = { kind: Kind; body?: { json?: unknown; form?: Record<string, string> } };

/** Every operation of openapi.yaml that takes a bearer token, and a request to it that a valid token gets through. */
const someId = randomUUID();
const routes: Record<string, Route> = {
  'GET /userinfo': { kind: 'userinfo' },
  'POST /userinfo': { kind: 'userinfo' },
  'POST /introspect': { kind: 'introspect', body: { form: { token: 'not-a-token' } } },
  'GET /revocations': { kind: 'feed' },
  'GET /revocations/stream': { kind: 'feed' },
  'POST /logout': { kind: 'user' },
  'GET /me/sessions': { kind: 'account' },
  'DELETE /me/sessions': { kind: 'account' },
  'DELETE /me/sessions/{id}': { kind: 'account' },
  'GET /me/consents': { kind: 'account' },
  'DELETE /me/consents/{client_id}': { kind: 'account' },
  'GET /me': { kind: 'account' },
  'PATCH /me': { kind: 'account', body: { json: { full_name: 'Alice' } } },
  'POST /me/password': { kind: 'account', body: { json: {} } },
  'GET /me/factors': { kind: 'account' },
  'POST /me/factors/totp': { kind: 'account', body: { json: {} } },
  'POST /me/factors/totp/{id}/confirm': { kind: 'account', body: { json: { code: '123456' } } },
  'DELETE /me/factors/{id}': { kind: 'account' },
  'POST /me/recovery-codes': { kind: 'account' },
  'POST /me/passkeys/registration': { kind: 'account' },
  'POST /me/passkeys': { kind: 'account', body: { json: {} } },
  'GET /me/api-keys': { kind: 'account' },
  'POST /me/api-keys': { kind: 'account', body: { json: {} } },
  'DELETE /me/api-keys/{id}': { kind: 'account' },
  'GET /admin/users': { kind: 'admin' },
  'POST /admin/users': { kind: 'admin', body: { json: {} } },
  'GET /admin/users/{id}': { kind: 'admin' },
  'PATCH /admin/users/{id}': { kind: 'admin', body: { json: { full_name: 'X' } } },
  'DELETE /admin/users/{id}': { kind: 'admin' },
  'DELETE /admin/users/{id}/sessions': { kind: 'admin' },
  'GET /admin/users/{id}/factors': { kind: 'admin' },
  'DELETE /admin/users/{id}/factors/{factor_id}': { kind: 'admin' },
  'GET /admin/clients': { kind: 'admin' },
  'POST /admin/clients': { kind: 'admin', body: { json: {} } },
  'GET /admin/clients/{id}': { kind: 'admin' },
  'PATCH /admin/clients/{id}': { kind: 'admin', body: { json: { name: 'X' } } },
  'DELETE /admin/clients/{id}': { kind: 'admin' },
  'POST /admin/clients/{id}/secret': { kind: 'admin' },
  'DELETE /admin/clients/{id}/secret/previous': { kind: 'admin' },
  'GET /admin/keys': { kind: 'admin' },
  'POST /admin/keys/rotate': { kind: 'admin' },
  'POST /admin/keys/{kid}/revoke': { kind: 'admin' },
  'POST /admin/revocations': { kind: 'admin', body: { json: {} } },
  'GET /admin/federation/issuers': { kind: 'admin' },
  'POST /admin/federation/issuers': { kind: 'admin', body: { json: {} } },
  'DELETE /admin/federation/issuers/{id}': { kind: 'admin' },
  'POST /admin/federation/bindings': { kind: 'admin', body: { json: {} } },
  'DELETE /admin/federation/bindings/{id}': { kind: 'admin' },
  'GET /admin/audit': { kind: 'admin' },
  'GET /admin/providers': { kind: 'admin' },
  'POST /admin/providers': { kind: 'admin', body: { json: {} } },
  'DELETE /admin/providers/{name}': { kind: 'admin' },
  'GET /admin/api-keys': { kind: 'admin' },
  'POST /admin/api-keys': { kind: 'admin', body: { json: {} } },
  'GET /admin/api-keys/{id}': { kind: 'admin' },
  'DELETE /admin/api-keys/{id}': { kind: 'admin' },
};

let harness: InProcessApp;
let web: CreatedClient;
let elsewhere: CreatedClient;
let doomed: CreatedClient;
let thirdParty: CreatedClient;
const ids: Record<string, string> = {};

const form = (path: string, params: Record<string, string>) =>
  harness.app.request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });

async function signIn(username: string, scope: string, client = web): Promise<string> {
  const response = await form('/token', {
    grant_type: 'password',
    username,
    password: PASSWORD,
    scope,
    client_id: client.id,
    client_secret: client.secret!,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

function call(route: string, token: string | undefined) {
  const [method, template] = route.split(' ') as [string, string];
  const { body } = routes[route]!;
  const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  let payload: string | undefined;
  if (body?.json !== undefined) [headers['Content-Type'], payload] = ['application/json', JSON.stringify(body.json)];
  if (body?.form !== undefined)
    [headers['Content-Type'], payload] = ['application/x-www-form-urlencoded', new URLSearchParams(body.form).toString()];
  return harness.app.request(template.replace('{id}', someId), { method, headers, body: payload });
}

const ALL_SCOPES = 'openid account admin introspect revocations:read';
/** Not refused: the route's own answer, whatever it is. */
const PASSES: [number, string] = [0, 'passes'];

/** Each case: how to get its token, and what each kind of route answers to it. */
const cases: [string, () => Promise<string | undefined>, Partial<Record<Kind, [number, string]>>][] = [
  ['no token', async () => undefined, {}],
  ['garbage', async () => 'not.a.token', {}],
  [
    'a revoked token',
    async () => {
      const token = await signIn('alice', ALL_SCOPES);
      const { jti, exp } = decodeJwt(token);
      await harness.denylist.add([{ jti: jti!, expiresAt: exp! }]);
      return token;
    },
    {},
  ],
  [
    'an expired token',
    async () => {
      const past = testSigner(harness.keyRing, ISSUER, { ttlSeconds: 60, offsetMs: -3_600_000 });
      const claims = {
        subject: ids.alice!,
        clientId: web.id,
        audience: [ISSUER],
        scope: ALL_SCOPES.split(' '),
        extra: { roles: ['admin', 'user'] },
      };
      return (await mintAccessToken(past, claims)).token;
    },
    {},
  ],
  ['a deleted client’s token', async () => deletedClientToken, {}],
  ['a disabled user’s token', async () => disabledUserToken, {}],
  ['a demoted admin’s token', async () => demotedAdminToken, {}],
  // With openid granted, /userinfo is among the token's audiences, and only /userinfo.
  ['a token for another audience', async () => signIn('alice', ALL_SCOPES, elsewhere), { userinfo: PASSES }],
  ['a token for another audience, without openid', async () => signIn('alice', 'account admin introspect', elsewhere), {}],
  [
    'a token with only openid',
    async () => signIn('alice', 'openid'),
    {
      admin: [403, 'insufficient_scope'],
      introspect: [403, 'insufficient_scope'],
      account: [403, 'insufficient_scope'],
      feed: [403, 'insufficient_scope'],
      userinfo: PASSES,
      user: PASSES,
    },
  ],
  [
    'a token without openid',
    async () => signIn('alice', 'account admin introspect'),
    {
      userinfo: [403, 'insufficient_scope'],
      feed: [403, 'insufficient_scope'],
      admin: PASSES,
      introspect: PASSES,
      account: PASSES,
      user: PASSES,
    },
  ],
  // The feed is for machine clients: a user's token is refused even with the scope.
  [
    'a user’s token with revocations:read',
    async () => signIn('alice', 'revocations:read'),
    {
      feed: [403, 'insufficient_scope'],
      admin: [403, 'insufficient_scope'],
      introspect: [403, 'insufficient_scope'],
      account: [403, 'insufficient_scope'],
      userinfo: [403, 'insufficient_scope'],
      user: PASSES,
    },
  ],
  [
    'a third-party app’s token with openid and profile, for this issuer',
    async () => signIn('alice', 'openid profile', thirdParty),
    {
      admin: [403, 'insufficient_scope'],
      introspect: [403, 'insufficient_scope'],
      account: [403, 'insufficient_scope'],
      feed: [403, 'insufficient_scope'],
      userinfo: PASSES,
      user: PASSES,
    },
  ],
];

let deletedClientToken: string;
/** A machine client's own token with revocations:read: what the feed takes. */
let feedReaderToken: string;
let disabledUserToken: string;
let demotedAdminToken: string;

beforeAll(async () => {
  harness = await createInProcessApp({ issuer: ISSUER });
  const db = harness.database.db;
  const scopes = ALL_SCOPES.split(' ');
  web = await createClient(db, { name: 'web', grantTypes: ['password'], scopes, audiences: [ISSUER] });
  elsewhere = await createClient(db, { name: 'elsewhere', grantTypes: ['password'], scopes, audiences: ['https://api.internal'] });
  thirdParty = await createClient(db, {
    name: 'partner',
    grantTypes: ['password'],
    scopes: ['openid', 'profile', 'email', 'account'],
    audiences: [ISSUER],
  });
  doomed = await createClient(db, { name: 'doomed', grantTypes: ['client_credentials'], scopes, audiences: [ISSUER] });
  for (const [username, roles] of [
    ['alice', ['admin', 'user']],
    ['carol', ['admin', 'user']],
    ['dave', ['admin', 'user']],
  ] as const) {
    ids[username] = (await registerUser(harness.accounts, { username, email: `${username}@example.com`, roles: [...roles] }, PASSWORD)).id;
  }
  const admin = await signIn('alice', ALL_SCOPES);
  const asAdmin = (method: string, path: string, json?: unknown) =>
    harness.app.request(path, {
      method,
      headers: { Authorization: `Bearer ${admin}`, ...(json ? { 'Content-Type': 'application/json' } : {}) },
      body: json ? JSON.stringify(json) : undefined,
    });

  const machine = await form('/token', {
    grant_type: 'client_credentials',
    scope: ALL_SCOPES,
    client_id: doomed.id,
    client_secret: doomed.secret!,
  });
  deletedClientToken = ((await machine.json()) as { access_token: string }).access_token;
  expect((await harness.app.request('/admin/keys', { headers: { Authorization: `Bearer ${deletedClientToken}` } })).status).toBe(200);
  expect((await asAdmin('DELETE', `/admin/clients/${doomed.id}`)).status).toBe(204);

  const reader = await createClient(db, { name: 'reader', grantTypes: ['client_credentials'], scopes, audiences: [ISSUER] });
  const readerAnswer = await form('/token', {
    grant_type: 'client_credentials',
    scope: 'revocations:read',
    client_id: reader.id,
    client_secret: reader.secret!,
  });
  feedReaderToken = ((await readerAnswer.json()) as { access_token: string }).access_token;

  disabledUserToken = await signIn('carol', ALL_SCOPES);
  expect((await asAdmin('PATCH', `/admin/users/${ids.carol}`, { active: false })).status).toBe(200);
  demotedAdminToken = await signIn('dave', ALL_SCOPES);
  expect((await asAdmin('PATCH', `/admin/users/${ids.dave}`, { roles: ['user'] })).status).toBe(200);
});

afterAll(() => harness?.close());

describe('every protected route of the issuer', () => {
  it('is in this table: the bearer operations of openapi.yaml', () => {
    const document = parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
      paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>>;
    };
    const bearer = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, operation]) => operation.security?.some((scheme) => 'bearerAccessToken' in scheme))
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(Object.keys(routes).sort()).toEqual(bearer.sort());
  });

  it.each(Object.keys(routes))('%s lets a valid token through', async (route) => {
    const response = await call(route, routes[route]!.kind === 'feed' ? feedReaderToken : await signIn('alice', ALL_SCOPES));
    expect([401, 403]).not.toContain(response.status);
    expect(response.status).toBeLessThan(500);
    await response.body?.cancel(); // the stream would go on
  });

  describe.each(cases)('refuses %s', (_name, tokenOf, answers) => {
    it.each(Object.keys(routes))('at %s', async (route) => {
      const { kind } = routes[route]!;
      const token = await tokenOf();
      const response = await call(route, token);
      const [status, error] = answers[kind] ?? [401, 'invalid_token'];
      if (status === 0) {
        expect([401, 403]).not.toContain(response.status);
        return;
      }
      if (token === undefined && kind === 'introspect') {
        // Without a bearer token, introspection asks for client authentication instead.
        expect([response.status, ((await response.json()) as { error: string }).error]).toEqual([401, 'invalid_client']);
        return;
      }
      expect([response.status, ((await response.json()) as { error: string }).error]).toEqual([status, error]);
      const challenge = response.headers.get('WWW-Authenticate');
      if (token === undefined) expect(challenge).toBe('Bearer realm="token-issuer"');
      else expect(challenge).toMatch(new RegExp(`^Bearer realm="token-issuer", error="${error}"`));
    });
  });
});
