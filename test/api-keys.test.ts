import { serve, type ServerType } from '@hono/node-server';
import { and, count, eq, sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, isWellFormedApiKey, type VerificationError } from '@token-issuer/verifier';
import { findLiveApiKey } from '../src/api-keys/api-keys.js';
import { runCli } from '../src/cli/run.js';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { adminContextOf } from '../src/composition.js';
import type { Database } from '../src/db/database.js';
import { apiKeys, auditEvents } from '../src/db/schema.js';
import { TOKEN_EXCHANGE_GRANT } from '../src/grants/grant-types.js';
import { createLogger } from '../src/logger.js';
import { registerUser } from '../src/users/accounts.js';
import { changeUser } from '../src/users/user-changes.js';
import { createInProcessApp, createInProcessAppOn, passwordSignIn, socketFrom, type InProcessApp } from './support/in-process-app.js';

/**
 * API keys (issue: token exchange and API keys): made through the account API, the admin API and
 * the CLI; exchanged at /token without a client; narrowed or killed by what happens to their owner;
 * revoked everywhere through one cut-off; accepted by the verifier library, which exchanges a key
 * once and then verifies locally. In-process on PostgreSQL when the suite has it, with the app on a
 * real socket where the verifier must reach /token.
 */
const ISSUER = 'http://issuer.test';
const ORDERS = 'https://orders.internal';
const BILLING = 'https://billing.internal';
const PASSWORD = 'a long and quiet passphrase';
const API_KEY_TYPE = 'urn:token-issuer:params:oauth:token-type:api-key';

let harness: InProcessApp;
let db: Database;
let app: CreatedClient;
let robot: CreatedClient;
let server: ServerType;
let tokenEndpoint: string;
/** Calls that reached /token over the socket: how often a verifier asked the issuer. */
let tokenCalls = 0;
let clockAhead = 0;
let users = 0;

beforeAll(async () => {
  const now = () => new Date(Date.now() + clockAhead * 1000);
  const options = { issuer: ISSUER, now };
  harness = (await createInProcessAppOn(true, options)) ?? (await createInProcessApp(options));
  db = harness.database.db;
  app = await createClient(db, {
    name: 'app',
    grantTypes: ['password'],
    firstParty: true,
    scopes: ['account', 'admin', 'orders:read', 'orders:write'],
    audiences: [ISSUER, ORDERS],
  });
  robot = await createClient(db, { name: 'robot', grantTypes: ['client_credentials'], scopes: ['billing:read'], audiences: [BILLING] });
  await new Promise<void>((resolve) => {
    server = serve(
      {
        fetch: (request, env) => {
          if (new URL(request.url).pathname === '/token') tokenCalls += 1;
          return harness.app.fetch(request, env);
        },
        port: 0,
        hostname: '127.0.0.1',
      },
      (info) => {
        tokenEndpoint = `http://127.0.0.1:${info.port}/token`;
        resolve();
      },
    );
  });
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await harness?.close();
});

async function newUser(roles: string[] = ['user']) {
  users += 1;
  const username = `key-owner-${users}`;
  const user = await registerUser(harness.accounts, { username, email: `${username}@example.com`, roles }, PASSWORD);
  const signedIn = await passwordSignIn(harness, app, {
    username,
    password: PASSWORD,
    scope: roles.includes('admin') ? 'account admin' : 'account',
  });
  expect(signedIn.status).toBe(200);
  return { ...user, token: ((await signedIn.json()) as { access_token: string }).access_token };
}

const call = (path: string, token: string, init: { method?: string; body?: unknown; contentType?: string } = {}) =>
  harness.app.request(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      Authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'Content-Type': init.contentType ?? 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });

interface CreatedKey {
  id: string;
  key: string;
  scopes: string[];
  audiences: string[];
  expires_at: string;
}

async function createOwnKey(token: string, body: Record<string, unknown> = {}): Promise<CreatedKey> {
  const response = await call('/me/api-keys', token, {
    body: { name: 'deploy bot', scopes: ['orders:read'], audiences: [ORDERS], ...body },
  });
  const answer = (await response.json()) as CreatedKey;
  expect(response.status, JSON.stringify({ ...answer, key: undefined })).toBe(201);
  return answer;
}

