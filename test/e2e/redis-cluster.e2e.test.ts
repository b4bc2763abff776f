import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type CreatedClient } from '../../src/clients/client-registry.js';
import { openDatabase } from '../../src/db/database.js';
import { createVerifier } from '@token-issuer/verifier';
import type { VerificationError } from '@token-issuer/verifier';
import { basicAuth, post } from '../support/oauth-client.js';
import { freePort, runCommand, startServer, type RunningServer } from '../support/processes.js';
import { killProcess, startRedisServer } from '../support/redis-server.js';
import { adminDatabaseUrl, createTestDatabase, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const API = 'https://api.internal';

/** One node of a Redis Cluster of this test's own, keeping nothing on disk but its cluster file. */
const startNode = (port: number, dir: string) =>
  startRedisServer(port, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir]);

describe.runIf(adminDatabaseUrl)('on a Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  let dir: string;
  let ports: number[];
  const nodes: ChildProcess[] = [];
  let database: TestDatabase;
  let server: RunningServer;
  let machine: CreatedClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'token-issuer-cluster-'));
    ports = [await freePort(), await freePort(), await freePort()];
    for (const port of ports) nodes.push(await startNode(port, dir));
    const created = await runCommand(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
      {},
    );
    expect(created.code, created.stderr).toBe(0);
    for (
      let tries = 0;
      !(await runCommand('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], {})).stdout.includes('cluster_state:ok');
      tries += 1
    ) {
      if (tries > 150) throw new Error('the test cluster did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    database = await createTestDatabase({ redis: false });
    const handle = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await handle.migrate();
    machine = await createClient(handle.db, {
      name: 'orders-api',
      grantTypes: ['client_credentials'],
      scopes: ['introspect'],
      audiences: [API, ISSUER],
    });
    await handle.close();
    server = await startServer({ ...database.env, ISSUER, REDIS_CLUSTER_NODES: ports.map((port) => `127.0.0.1:${port}`).join(',') });
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    await Promise.all(nodes.map(killProcess));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const credentials = () => ({ Authorization: basicAuth({ client_id: machine.id, client_secret: machine.secret! }) });
  const tokenOf = async () =>
    (await post(`${server.url}/token`, { grant_type: 'client_credentials' }, { headers: credentials() })).body.access_token as string;

  it('is ready, revokes through the cluster, and a verifier on the cluster is told within 2 s', async () => {
    await expect
      .poll(async () => (await (await fetch(`${server.url}/readyz`)).json()) as unknown, { timeout: 15_000 })
      .toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok', denylist: 'ok' } });

    const cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: API,
      jwksUri: `${server.url}/.well-known/jwks.json`,
      denylist: { redis: cluster },
    });
    try {
      const token = await tokenOf();
      await expect(verifier.verify(token)).resolves.toMatchObject({ clientId: machine.id });
      expect((await post(`${server.url}/revoke`, { token }, { headers: credentials() })).status).toBe(200);
      expect((await post(`${server.url}/introspect`, { token }, { headers: credentials() })).body).toEqual({ active: false });
      await expect
        .poll(
          () =>
            verifier.verify(token).then(
              () => 'accepted',
              (error: VerificationError) => error.code,
            ),
          { timeout: 2000, interval: 50 },
        )
        .toBe('revoked');
      // Another token stays good.
      await expect(verifier.verify(await tokenOf())).resolves.toMatchObject({ clientId: machine.id });
      // The per-IP rate limit counted the introspection in the cluster (MULTI on a single key).
      expect(Number(await cluster.get('token-issuer:rate:failures:introspect:ip:127.0.0.1'))).toBe(1);
    } finally {
      await verifier.close();
      cluster.disconnect();
    }
  });
});
