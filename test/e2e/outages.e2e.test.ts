import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { federationChange, seedClient, seedUser, withTestData } from '../support/seed.js';
import { serviceAccountClaims, startWorkloadIssuer, type WorkloadIssuer } from '../support/workload-issuer.js';
import { addTrustedIssuer, bindWorkload } from '../../src/federation/trusted-issuers.js';
import { holdTableLock } from '../support/table-lock.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

import { getJson } from '../support/api-client.js';

describe.runIf(adminDatabaseUrl && testRedisUrl)('dependency outages (PostgreSQL and Redis behind a proxy)', () => {
  let database: TestDatabase;
  let postgresProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let server: RunningServer;
  let client: ClientCredentials;
  let web: ClientCredentials;
  let keyed: { id: string; privateKey: CryptoKey };
  let cluster: WorkloadIssuer;

  const requestToken = () =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...client }),
    });

  beforeAll(async () => {
    database = await createTestDatabase();
    client = await seedClient(database.env, ['--name', 'ops', '--grants', 'client_credentials', '--audiences', 'https://api.internal']);
    web = await seedClient(database.env, ['--name', 'web', '--grants', 'password,refresh_token', '--audiences', 'https://api.internal']);
    await seedUser(database.env, ['--username', 'olga', '--email', 'olga@example.com'], 'olga has a long passphrase');
    // Clients whose assertions are single use: one with its own key, one federated.
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const machine = ['--grants', 'client_credentials', '--audiences', 'https://api.internal'];
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
    keyed = {
      id: (await seedClient(database.env, ['--name', 'keyed', ...machine, '--auth-methods', 'private_key_jwt', '--jwks', jwks])).client_id,
      privateKey,
    };
    cluster = await startWorkloadIssuer();
    const federated = await seedClient(database.env, ['--name', 'federated', ...machine, '--auth-methods', 'federation']);
    await withTestData(database.env, async (context) => {
      const change = federationChange(context);
      await addTrustedIssuer(change, { issuer: cluster.issuer, jwksUri: `${cluster.issuer}/openid/v1/jwks`, audience: 'token-issuer' });
      await bindWorkload(change, { clientId: federated.client_id, issuer: cluster.issuer, subject: 'system:serviceaccount:ops:api' });
    });
    const databaseUrl = new URL(database.url!);
    postgresProxy = await startTcpProxy({ host: databaseUrl.hostname, port: Number(databaseUrl.port || 5432) });
    const redisUrl = new URL(testRedisUrl!);
    redisProxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
    databaseUrl.host = `127.0.0.1:${postgresProxy.port}`;
    redisUrl.host = `127.0.0.1:${redisProxy.port}`;
    server = await startServer({
      ...database.env,
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: redisUrl.toString(),
      REQUEST_DEADLINE_SECONDS: '2',
      // A refresh that committed behind the client's back then shows: its token is spent.
      REFRESH_REUSE_GRACE_SECONDS: '0',
    });
  });

  afterAll(async () => {
    await server?.stop();
    await postgresProxy?.close();
    await redisProxy?.close();
    await cluster?.close();
    await database?.drop();
  });

  it('reports ready when both answer', async () => {
    expect(await getJson(`${server.url}/readyz`)).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { database: 'ok', redis: 'ok' } },
    });
  });

  it('turns /readyz 503 while PostgreSQL is away, answers /token with 503 + Retry-After, keeps serving JWKS and liveness, and recovers without a restart', async () => {
    await postgresProxy.cut();
    try {
      const ready = await getJson(`${server.url}/readyz`);
      expect(ready).toMatchObject({ status: 503, body: { status: 'unavailable', checks: { database: 'unavailable', redis: 'ok' } } });

      const token = await requestToken();
      expect(token.status).toBe(503);
      expect(token.headers.get('retry-after')).toMatch(/^\d+$/);
      const body = await token.text();
      expect(JSON.parse(body)).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
      expect(body).not.toMatch(/ECONNREFUSED|at .*\.ts|postgres/i);

      expect((await fetch(`${server.url}/.well-known/jwks.json`)).status).toBe(200);
      expect((await getJson(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await postgresProxy.restore();
    }
    await expect.poll(async () => (await getJson(`${server.url}/readyz`)).status, { timeout: 15_000 }).toBe(200);
    expect((await requestToken()).status).toBe(200);
  });

  it('tells an outage under load in two log lines without a stack, and counts every 503 in the metrics', async () => {
    const refusalsCounted = async () =>
      Number(
        /^token_issuer_dependency_refusals_total\{dependency="database"\} (\d+)/m.exec(
          await (await fetch(`${server.url}/metrics`)).text(),
        )?.[1] ?? 0,
      );
    const linesSince = (offset: number) =>
      server
        .output()
        .slice(offset)
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string; dependency?: string; refusedRequests?: number });
    // An outage an earlier test began is over in the log first (PostgreSQL is probed each second).
    const lastOutageLine = () =>
      linesSince(0)
        .filter((line) => line.dependency === 'database' && line.level >= 30)
        .at(-1);
    await expect.poll(() => lastOutageLine()?.msg ?? 'database is back', { timeout: 5_000 }).toBe('database is back');
    const countedBefore = await refusalsCounted();
    const logFrom = server.output().length;
    await postgresProxy.cut();
    const statuses: number[] = [];
    try {
      // Ten bursts of twenty parallel sign-ins (each looks its user up first) over about three seconds.
      const signIn = async () =>
        (
          await fetch(`${server.url}/token`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'password', username: 'olga', password: 'olga has a long passphrase', ...web }),
          })
        ).status;
      for (let burst = 0; burst < 10; burst += 1) {
        statuses.push(...(await Promise.all(Array.from({ length: 20 }, signIn))));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await postgresProxy.restore();
    }
    await expect.poll(() => linesSince(logFrom).some((line) => line.msg === 'database is back'), { timeout: 15_000 }).toBe(true);

    const refused = statuses.filter((status) => status === 503).length;
    expect(refused).toBeGreaterThan(100);
    const lines = linesSince(logFrom);
    const loud = lines.filter((line) => line.level >= 40);
    expect(loud.filter((line) => line.dependency === 'database')).toHaveLength(1);
    expect(loud.length).toBeLessThanOrEqual(3);
    expect(lines.filter((line) => JSON.stringify(line).includes('"stack"'))).toEqual([]);
    expect(lines.find((line) => line.msg === 'database is back')?.refusedRequests).toBe(refused);
    expect((await refusalsCounted()) - countedBefore).toBe(refused);
  });

  it('answers at once through a longer PostgreSQL outage and right after it, never holding a request', async () => {
    // A client that gives up after 4 s, as clients do: a held request would show up as a timeout.
    const attempt = () =>
      fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', username: 'nobody-here', password: 'not a passphrase at all', ...web }),
        signal: AbortSignal.timeout(4_000),
      }).then(
        (response) => response.status,
        (error: Error) => error.name,
      );
    await postgresProxy.cut();
    const during: (number | string)[] = [];
    try {
      // Past the first seconds, when failed connection attempts have piled up.
      for (let i = 0; i < 16; i += 1) {
        during.push(await attempt());
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      await postgresProxy.restore();
    }
    const after: (number | string)[] = [];
    for (let i = 0; i < 4; i += 1) after.push(await attempt());
    expect(during).toEqual(Array(16).fill(503));
    expect(after.filter((status) => status !== 400 && status !== 429)).toEqual([]);
  });

  const form = (path: string, body: Record<string, string>, credentials: ClientCredentials) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...body, ...credentials }),
    });
  const signIn = async () =>
    (await (await form('/token', { grant_type: 'password', username: 'olga', password: 'olga has a long passphrase' }, web)).json()) as {
      access_token: string;
      refresh_token: string;
    };
  const introspect = (token: string) => form('/introspect', { token }, client);

  it('ends a request at its deadline while PostgreSQL hangs, and commits nothing it sent once the network is back', async () => {
    const tokens = [await signIn(), await signIn()];
    const refresh = (refreshToken: string, signal: AbortSignal) =>
      fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, ...web }),
        signal,
      });
    postgresProxy.stall();
    let atDeadline: Response | string;
    let abandoned: string;
    try {
      // REQUEST_DEADLINE_SECONDS is 2 here; a request held past 8 s would show up as a timeout.
      atDeadline = await refresh(tokens[0]!.refresh_token, AbortSignal.timeout(8_000)).catch((error: Error) => error.name);
      // A client that gives up first, as clients do, while its statement sits in the network.
      abandoned = await refresh(tokens[1]!.refresh_token, AbortSignal.timeout(500)).then(
        (response) => String(response.status),
        (error: Error) => error.name,
      );
      await new Promise((resolve) => setTimeout(resolve, 2_500));
    } finally {
      await postgresProxy.restore();
    }
    expect(typeof atDeadline === 'string' ? atDeadline : atDeadline.status).toBe(503);
    expect((atDeadline as Response).headers.get('retry-after')).toMatch(/^\d+$/);
    expect(abandoned).toBe('TimeoutError');
    // What the stalled connections held is delivered now: give it time to run.
    await expect.poll(async () => (await getJson(`${server.url}/readyz`)).status, { timeout: 15_000 }).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Neither refresh committed: with no reuse grace here, a spent token would now be refused.
    for (const { refresh_token } of tokens) {
      expect((await refresh(refresh_token, AbortSignal.timeout(8_000))).status).toBe(200);
    }
  });

  it('answers 503 for a refresh held up by a lock past its deadline, and the token is still unspent', async () => {
    const tokens = await signIn();
    const lock = await holdTableLock(database.url!, 'refresh_tokens', 'share');
    let atDeadline: number;
    try {
      // REQUEST_DEADLINE_SECONDS is 2 here.
      atDeadline = (await form('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, web)).status;
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await lock.release();
    }
    expect(atDeadline).toBe(503);
    // With no reuse grace here, a refresh that had committed behind the client's back would make this one a replay.
    const retried = await form('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, web);
    expect(retried.status).toBe(200);
  });

  it('never calls a revoked token active while Redis is away: introspection answers 503', async () => {
    const tokens = await signIn();
    expect((await form('/revoke', { token: tokens.access_token }, web)).status).toBe(200);
    await redisProxy.cut();
    try {
      const response = await introspect(tokens.access_token);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await response.text()).not.toContain('"active":true');
    } finally {
      await redisProxy.restore();
    }
    await expect.poll(async () => (await introspect(tokens.access_token)).status, { timeout: 15_000 }).toBe(200);
    expect(await (await introspect(tokens.access_token)).json()).toEqual({ active: false });
  });

  it('lets users sign in while Redis is away, still throttled, counting in the instance', async () => {
    await redisProxy.cut();
    try {
      const attempt = (username: string, password: string) => form('/token', { grant_type: 'password', username, password }, web);
      expect((await attempt('olga', 'olga has a long passphrase')).status).toBe(200);
      const failures = [];
      for (let i = 0; i < 6; i += 1) failures.push((await attempt('ghost', 'not a passphrase at all')).status);
      // LOGIN_MAX_FAILURES_PER_ACCOUNT is 5 by default: the sixth is throttled even without Redis.
      expect(failures).toEqual([400, 400, 400, 400, 400, 429]);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(Number(/^token_issuer_throttle_local_fallback_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(7);
    } finally {
      await redisProxy.restore();
    }
    await expect.poll(async () => (await getJson(`${server.url}/readyz`)).status, { timeout: 15_000 }).toBe(200);
  });

  it('records a revocation made while Redis is away in PostgreSQL, answers 503, and fills the denylist when Redis is back', async () => {
    const tokens = await signIn();
    await redisProxy.cut();
    try {
      const revoked = await form('/revoke', { token: tokens.refresh_token }, web);
      expect(revoked.status).toBe(503);
      expect(revoked.headers.get('retry-after')).toMatch(/^\d+$/);
      // The family is revoked in PostgreSQL already: the refresh token is dead.
      const refreshed = await form('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, web);
      expect(refreshed.status).toBe(400);
    } finally {
      await redisProxy.restore();
    }
    // Redis is back: the family's access token reaches the denylist from PostgreSQL.
    await expect
      .poll(
        async () =>
          (await introspect(tokens.access_token)).status === 200 ? await (await introspect(tokens.access_token)).json() : 'waiting',
        {
          timeout: 15_000,
        },
      )
      .toEqual({ active: false });
  });

  it('answers client assertions 503 while Redis is away rather than risk a replay, and spends none of them', async () => {
    const now = Math.floor(Date.now() / 1000);
    const ownAssertion = await new SignJWT({ jti: randomBytes(12).toString('hex') })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(keyed.id)
      .setSubject(keyed.id)
      .setAudience('http://issuer.test/token') // startServer's ISSUER
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .sign(keyed.privateKey);
    const platformToken = await cluster.mint(serviceAccountClaims('ops', 'api', 'token-issuer'));
    const present = (assertion: string) =>
      fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      });
    await redisProxy.cut();
    try {
      for (const assertion of [ownAssertion, platformToken]) {
        const response = await present(assertion);
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      }
    } finally {
      await redisProxy.restore();
    }
    await expect.poll(async () => (await getJson(`${server.url}/readyz`)).status, { timeout: 15_000 }).toBe(200);
    // Nothing was remembered while Redis was away: each works once now, and only once.
    for (const assertion of [ownAssertion, platformToken]) {
      expect((await present(assertion)).status).toBe(200);
      expect((await present(assertion)).status).toBe(401);
    }
  });

  it('turns /readyz 503 naming redis while Redis is away, and 200 again when it is back', async () => {
    await redisProxy.cut();
    try {
      await expect
        .poll(async () => (await getJson(`${server.url}/readyz`)).body, { timeout: 10_000 })
        .toEqual({ status: 'unavailable', checks: { database: 'ok', redis: 'unavailable', denylist: 'unavailable' } });
      expect((await getJson(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await redisProxy.restore();
    }
    await expect.poll(async () => (await getJson(`${server.url}/readyz`)).status, { timeout: 15_000 }).toBe(200);
  });
});