function exchangeKey(key: string, fields: Record<string, string> = {}, ip?: string, headers: Record<string, string> = {}) {
  const init = {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: key, subject_token_type: API_KEY_TYPE, ...fields }),
  };
  return ip === undefined ? harness.app.request('/token', init) : harness.app.request('/token', init, socketFrom(ip));
}

async function tokenFor(key: string, fields: Record<string, string> = {}) {
  const response = await exchangeKey(key, fields);
  const body = (await response.json()) as { access_token: string; expires_in: number; scope?: string; error?: string };
  expect(response.status, body.error).toBe(200);
  return body;
}

const refusalOf = async (response: Response | Promise<Response>) => {
  const answer = await response;
  return { status: answer.status, error: ((await answer.json()) as { error?: string }).error };
};

/** A downstream service on the verifier library, with the issuer's denylist. */
const verifierFor = (audience: string, apiKeys = true) =>
  createVerifier({
    issuer: ISSUER,
    audience,
    keySet: () => harness.keyRing.verificationKeys(),
    revocations: harness.denylist,
    ...(apiKeys ? { apiKeys: { tokenEndpoint } } : {}),
  });
const reasonOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: VerificationError) => error.reason,
  );

const auditCount = async (type: string, keyId: string) =>
  (
    await db
      .select({ n: count() })
      .from(auditEvents)
      .where(and(eq(auditEvents.type, type), sql`${auditEvents.details} ->> 'key_id' = ${keyId}`))
  )[0]!.n;

describe('a user’s own keys', () => {
  it('are made once, shown once, listed without the secret, and exchanged for a token of the user', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token);
    expect(created.key).toMatch(/^tik_[0-9A-Za-z]{49}$/);
    expect(isWellFormedApiKey(created.key)).toBe(true);
    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, created.id));
    expect(JSON.stringify(row)).not.toContain(created.key.slice(4));

    const listed = (await (await call('/me/api-keys', owner.token)).json()) as { items: Record<string, unknown>[] };
    expect(listed.items).toEqual([
      expect.objectContaining({ id: created.id, name: 'deploy bot', scopes: ['orders:read'], revoked_at: null }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const token = await tokenFor(created.key);
    const claims = decodeJwt(token.access_token);
    // The user's token, naming the key as its client and its session: revoking the key is one cut-off.
    expect(claims).toMatchObject({ sub: owner.id, client_id: created.id, sid: created.id, scope: 'orders:read', aud: ORDERS });
    expect(token.expires_in).toBeLessThanOrEqual(harness.config.accessTokenTtlSeconds);
    expect(await verifierFor(ORDERS, false).verify(token.access_token)).toMatchObject({ sub: owner.id, scope: ['orders:read'] });
  });

  it('need a recent sign-in to be made, never one made from a key', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token, { scopes: ['account'], audiences: [ISSUER] });
    const fromKey = await tokenFor(created.key);
    // The key's token names no registered client: the issuer's own API refuses it outright.
    const refused = await call('/me/api-keys', fromKey.access_token, { body: { name: 'x', audiences: [ORDERS] } });
    expect(refused.status).toBe(401);
  });

  it('cannot hold what the owner may not: a scope no client has, an admin scope without the role, an unregistered audience', async () => {
    const owner = await newUser();
    for (const body of [
      { scopes: ['payroll:write'] },
      { scopes: ['admin'] },
      { audiences: ['https://elsewhere.example'] },
      { expires_in: harness.config.apiKeys.maxLifetimeSeconds + 1 },
      { expires_in: 10 },
      { expires_in: '90d' },
      { name: '' },
      { name: 'x'.repeat(101) },
      { scopes: 'orders:read' },
      { audiences: [] },
      { colour: 'blue' },
    ]) {
      const response = await call('/me/api-keys', owner.token, {
        body: { name: 'n', scopes: ['orders:read'], audiences: [ORDERS], ...body },
      });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await call('/me/api-keys', owner.token, { body: 'name=x', contentType: 'application/x-www-form-urlencoded' })).status).toBe(
      415,
    );
    expect((await call('/me/api-keys', owner.token, { body: '{"name":' })).status).toBe(400);
    const listed = (await (await call('/me/api-keys', owner.token)).json()) as { items: unknown[] };
    expect(listed.items).toEqual([]);
  });

  it('are revoked by their owner only, and a revoked key’s tokens are refused at once', async () => {
    const owner = await newUser();
    const other = await newUser();
    const created = await createOwnKey(owner.token);
    const token = await tokenFor(created.key);
    expect((await call(`/me/api-keys/${created.id}`, other.token, { method: 'DELETE' })).status).toBe(404);
    expect((await call('/me/api-keys/not-a-uuid', owner.token, { method: 'DELETE' })).status).toBe(404);

    expect((await call(`/me/api-keys/${created.id}`, owner.token, { method: 'DELETE' })).status).toBe(204);
    expect(await reasonOf(verifierFor(ORDERS, false).verify(token.access_token))).toBe('revoked_session');
    expect(await refusalOf(exchangeKey(created.key))).toEqual({ status: 400, error: 'invalid_request' });
    // Again: nothing more to do.
    expect((await call(`/me/api-keys/${created.id}`, owner.token, { method: 'DELETE' })).status).toBe(204);
    expect(await auditCount('api_key_revoked', created.id)).toBe(1);
  });
});

