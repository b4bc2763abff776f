import { Agent, get } from 'node:http';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, runCommand, startServer, type ClientCredentials, type RunningServer } from './support/processes.js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { federationChange, seedClient, seedUser, withTestData } from './support/seed.js';
import { serviceAccountClaims, startWorkloadIssuer, type WorkloadIssuer } from './support/workload-issuer.js';
import { addTrustedIssuer, bindWorkload } from '../src/federation/trusted-issuers.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from './support/test-database.js';

async function getJson(url: string) {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

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

describe.runIf(adminDatabaseUrl && testRedisUrl)('Redis behind Sentinel', () => {
  it('finds the primary through a real Sentinel and revokes through it', async () => {
    const redisUrl = new URL(testRedisUrl!);
    const dir = await mkdtemp(join(tmpdir(), 'token-issuer-sentinel-'));
    const port = await freePort();
    const name = `ti${randomBytes(4).toString('hex')}`;
    await writeFile(
      join(dir, 'sentinel.conf'),
      [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} ${redisUrl.hostname} ${redisUrl.port || 6379} 1`].join(
        '\n',
      ),
    );
    const sentinel = spawn('redis-server', [join(dir, 'sentinel.conf'), '--sentinel'], { stdio: 'ignore' });
    const database = await createTestDatabase({ redis: false });
    try {
      const env = { ...database.env, REDIS_SENTINELS: `127.0.0.1:${port}`, REDIS_SENTINEL_NAME: name, REDIS_KEY_PREFIX: `${name}:` };
      const machine = await seedClient(env, ['--name', 'ops', '--grants', 'client_credentials', '--audiences', 'https://api.internal']);
      const server = await startServer(env);
      try {
        await expect
          .poll(async () => (await getJson(`${server.url}/readyz`)).body, { timeout: 10_000 })
          .toEqual({
            status: 'ready',
            checks: { database: 'ok', redis: 'ok', denylist: 'ok' },
          });
        const form = (path: string, body: Record<string, string>) =>
          fetch(`${server.url}${path}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ ...body, ...machine }),
          });
        const { access_token: token } = (await (await form('/token', { grant_type: 'client_credentials' })).json()) as {
          access_token: string;
        };
        expect((await form('/revoke', { token })).status).toBe(200);
        expect(await (await form('/introspect', { token })).json()).toEqual({ active: false });
      } finally {
        await server.stop();
      }
    } finally {
      sentinel.kill();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
      // The keys this test's prefix left on the Redis behind the Sentinel (the denylist).
      const redis = new Redis(testRedisUrl!);
      const keys = await redis.keys(`${name}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });
});

describe.runIf(adminDatabaseUrl)('PostgreSQL without Redis', () => {
  it('carries a revocation made by the CLI to a running server through the database', async () => {
    const database = await createTestDatabase({ redis: false });
    const password = 'pete has a long passphrase';
    try {
      const web = await seedClient(database.env, [
        '--name',
        'web',
        '--grants',
        'password,refresh_token',
        '--scopes',
        'openid',
        '--audiences',
        'http://issuer.test',
      ]);
      await seedUser(database.env, ['--username', 'pete', '--email', 'pete@example.com'], password);
      const server = await startServer(database.env);
      try {
        const response = await fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'password', username: 'pete', password, scope: 'openid', ...web }),
        });
        const { access_token: accessToken } = (await response.json()) as { access_token: string };
        const userinfo = () => fetch(`${server.url}/userinfo`, { headers: { Authorization: `Bearer ${accessToken}` } });
        expect((await userinfo()).status).toBe(200);
        // The user stays active; only the denylist, read from PostgreSQL, can refuse the token now.
        const changed = await runCli(['users', 'set-password', 'pete', '--password-stdin'], database.env, `${password}\n`);
        expect(changed.code, changed.stderr).toBe(0);
        await expect.poll(async () => (await userinfo()).status, { timeout: 10_000 }).toBe(401);
      } finally {
        await server.stop();
      }
    } finally {
      await database.drop();
    }
  });
});

describe('shutdown', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('on SIGTERM turns /readyz 503 at once while /healthz still answers, then exits 0', async () => {
    const server = await startServer({ ...database.env, SHUTDOWN_DELAY_SECONDS: '3' });
    expect((await getJson(`${server.url}/readyz`)).status).toBe(200);
    server.child.kill('SIGTERM');
    await expect.poll(async () => (await getJson(`${server.url}/readyz`)).body, { timeout: 2_000 }).toEqual({ status: 'draining' });
    expect((await getJson(`${server.url}/healthz`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');
  });

  it('drains steady keep-alive clients: each connection closes after its answer, no request fails but for refusals after exit, exit 0', async () => {
    const server = await startServer({ ...database.env, SHUTDOWN_DELAY_SECONDS: '1' });
    // Its own pool of kept-alive connections, as a busy client has.
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const fetchJwks = () =>
      new Promise<number>((resolve, reject) => {
        const request = get(`${server.url}/.well-known/jwks.json`, { agent }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        });
        request.on('error', (error: NodeJS.ErrnoException) => reject(Object.assign(error, { reused: request.reusedSocket, exited })));
      });
    const outcomes: string[] = [];
    let exited = false;
    const exit = new Promise<number | null>((resolve) => server.child.once('exit', (code) => ((exited = true), resolve(code))));
    const client = async () => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        try {
          const status = await fetchJwks();
          outcomes.push(status === 200 ? 'ok' : `status ${status}`);
        } catch (error) {
          const { code = String(error), reused, exited: after } = error as { code?: string; reused: boolean; exited: boolean };
          // A new connection the kernel queued as the listener closed is reset unread: to the client it
          // is a refusal, and nothing ran. A reset on a kept-alive connection would be a request cut off.
          const refused = code === 'ECONNREFUSED' || (code === 'ECONNRESET' && !reused);
          outcomes.push(refused ? 'ECONNREFUSED' : `${code} (socket ${reused ? 'reused' : 'new'}, ${after ? 'after' : 'before'} exit)`);
          if (code === 'ECONNREFUSED' && exited) return;
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await new Promise((resolve) => setTimeout(resolve, 500));
    server.child.kill('SIGTERM');
    const code = await exit;
    await Promise.all(clients);
    agent.destroy();
    expect(code).toBe(0);
    expect(outcomes.filter((outcome) => outcome === 'ok').length).toBeGreaterThan(0);
    expect(outcomes.filter((outcome) => outcome !== 'ok' && outcome !== 'ECONNREFUSED')).toEqual([]);
  });
});

describe('bootstrap admin', () => {
  it('is created at start on an empty user table, can sign in, and is not created twice', async () => {
    const database = await createTestDatabase();
    try {
      const client = await seedClient(database.env, ['--name', 'console', '--grants', 'password', '--audiences', 'https://api.internal']);
      const bootstrap = {
        BOOTSTRAP_ADMIN_USERNAME: 'root',
        BOOTSTRAP_ADMIN_EMAIL: 'root@example.com',
        BOOTSTRAP_ADMIN_PASSWORD: 'the first admin passphrase',
      };
      let server = await startServer({ ...database.env, ...bootstrap });
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', username: 'root', password: bootstrap.BOOTSTRAP_ADMIN_PASSWORD, ...client }),
      });
      expect(response.status).toBe(200);
      const claims = JSON.parse(
        Buffer.from(((await response.json()) as { access_token: string }).access_token.split('.')[1]!, 'base64url').toString(),
      );
      expect(claims.roles).toEqual(['admin', 'user']);
      expect(server.output()).not.toContain(bootstrap.BOOTSTRAP_ADMIN_PASSWORD);
      await server.stop();

      server = await startServer({
        ...database.env,
        ...bootstrap,
        BOOTSTRAP_ADMIN_USERNAME: 'root2',
        BOOTSTRAP_ADMIN_EMAIL: 'root2@example.com',
      });
      await server.stop();
      const users = JSON.parse((await runCli(['users', 'list'], database.env)).stdout) as { username: string }[];
      expect(users.map((user) => user.username)).toEqual(['root']);
    } finally {
      await database.drop();
    }
  });

  it('refuses to start when the bootstrap password breaks the policy', async () => {
    const database = await createTestDatabase();
    try {
      const result = await runCommand(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
        ...database.env,
        PORT: '0',
        BOOTSTRAP_ADMIN_USERNAME: 'root',
        BOOTSTRAP_ADMIN_EMAIL: 'root@example.com',
        BOOTSTRAP_ADMIN_PASSWORD: 'short',
      });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe('token-issuer: the password must be at least 15 characters long (rule: min_length)');
    } finally {
      await database.drop();
    }
  });
});

describe('start-up configuration', () => {
  const start = (env: Record<string, string>) =>
    runCommand(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], env);

  it('stops with one clear line per bad variable and no stack trace', async () => {
    const result = await start({ PORT: 'eighty', ACCESS_TOKEN_TTL: '-5', LOG_LEVEL: 'chatty' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'token-issuer: invalid configuration',
      '  PORT must be a port number',
      '  ACCESS_TOKEN_TTL must be at least 1 second',
      '  LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('refuses to start in production without ISSUER, KEY_ENCRYPTION_KEY and DATABASE_URL', async () => {
    const result = await start({ NODE_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ISSUER is required when NODE_ENV=production');
    expect(result.stderr).toContain('KEY_ENCRYPTION_KEY is required when NODE_ENV=production');
    expect(result.stderr).toContain('DATABASE_URL is required when NODE_ENV=production');
    expect(result.stdout).not.toContain('listening');
  });
});
