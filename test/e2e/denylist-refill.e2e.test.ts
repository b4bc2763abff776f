import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type CreatedClient } from '../../src/clients/client-registry.js';
import { openDatabase } from '../../src/db/database.js';
import { basicAuth, post } from '../support/oauth-client.js';
import { freePort, startServer, type RunningServer } from '../support/processes.js';
import { killProcess as kill, startRedisServer as startRedis } from '../support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { adminDatabaseUrl, createTestDatabase, type TestDatabase } from '../support/test-database.js';

describe.runIf(adminDatabaseUrl)('the denylist after a Redis restart', () => {
  let database: TestDatabase;
  let postgresProxy: TcpProxy;
  let redisPort: number;
  let redis: ChildProcess;
  let server: RunningServer;
  let resourceServer: CreatedClient;

  const ISSUER = 'http://issuer.test';
  const credentials = () => ({ client_id: resourceServer.id, client_secret: resourceServer.secret! });
  const introspect = (token: string) =>
    post(`${server.url}/introspect`, { token }, { headers: { Authorization: basicAuth(credentials()) } });
  const readiness = async () => {
    const response = await fetch(`${server.url}/readyz`);
    return { status: response.status, body: (await response.json()) as { checks?: Record<string, string> } };
  };

  beforeAll(async () => {
    database = await createTestDatabase({ redis: false });
    const handle = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await handle.migrate();
    resourceServer = await createClient(handle.db, {
      name: 'orders-api',
      grantTypes: ['client_credentials'],
      scopes: ['introspect'],
      audiences: [ISSUER],
    });
    await handle.close();
    const databaseUrl = new URL(database.url!);
    postgresProxy = await startTcpProxy({ host: databaseUrl.hostname, port: Number(databaseUrl.port || 5432) });
    databaseUrl.host = `127.0.0.1:${postgresProxy.port}`;
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    server = await startServer({
      ...database.env,
      ISSUER,
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (redis) await kill(redis);
    await postgresProxy?.close();
    await database?.drop();
  });

  it('refills it once PostgreSQL is back, and until then calls no revoked token active', async () => {
    const issued = await post(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { headers: { Authorization: basicAuth(credentials()) } },
    );
    const token = issued.body.access_token as string;
    expect((await post(`${server.url}/revoke`, { token }, { headers: { Authorization: basicAuth(credentials()) } })).status).toBe(200);
    expect((await introspect(token)).body).toEqual({ active: false });

    // PostgreSQL away, then Redis restarts empty: the refill that follows cannot read what to put back.
    await postgresProxy.cut();
    await kill(redis);
    redis = await startRedis(redisPort);
    try {
      await expect.poll(async () => (await readiness()).body.checks?.redis, { timeout: 15_000 }).toBe('ok');
      expect(await readiness()).toMatchObject({ status: 503, body: { checks: { redis: 'ok', denylist: 'unavailable' } } });
      // For several seconds, not one answer calls the revoked token active.
      for (let i = 0; i < 6; i += 1) {
        const answer = await introspect(token);
        expect(answer.status).toBe(503);
        expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      await postgresProxy.restore();
    }
    // The refill keeps trying, and succeeds without a restart or another Redis reconnect.
    await expect.poll(async () => (await readiness()).status, { timeout: 40_000, interval: 500 }).toBe(200);
    expect((await introspect(token)).body).toEqual({ active: false });
  }, 90_000);
});