describe('exchanging a key', () => {
  it('takes no client authentication: the key is the credential', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token);
    const withClient = await exchangeKey(created.key, {}, undefined, {
      Authorization: `Basic ${Buffer.from(`${robot.id}:${robot.secret}`).toString('base64')}`,
    });
    expect(await refusalOf(withClient)).toEqual({ status: 400, error: 'invalid_request' });
    expect(await refusalOf(exchangeKey(created.key, { client_id: app.id }))).toEqual({ status: 400, error: 'invalid_request' });
    expect(await refusalOf(exchangeKey(created.key, { actor_token: 'x', actor_token_type: 'y' }))).toEqual({
      status: 400,
      error: 'invalid_request',
    });
  });

  it('narrows to one registered target and a subset of the key’s scopes', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token, { scopes: ['orders:read', 'orders:write'], audiences: [ORDERS, ISSUER] });
    expect(decodeJwt((await tokenFor(created.key)).access_token).aud).toEqual([ORDERS, ISSUER]);
    expect(decodeJwt((await tokenFor(created.key, { audience: ORDERS, scope: 'orders:read' })).access_token)).toMatchObject({
      aud: ORDERS,
      scope: 'orders:read',
    });
    expect(await refusalOf(exchangeKey(created.key, { audience: BILLING }))).toEqual({ status: 400, error: 'invalid_target' });
    expect(await refusalOf(exchangeKey(created.key, { scope: 'admin' }))).toEqual({ status: 400, error: 'invalid_scope' });
  });

  it('never outlives the key, and an expired key is refused', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token, { expires_in: 120 });
    const token = await tokenFor(created.key);
    expect(decodeJwt(token.access_token).exp).toBeLessThanOrEqual(Math.floor(Date.parse(created.expires_at) / 1000));
    expect(token.expires_in).toBeLessThanOrEqual(120);
    clockAhead = 121;
    try {
      expect(await refusalOf(exchangeKey(created.key))).toEqual({ status: 400, error: 'invalid_request' });
    } finally {
      clockAhead = 0;
    }
  });

  it('dies with its owner’s account and narrows with its owner’s roles', async () => {
    const admin = await newUser(['user', 'admin']);
    const created = await createOwnKey(admin.token, { scopes: ['admin', 'orders:read'] });
    const before = await tokenFor(created.key);
    expect(before.scope).toBe('admin orders:read');

    const demoted = await changeUser(harness.revocation, admin, { roles: ['user'] }, { by: {}, lastAdmin: 'allow' });
    // The demotion's cut-off refuses the old token; the next exchange gets what the user may hold now.
    expect(await reasonOf(verifierFor(ORDERS, false).verify(before.access_token))).toBe('revoked_subject');
    expect((await tokenFor(created.key)).scope).toBe('orders:read');

    await changeUser(harness.revocation, demoted.user, { isActive: false }, { by: {}, lastAdmin: 'allow' });
    expect(await refusalOf(exchangeKey(created.key))).toEqual({ status: 400, error: 'invalid_request' });
  });

  it('of a machine client gives the client’s own token, and dies with the client', async () => {
    const admin = await newUser(['user', 'admin']);
    const made = await call('/admin/api-keys', admin.token, {
      body: { client_id: robot.id, name: 'nightly export', scopes: ['billing:read'], audiences: [BILLING], expires_in: 3600 },
    });
    const created = (await made.json()) as CreatedKey & { client_id: string };
    expect(made.status).toBe(201);
    expect(created.client_id).toBe(robot.id);
    expect(decodeJwt((await tokenFor(created.key)).access_token)).toMatchObject({ sub: robot.id, client_id: robot.id, sid: created.id });
    const listed = (await (await call(`/admin/api-keys?client_id=${robot.id}`, admin.token)).json()) as { items: { id: string }[] };
    expect(listed.items.map((item) => item.id)).toContain(created.id);

    const doomed = await createClient(db, {
      name: 'doomed',
      grantTypes: ['client_credentials'],
      scopes: ['billing:read'],
      audiences: [BILLING],
    });
    const doomedKey = (await (
      await call('/admin/api-keys', admin.token, { body: { client_id: doomed.id, name: 'k', scopes: [], audiences: [BILLING] } })
    ).json()) as CreatedKey;
    await harness.app.request(`/admin/clients/${doomed.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${admin.token}` } });
    expect(await refusalOf(exchangeKey(doomedKey.key))).toEqual({ status: 400, error: 'invalid_request' });
  });

  it('in a burst gives every caller a token and records the first use once', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token);
    const answers = await Promise.all(Array.from({ length: 12 }, () => exchangeKey(created.key)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    expect(await auditCount('api_key_first_used', created.id)).toBe(1);
    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, created.id));
    expect(row!.lastUsedAt).not.toBeNull();
  });

  it('refused is audited and, past API_KEY_MAX_FAILURES_PER_IP from one address, throttled', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token);
    const ip = '198.51.100.77';
    const limit = harness.config.rateLimits.apiKeyFailures;
    const wrong = created.key.slice(0, 10) + (created.key[10] === 'A' ? 'B' : 'A') + created.key.slice(11);
    const answers = await Promise.all(Array.from({ length: limit + 3 }, () => exchangeKey(wrong, {}, ip)));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 400)).toHaveLength(limit);
    expect(statuses.filter((status) => status === 429)).toHaveLength(3);
    const audited = await db
      .select({ n: count() })
      .from(auditEvents)
      .where(and(eq(auditEvents.type, 'api_key_refused'), eq(auditEvents.ipAddress, ip)));
    expect(audited[0]!.n).toBe(limit);
    // Another address is not held back.
    expect((await exchangeKey(created.key, {}, '198.51.100.78')).status).toBe(200);
  });

  it('with a bad checksum is refused without a database lookup', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token);
    const typo = created.key.slice(0, -1) + (created.key.endsWith('A') ? 'B' : 'A');
    expect(isWellFormedApiKey(typo)).toBe(false);
    const untouchable = new Proxy({} as Database, {
      get() {
        throw new Error('the database was asked');
      },
    });
    expect(await findLiveApiKey({ db: untouchable }, typo, new Date())).toBeUndefined();
    expect(await findLiveApiKey({ db }, created.key, new Date())).toMatchObject({ id: created.id });
  });
});

