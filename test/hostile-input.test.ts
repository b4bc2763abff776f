import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { OPENAPI_PATH } from '../src/http/routes/openapi-routes.js';
import { createLogger } from '../src/logger.js';
import { registerUser } from '../src/users/accounts.js';
import { createInProcessAppOn, passwordSignIn, type InProcessApp } from './support/in-process-app.js';

const ISSUER = 'http://issuer.test';
const PASSWORD = 'a long and proper passphrase';
const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/** Strings no field accepts, as JSON and form values carry them. */
const BAD_STRINGS = ['\u0000', 'bob\u0000', '\ud800', 'x\udc00y'];
/** Percent-encoded for URLs and forms: NUL, a lone surrogate in CESU-8, and bytes that are not UTF-8 at all. */
const BAD_ENCODED = ['%00', 'bob%00x', '%ED%A0%80', '%C3%28', '%FF%FE'];

/** A request each operation would accept, whose string values the test replaces one at a time. */
const templates: Record<string, { form?: Record<string, string>; json?: Record<string, unknown>; query?: Record<string, string> }> = {
  'POST /token': {
    form: {
      grant_type: 'password',
      username: 'alice',
      password: PASSWORD,
      scope: 'openid',
      client_id: '$client',
      client_secret: '$secret',
    },
  },
  'POST /refresh': { json: { refresh_token: 'x.y.z', client_id: '$client', client_secret: '$secret' } },
  'POST /revoke': { form: { token: 'x.y.z', token_type_hint: 'access_token', client_id: '$client', client_secret: '$secret' } },
  'POST /introspect': { form: { token: 'x.y.z', client_id: '$client', client_secret: '$secret' } },
  'POST /userinfo': { form: { access_token: '$token' } },
  'POST /signup': { json: { username: 'newbie', email: 'newbie@example.com', password: PASSWORD, full_name: 'New Bie' } },
  'POST /password/forgot': { json: { email: 'alice@example.com' } },
  'POST /password/reset': { json: { token: 'abc', new_password: PASSWORD } },
  'PATCH /me': { json: { full_name: 'Alice', email: 'alice2@example.com', current_password: PASSWORD } },
  'POST /me/password': { json: { current_password: PASSWORD, new_password: `${PASSWORD}!` } },
  'POST /logout': { json: { refresh_token: 'x.y.z' } },
  'POST /admin/users': { json: { username: 'made', email: 'made@example.com', password: PASSWORD, full_name: 'Made', roles: ['user'] } },
  'PATCH /admin/users/{id}': { json: { full_name: 'X', email: 'x@example.com', roles: ['user'] } },
  'POST /admin/clients': {
    json: { name: 'c', grant_types: ['client_credentials'], scopes: ['a'], audiences: ['https://api'], redirect_uris: [] },
  },
  'PATCH /admin/clients/{id}': { json: { name: 'c', scopes: ['a'], audiences: ['https://api'] } },
  'POST /admin/federation/issuers': {
    json: { issuer: 'https://k8s.example.com', audience: 'token-issuer', jwks_uri: 'https://k8s.example.com/openid/v1/jwks' },
  },
  'POST /admin/federation/bindings': {
    json: { client_id: '$client', issuer: 'https://k8s.example.com', subject: 'system:serviceaccount:a:b', claims: { ref: 'main' } },
  },
  'POST /admin/providers': {
    json: { name: 'acme', type: 'oidc', issuer: 'https://login.acme.example', client_id: 'x', client_secret: 'y' },
  },
  'GET /admin/users': { query: { username: 'al', email: 'al', role: 'user', active: 'true', cursor: 'abc' } },
  'GET /admin/clients': { query: { cursor: 'abc' } },
  'GET /authorize': {
    query: {
      response_type: 'code',
      client_id: 'web',
      redirect_uri: 'https://app.example.com/cb',
      scope: 'openid',
      state: 's',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      prompt: 'none',
      max_age: '10',
    },
  },
  'GET /authorize/login': { query: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b' } },
  'GET /authorize/consent': { query: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b' } },
  'POST /authorize/login': {
    form: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b', csrf: 'x', username: 'alice', password: PASSWORD },
  },
  'POST /authorize/consent': { form: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b', csrf: 'x', decision: 'allow' } },
  'GET /authorize/second-factor': { query: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b' } },
  'POST /authorize/second-factor': { form: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b', csrf: 'x', code: '123456' } },
  'GET /authorize/enrol': { query: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b' } },
  'POST /authorize/enrol': {
    form: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b', csrf: 'x', factor: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b', code: '123456' },
  },
  'GET /authorize/upstream': { query: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b', provider: 'acme', csrf: 'x' } },
  'GET /authorize/callback': { query: { state: 'abc', code: 'def', iss: 'https://login.acme.example' } },
  'POST /authorize/continue': { form: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b', csrf: 'x' } },
  'POST /me/factors/totp': { json: { name: 'Phone' } },
  'POST /me/api-keys': { json: { name: 'deploy bot', scopes: ['openid'], audiences: ['https://api'] } },
  'POST /admin/api-keys': { json: { client_id: '$client', name: 'nightly', scopes: ['openid'], audiences: ['https://api'] } },
  'GET /admin/api-keys': { query: { client_id: 'c' } },
  'GET /revocations/stream': { query: { cursor: '1' } },
  'POST /me/passkeys': { json: { name: 'Laptop', response: { id: 'abc', type: 'public-key' } } },
  'POST /authorize/passkey': { form: { request: 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b', csrf: 'x', credential: '{"id":"abc"}' } },
  'POST /me/factors/totp/{id}/confirm': { json: { code: '123456' } },
  'GET /session/end': { query: { id_token_hint: 'x.y.z', client_id: 'web', state: 's' } },
  'POST /session/end': { form: { id_token_hint: '$token', client_id: '$client', post_logout_redirect_uri: 'https://x.test/', state: 's' } },
  'POST /session/end/confirm': { form: { csrf: 'x', decision: 'logout', client_id: '$client', state: 's' } },
  'GET /admin/audit': {
    query: { type: 'logout', user_id: '00000000-0000-0000-0000-000000000000', client_id: 'c', actor: 'user:x', cursor: 'abc' },
  },
};

const operations = Object.entries(
  (parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, unknown>> }).paths,
).flatMap(([path, item]) =>
  Object.keys(item)
    .filter((method) => HTTP_METHODS.has(method))
    .map((method) => `${method.toUpperCase()} ${path}`),
);

describe.each([
  ['PGlite', false],
  ['PostgreSQL', true],
])('hostile bytes in every input, on %s', (_name, onPostgres) => {
  let harness: InProcessApp | undefined;
  let web: CreatedClient;
  let token: string;
  const errorLogs: string[] = [];

  beforeAll(async () => {
    harness = await createInProcessAppOn(onPostgres, {
      issuer: ISSUER,
      env: {
        SIGNUP_ENABLED: 'true',
        SIGNUP_RATE_LIMIT_PER_IP: '1000000',
        LOGIN_MAX_FAILURES_PER_IP: '1000000',
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000000',
      },
      logger: createLogger('error', { write: (line: string) => void errorLogs.push(line) }),
    });
    if (!harness) return;
    web = await createClient(harness.database.db, {
      name: 'web',
      grantTypes: ['password', 'client_credentials'],
      scopes: ['openid', 'account', 'admin'],
      audiences: [ISSUER],
    });
    await registerUser(harness.accounts, { username: 'alice', email: 'alice@example.com', roles: ['admin', 'user'] }, PASSWORD);
  });

  // A fresh admin token for each operation: some of them (logout) revoke the one they get.
  beforeEach(async () => {
    errorLogs.length = 0;
    if (!harness) return;
    const response = await passwordSignIn(harness, web, { username: 'alice', password: PASSWORD, scope: 'openid account admin' });
    token = ((await response.json()) as { access_token: string }).access_token;
  });

  afterAll(() => harness?.close());

  /** Sends one request; returns its status. */
  async function send(
    operation: string,
    parts: { path?: string; query?: string; form?: string; json?: string | Uint8Array; basic?: string },
  ) {
    const [method, template] = operation.split(' ') as [string, string];
    const headers: Record<string, string> = { Authorization: parts.basic ? `Basic ${parts.basic}` : `Bearer ${token}` };
    let body: string | Uint8Array | undefined;
    if (parts.form !== undefined) [headers['Content-Type'], body] = ['application/x-www-form-urlencoded', parts.form];
    if (parts.json !== undefined) [headers['Content-Type'], body] = ['application/json', parts.json];
    const path = template.replace(/\{[a-z_]+\}/g, parts.path ?? 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b');
    const response = await harness!.app.request(`${path}${parts.query ? `?${parts.query}` : ''}`, { method, headers, body });
    return response.status;
  }

  const filled = (value: unknown): unknown =>
    value === '$client' ? web.id : value === '$secret' ? web.secret : value === '$token' ? token : value;

  it.each(operations)('%s answers every hostile input with a 4xx (or its normal answer), never a 5xx', async (operation) => {
    if (!harness) return expect(onPostgres).toBe(true); // PostgreSQL not configured here; CI always has it
    const statuses: [string, number][] = [];
    const record = async (what: string, parts: Parameters<typeof send>[1]) => statuses.push([what, await send(operation, parts)]);
    const template = templates[operation] ?? {};

    for (const bad of BAD_ENCODED) {
      if (operation.includes('{')) await record(`path ${bad}`, { path: bad });
      await record(`query ${bad}`, { query: `q=${bad}` });
      for (const name of Object.keys(template.query ?? {}))
        await record(`query ${name}=${bad}`, { query: new URLSearchParams({ ...template.query, [name]: '' }).toString() + bad });
    }
    if (template.form) {
      for (const name of Object.keys(template.form)) {
        for (const bad of BAD_ENCODED) {
          const values = Object.fromEntries(Object.entries(template.form).map(([key, value]) => [key, String(filled(value))]));
          await record(`form ${name}=${bad}`, {
            form: `${new URLSearchParams({ ...values, [name]: '' }).toString().replace(`${name}=`, `${name}=${bad}`)}`,
          });
        }
      }
    }
    if (template.json) {
      for (const name of Object.keys(template.json)) {
        for (const bad of BAD_STRINGS) {
          const values = Object.fromEntries(Object.entries(template.json).map(([key, value]) => [key, filled(value)]));
          const value = Array.isArray(values[name]) ? [bad] : bad;
          await record(`json ${name}=${JSON.stringify(bad)}`, { json: JSON.stringify({ ...values, [name]: value }) });
        }
      }
      // Bytes that are not UTF-8 inside a JSON string.
      const text = JSON.stringify(Object.fromEntries(Object.entries(template.json).map(([key, value]) => [key, filled(value)])));
      const at = text.indexOf('":"') + 3;
      await record('json invalid UTF-8', {
        json: Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(text.slice(at))]),
      });
    }
    for (const credentials of [`a\u0000b:secret`, `${web.id}:\u0000`, `%00:x`, `\ud800:x`]) {
      const form = operation.startsWith('GET ') ? undefined : 'grant_type=client_credentials';
      await record(`basic ${JSON.stringify(credentials)}`, { basic: Buffer.from(credentials).toString('base64'), form });
    }

    expect(statuses.filter(([, status]) => status >= 500)).toEqual([]);
    expect(errorLogs).toEqual([]);
  });

  it('refuses NUL in the fields a review found reaching PostgreSQL with 400 invalid_request', async () => {
    if (!harness) return expect(onPostgres).toBe(true);
    const form = (body: string) => send('POST /token', { form: body });
    expect([
      await form(`grant_type=password&username=al%00ice&password=x&client_id=${web.id}&client_secret=${web.secret}`),
      await form(`grant_type=client_credentials&client_id=we%00b&client_secret=x`),
      await send('POST /signup', { json: JSON.stringify({ username: 'nul', email: 'n\u0000@example.com', password: PASSWORD }) }),
      await send('PATCH /me', { json: JSON.stringify({ full_name: 'a\u0000' }) }),
      await send('GET /admin/users', { query: 'username=a%00' }),
      await send('GET /admin/clients/{id}', { path: 'a%00b' }),
    ]).toEqual([400, 400, 400, 400, 400, 400]);
  });

  it('refuses cursors and dates the API could not have made with 400 invalid_request, never PostgreSQL’s range error', async () => {
    if (!harness) return expect(onPostgres).toBe(true);
    const cursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');
    const uuid = 'f9b7c2a0-3c1e-4d4e-9a51-3f0f5c1d2e7b';
    const impossible = ['2026-13-45 25:61:61+00', '2026-02-30 10:00:00+00', '0000-01-01 00:00:00+00', '2026-01-01 10:00:00+99'];
    const answers: [string, number][] = [];
    for (const at of impossible) {
      for (const path of ['/admin/users', '/admin/audit'])
        answers.push([`${path} ${at}`, await send(`GET ${path}`, { query: `cursor=${cursor(at, uuid)}` })]);
      answers.push([`/admin/clients ${at}`, await send('GET /admin/clients', { query: `cursor=${cursor(at, 'some-client')}` })]);
    }
    for (const moment of ['0000-01-01T00:00:00Z', '2026-02-30T00:00:00Z']) {
      for (const name of ['since', 'until'])
        answers.push([`${name}=${moment}`, await send('GET /admin/audit', { query: `${name}=${moment}` })]);
      answers.push([
        `before=${moment}`,
        await send('POST /admin/revocations', { json: JSON.stringify({ client_id: web.id, before: moment }) }),
      ]);
    }
    expect(answers.filter(([, status]) => status !== 400)).toEqual([]);
    // A real cursor and real dates still work (two more sign-ins: a second page to point at).
    for (let i = 0; i < 2; i += 1) await passwordSignIn(harness!, web, { username: 'alice', password: PASSWORD, scope: 'openid' });
    const first = await harness!.app.request('/admin/audit?limit=1', { headers: { Authorization: `Bearer ${token}` } });
    const next = ((await first.json()) as { next_cursor: string | null }).next_cursor;
    expect(next).not.toBeNull();
    expect(await send('GET /admin/audit', { query: `cursor=${next}` })).toBe(200);
    expect(await send('GET /admin/audit', { query: 'since=0001-01-01T00:00:00Z&until=9999-12-31T23:59:59Z' })).toBe(200);
    expect(errorLogs).toEqual([]);
  });
});
