import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerificationError } from '@token-issuer/verifier';
import { createVerifier } from '@token-issuer/verifier';
import { callApi, clientToken, signIn } from '../support/api-client.js';
import { runCli, startDemoApi, startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const AUDIENCE = 'https://items.test';
const PASSWORD = 'a long shared passphrase';

/** An operator's automation: a client whose own tokens may use the admin API and introspect. */
const opsClient = (database: TestDatabase) =>
  seedClient(database.env, ['--name', 'ops', '--grants', 'client_credentials', '--scopes', 'admin introspect', '--audiences', ISSUER]);

/**
 * Cut-offs as an operator uses them in an incident: the issuer, and a downstream API in its own
 * process that knows the issuer only through @token-issuer/verifier, on real PostgreSQL and Redis.
 * The API keeps its JWKS copy for a minute, so a refusal within 2 s is the pushed cut-off's doing.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('cut-offs reach a verifier in another process', () => {
  let database: TestDatabase;
  let issuer: RunningServer;
  let demo: RunningServer;
  let ops: ClientCredentials;
  let app: ClientCredentials;

  const items = async (token: string) => (await fetch(`${demo.url}/items`, { headers: { Authorization: `Bearer ${token}` } })).status;
  const refusedWithin2s = (token: string) => expect.poll(() => items(token), { timeout: 2_000, interval: 50 }).toBe(401);
  const adminToken = async () => (await clientToken(issuer.url, ops, 'admin introspect')).body.access_token as string;
  const admin = async (method: string, path: string, json?: unknown) =>
    callApi(issuer.url, method, path, { token: await adminToken(), ...(json === undefined ? {} : { json }) });
  const introspect = async (token: string) =>
    (
      await callApi(issuer.url, 'POST', '/introspect', {
        token: await adminToken(),
        body: new URLSearchParams({ token }).toString(),
        contentType: 'application/x-www-form-urlencoded',
      })
    ).body;
  const machine = async (name: string) =>
    seedClient(database.env, ['--name', name, '--grants', 'client_credentials', '--scopes', 'items:read', '--audiences', AUDIENCE]);
  const machineToken = async (client: ClientCredentials) => {
    const token = (await clientToken(issuer.url, client)).body.access_token as string;
    expect(await items(token)).toBe(200);
    return token;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    ops = await opsClient(database);
    // A first-party app without the refresh grant: its sign-ins are sessions of one access token.
    app = await seedClient(database.env, ['--name', 'app', '--grants', 'password', '--scopes', 'items:read', '--audiences', AUDIENCE]);
    // Another active admin, so that demoting one is allowed.
    await seedUser(database.env, ['--username', 'root', '--email', 'root@example.com', '--roles', 'admin,user'], PASSWORD);
    issuer = await startServer({ ...database.env, ISSUER });
    demo = await startDemoApi({
      ISSUER,
      AUDIENCE,
      JWKS_URI: `${issuer.url}/.well-known/jwks.json`,
      REDIS_URL: database.env.REDIS_URL!,
      REDIS_KEY_PREFIX: database.env.REDIS_KEY_PREFIX!,
    });
  });

  afterAll(async () => {
    await Promise.all([issuer?.stop(), demo?.stop()]);
    await database?.drop();
  });

  it('deleting a client refuses its client_credentials tokens within 2 s there, and at once at /introspect', async () => {
    const billing = await machine('billing');
    const token = await machineToken(billing);
    expect((await introspect(token)).active).toBe(true);
    expect((await admin('DELETE', `/admin/clients/${billing.client_id}`)).status).toBe(204);
    expect(await introspect(token)).toEqual({ active: false });
    await refusedWithin2s(token);
  });

  it('a disabled user: their token from a client without refresh is refused', async () => {
    const user = await seedUser(database.env, ['--username', 'dana', '--email', 'dana@example.com'], PASSWORD);
    const token = (await signIn(issuer.url, app, 'dana', PASSWORD)).body.access_token as string;
    expect(await items(token)).toBe(200);
    expect((await admin('PATCH', `/admin/users/${user.id}`, { active: false })).status).toBe(200);
    expect(await introspect(token)).toEqual({ active: false });
    await refusedWithin2s(token);
  });

  it('a demoted admin: their token is refused, and a token after the demotion works', async () => {
    const user = await seedUser(database.env, ['--username', 'ray', '--email', 'ray@example.com', '--roles', 'admin,user'], PASSWORD);
    const before = (await signIn(issuer.url, app, 'ray', PASSWORD)).body.access_token as string;
    expect(await items(before)).toBe(200);
    expect((await admin('PATCH', `/admin/users/${user.id}`, { roles: ['user'] })).status).toBe(200);
    await refusedWithin2s(before);
    // Issued in the same second as the cut-off, perhaps: the issuer dates it after the cut-off.
    const after = (await signIn(issuer.url, app, 'ray', PASSWORD)).body.access_token as string;
    expect(await items(after)).toBe(200);
  });

  it('rotating a leaked secret with revoke_tokens refuses the old tokens; the new secret works at once', async () => {
    const search = await machine('search');
    const token = await machineToken(search);
    const rotated = await admin('POST', `/admin/clients/${search.client_id}/secret?revoke_tokens=true`);
    expect(rotated.status).toBe(200);
    await refusedWithin2s(token);
    await machineToken({ client_id: search.client_id, client_secret: String(rotated.body.client_secret) });
  });

  it('`token-issuer revoke --client` from another process refuses that client’s tokens', async () => {
    const reports = await machine('reports');
    const token = await machineToken(reports);
    const result = await runCli(['revoke', '--client', reports.client_id], database.env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ kind: 'client_id', value: reports.client_id, sessions_ended: 0 });
    await refusedWithin2s(token);
    await machineToken(reports);
  });

  it('keys revoke: tokens the key signed are refused, it leaves the JWKS, and a new key signs at once', async () => {
    const feed = await machine('feed');
    const token = await machineToken(feed);
    const { kid } = decodeProtectedHeader(token);
    const revoked = await admin('POST', `/admin/keys/${kid}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ kid, purpose: 'access', status: 'revoked' });
    await refusedWithin2s(token);
    const jwks = (await (await fetch(`${issuer.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).not.toContain(kid);
    expect(jwks.keys.map((key) => key.kid)).toContain(revoked.body.replaced_by);
    const next = (await clientToken(issuer.url, feed)).body.access_token as string;
    expect(decodeProtectedHeader(next).kid).toBe(revoked.body.replaced_by);
    // The API fetches the JWKS again for the new kid (at most once per its 5 s cooldown).
    await expect.poll(() => items(next), { timeout: 8_000, interval: 200 }).toBe(200);
    expect((await admin('GET', '/admin/keys')).body.items).toContainEqual(expect.objectContaining({ kid, status: 'revoked' }));
    expect((await admin('POST', '/admin/keys/no-such-key/revoke')).status).toBe(404);
  });

  it('the global cut-off refuses every token issued up to it; tokens issued after it work', async () => {
    const client = await machine('everyone');
    const token = await machineToken(client);
    const user = (await signIn(issuer.url, app, 'ray', PASSWORD)).body.access_token as string;
    const cut = await admin('POST', '/admin/revocations', { all: true });
    expect(cut.status).toBe(201);
    expect(cut.body).toMatchObject({ kind: 'all', value: '*' });
    await refusedWithin2s(token);
    await refusedWithin2s(user);
    expect(await introspect(token)).toEqual({ active: false });
    await machineToken(client);
    const audit = await admin('GET', '/admin/audit?type=tokens_revoked');
    expect(audit.body.items![0]).toMatchObject({ actor: `client:${ops.client_id}`, details: { cutoff: 'all' } });
  });

  it('refuses what the admin API cannot do, and changes nothing', async () => {
    for (const body of [
      {},
      { all: true, sub: '00000000-0000-4000-8000-000000000000' },
      { all: false },
      { sub: 'root' },
      { all: true, before: '2999-01-01T00:00:00Z' },
    ]) {
      const answer = await admin('POST', '/admin/revocations', body);
      expect([answer.status, answer.body.error]).toEqual([400, 'invalid_request']);
    }
    expect((await admin('POST', '/admin/revocations', { client_id: 'no-such-client' })).status).toBe(404);
    expect((await admin('POST', '/admin/revocations', { sub: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
  });
});

/**
 * Redis away while a cut-off is written: PostgreSQL keeps it, the issuer refuses to call the token
 * active meanwhile, and the refill after Redis is back carries it to every verifier.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('a cut-off written while Redis is away', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let issuer: RunningServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    const redis = new URL(database.env.REDIS_URL!);
    proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    redis.host = `127.0.0.1:${proxy.port}`;
    issuer = await startServer({ ...database.env, REDIS_URL: redis.toString(), ISSUER });
  });

  afterAll(async () => {
    await issuer?.stop();
    await proxy?.close();
    await database?.drop();
  });

  it('stands in PostgreSQL, never lets a covered token count as active, and reaches verifiers after the refill', async () => {
    const ops = await opsClient(database);
    const billing = await seedClient(database.env, [
      '--name',
      'billing',
      '--grants',
      'client_credentials',
      '--scopes',
      'items:read',
      '--audiences',
      AUDIENCE,
    ]);
    const token = (await clientToken(issuer.url, billing)).body.access_token as string;
    const opsToken = async () => (await clientToken(issuer.url, ops, 'admin introspect')).body.access_token as string;
    // A verifier following the denylist through the same proxy, stale after a second: it fails closed.
    const redisUrl = new URL(database.env.REDIS_URL!);
    redisUrl.host = `127.0.0.1:${proxy.port}`;
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${issuer.url}/.well-known/jwks.json`,
      denylist: { redis: redisUrl.toString(), prefix: database.env.REDIS_KEY_PREFIX, maxStalenessSeconds: 1 },
    });
    try {
      await expect(verifier.verify(token)).resolves.toMatchObject({ clientId: billing.client_id });
      const admin = await opsToken();

      await proxy.cut();
      // The operator's command in an incident, with Redis away as well: recorded in PostgreSQL.
      const cut = await runCli(['revoke', '--client', billing.client_id], { ...database.env, REDIS_URL: redisUrl.toString() });
      expect(cut.code, cut.stderr).toBe(0);
      expect(cut.stderr).toContain('revocations stay in PostgreSQL');
      const refusal = async () => (await verifier.verify(token).catch((error: unknown) => error)) as VerificationError;
      await expect.poll(async () => (await refusal()).code, { timeout: 5_000 }).toBe('denylist_unavailable');
      const during = await callApi(issuer.url, 'POST', '/introspect', {
        token: admin,
        body: new URLSearchParams({ token }).toString(),
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(during.status).toBe(503);

      await proxy.restore();
      await expect.poll(async () => (await refusal()).reason, { timeout: 10_000, interval: 100 }).toBe('revoked_client');
      // The issuer's own copy follows Redis again on its own (it may trail the verifier's by a moment).
      const adminAfter = await opsToken();
      const introspectAfter = () =>
        callApi(issuer.url, 'POST', '/introspect', {
          token: adminAfter,
          body: new URLSearchParams({ token }).toString(),
          contentType: 'application/x-www-form-urlencoded',
        });
      await expect.poll(async () => (await introspectAfter()).status, { timeout: 10_000, interval: 100 }).toBe(200);
      expect((await introspectAfter()).body).toEqual({ active: false });
      // Tokens issued after the cut-off work.
      await expect(verifier.verify((await clientToken(issuer.url, billing)).body.access_token as string)).resolves.toBeTruthy();
    } finally {
      await verifier.close();
    }
  });
});