describe('the verifier library with API keys', () => {
  it('exchanges a key once, then verifies locally; a revoked key is refused at the next request', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token);
    const verifier = verifierFor(ORDERS);
    const before = tokenCalls;
    const principals = await Promise.all(Array.from({ length: 8 }, () => verifier.verifyApiKey(created.key)));
    expect(principals.every((principal) => principal.sub === owner.id)).toBe(true);
    await verifier.verifyApiKey(created.key);
    expect(tokenCalls - before).toBe(1);

    await call(`/me/api-keys/${created.id}`, owner.token, { method: 'DELETE' });
    expect(await reasonOf(verifier.verifyApiKey(created.key))).toBe('api_key_refused');
  });

  it('refuses a malformed key without asking the issuer, and keys at all unless enabled', async () => {
    const owner = await newUser();
    const created = await createOwnKey(owner.token);
    const before = tokenCalls;
    // The last checksum character changed (to another one: a key may end in 0 already).
    const miswritten = created.key.slice(0, -1) + (created.key.endsWith('0') ? '1' : '0');
    expect(await reasonOf(verifierFor(ORDERS).verifyApiKey(miswritten))).toBe('malformed_api_key');
    expect(await reasonOf(verifierFor(ORDERS).verifyApiKey('not a key'))).toBe('malformed_api_key');
    expect(await reasonOf(verifierFor(ORDERS, false).verifyApiKey(created.key))).toBe('api_keys_not_accepted');
    expect(tokenCalls).toBe(before);
  });

  it('exchanges again after the owner is demoted, getting what the key may do now', async () => {
    const admin = await newUser(['user', 'admin']);
    const created = await createOwnKey(admin.token, { scopes: ['admin', 'orders:read'] });
    const verifier = verifierFor(ORDERS);
    expect((await verifier.verifyApiKey(created.key)).scope).toEqual(['admin', 'orders:read']);
    await changeUser(harness.revocation, admin, { roles: ['user'] }, { by: {}, lastAdmin: 'allow' });
    expect((await verifier.verifyApiKey(created.key)).scope).toEqual(['orders:read']);
  });
});

describe('token-issuer api-keys', () => {
  const run = async (argv: string[]) => {
    const context = adminContextOf({ config: harness.config, db, logger: createLogger('silent'), denylist: harness.denylist });
    const outcome = await runCli(argv, { readStdin: async () => '', warn: () => {} }, (command) => command(context));
    return { code: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr };
  };

  it('creates a key for a user, prints it once, lists it without it, and revokes it', async () => {
    const owner = await newUser();
    const made = await run([
      'api-keys',
      'create',
      '--user',
      owner.username,
      '--name',
      'ci',
      '--scopes',
      'orders:read',
      '--audiences',
      ORDERS,
      '--expires-in',
      '30d',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const created = JSON.parse(made.stdout) as CreatedKey;
    expect(Date.parse(created.expires_at) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const listed = await run(['api-keys', 'list', '--user', owner.username]);
    expect(listed.stdout).toContain(created.id);
    expect(listed.stdout).not.toContain(created.key);
    await tokenFor(created.key);
    expect((await run(['api-keys', 'revoke', created.id])).code).toBe(0);
    expect(await refusalOf(exchangeKey(created.key))).toEqual({ status: 400, error: 'invalid_request' });
  });

  it.each([
    [['api-keys', 'create', '--name', 'x', '--audiences', ORDERS], 'give one'],
    [['api-keys', 'create', '--user', 'a', '--client', 'b', '--name', 'x', '--audiences', ORDERS], 'give one'],
    [['api-keys', 'create', '--client', 'b', '--audiences', ORDERS], '--name LABEL is required'],
    [['api-keys', 'create', '--client', 'b', '--name', 'x', '--audiences', ORDERS, '--expires-in', 'soon'], '--expires-in is a duration'],
    [['api-keys', 'rotate'], 'unknown api-keys action: rotate'],
  ])('%j is a usage error', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('says what is wrong with a key it cannot make', async () => {
    const result = await run(['api-keys', 'create', '--client', robot.id, '--name', 'x', '--scopes', 'admin', '--audiences', BILLING]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('scopes the owner may not hold: admin');
    expect((await run(['api-keys', 'revoke', '00000000-0000-4000-8000-000000000000'])).stderr).toContain('no such API key');
  });
});
