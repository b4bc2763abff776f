import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type VerificationError, type Verifier, type VerifierOptions } from '@token-issuer/verifier';
import { callApi, clientToken, signIn } from '../support/api-client.js';
import { basicAuth, post } from '../support/oauth-client.js';
import { freePort, startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const API = 'https://items.test';
const PASSWORD = 'a long shared passphrase';

/**
 * Verifiers that know only the issuer's URL and their own client credentials: they follow the
 * revocation feed over HTTP, against an embedded issuer (no Redis anywhere) and against two
 * instances on PostgreSQL and Redis behind a load balancer (a TCP proxy). Each issuer is reached at
 * the proxy, which is its ISSUER, as verifiers reach one through a load balancer.
 */
async function seed(database: TestDatabase, issuer: string) {
  const env = database.env;
  const app = await seedClient(env, ['--name', 'app', '--grants', 'password', '--scopes', 'items:read', '--audiences', API]);
  const follower = await seedClient(env, [
    '--name',
    'items-api',
    '--grants',
    'client_credentials',
    '--scopes',
    'revocations:read',
    '--audiences',
    issuer,
  ]);
  const ops = await seedClient(env, ['--name', 'ops', '--grants', 'client_credentials', '--scopes', 'admin', '--audiences', issuer]);
  return { app, follower, ops };
}

function verifierOf(
  issuer: string,
  follower: ClientCredentials,
  denylist: Partial<NonNullable<VerifierOptions['denylist']>> = {},
): Verifier {
  return createVerifier({
    issuer,
    audience: API,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    denylist: { feed: { clientId: follower.client_id, clientSecret: follower.client_secret }, ...denylist },
    logger: { info: () => {}, warn: () => {} },
  });
}

const outcome = (verifier: Verifier, token: string) =>
  verifier.verify(token).then(
    () => 'accepted',
    (error: VerificationError) => error.reason,
  );

describe('the revocation feed of an embedded issuer, with no Redis anywhere', () => {
  let database: TestDatabase;
  let server: RunningServer;
  let proxy: TcpProxy;
  let issuer: string;
  let clients: Awaited<ReturnType<typeof seed>>;
  let verifier: Verifier;
  /** A follower authenticating with private_key_jwt. */
  let keyed: { client: ClientCredentials; privateKey: CryptoKey };

  beforeAll(async () => {
    database = await createTestDatabase({ embedded: true });
    const port = await freePort();
    proxy = await startTcpProxy({ host: '127.0.0.1', port });
    issuer = `http://127.0.0.1:${proxy.port}`;
    clients = await seed(database, issuer);
    await seedUser(database.env, ['--username', 'erin', '--email', 'erin@example.com'], PASSWORD);
    await seedUser(database.env, ['--username', 'finn', '--email', 'finn@example.com'], PASSWORD);
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'feed-1', alg: 'ES256', use: 'sig' };
    const client = await seedClient(database.env, [
      ...['--name', 'billing-api', '--grants', 'client_credentials', '--scopes', 'revocations:read', '--audiences', issuer],
      ...['--auth-methods', 'private_key_jwt', '--jwks', JSON.stringify({ keys: [jwk] })],
    ]);
    keyed = { client, privateKey };
    server = await startServer({ ...database.env, PORT: String(port), ISSUER: issuer });
    verifier = verifierOf(issuer, clients.follower);
  });
  afterAll(async () => {
    await verifier?.close();
    await server?.stop();
    await proxy?.close();
    await database?.drop();
  });

  const userToken = async (username: string) => (await signIn(issuer, clients.app, username, PASSWORD)).body.access_token as string;

  it('refuses a revoked token within 2 s', async () => {
    const token = await userToken('erin');
    expect(await outcome(verifier, token)).toBe('accepted');
    const revoked = await post(`${issuer}/revoke`, { token }, { headers: { Authorization: basicAuth(clients.app) } });
    expect(revoked.status).toBe(200);
    await expect.poll(() => outcome(verifier, token), { timeout: 2_000, interval: 50 }).toBe('revoked');
  });

  it('refuses a disabled user’s tokens within 2 s (a cut-off of the subject)', async () => {
    const token = await userToken('finn');
    expect(await outcome(verifier, token)).toBe('accepted');
    const admin = (await clientToken(issuer, clients.ops, 'admin')).body.access_token as string;
    const users = await callApi(issuer, 'GET', '/admin/users?username=finn', { token: admin });
    const id = (users.body.items as { id: string }[])[0]!.id;
    expect((await callApi(issuer, 'PATCH', `/admin/users/${id}`, { token: admin, json: { active: false } })).status).toBe(200);
    // Its session ended with it (the token's own id is revoked) and a cut-off of the user stands.
    await expect.poll(() => outcome(verifier, token), { timeout: 2_000, interval: 50 }).toMatch(/^revoked/);
  });

  it('is followed with private_key_jwt as well as with a secret', async () => {
    const follower = createVerifier({
      issuer,
      audience: API,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      denylist: { feed: { clientId: keyed.client.client_id, privateKey: keyed.privateKey, keyId: 'feed-1', algorithm: 'ES256' } },
      logger: { info: () => {}, warn: () => {} },
    });
    try {
      const token = await userToken('erin');
      expect(await outcome(follower, token)).toBe('accepted');
      await post(`${issuer}/revoke`, { token }, { headers: { Authorization: basicAuth(clients.app) } });
      await expect.poll(() => outcome(follower, token), { timeout: 2_000, interval: 50 }).toBe('revoked');
    } finally {
      await follower.close();
    }
  });

  it('is read only with a client’s own token holding revocations:read; hostile cursors are 400', async () => {
    const admin = (await clientToken(issuer, clients.ops, 'admin')).body.access_token as string;
    expect((await callApi(issuer, 'GET', '/revocations', { token: admin })).status).toBe(403);
    expect((await fetch(`${issuer}/revocations`)).status).toBe(401);
    const reader = (await clientToken(issuer, clients.follower, 'revocations:read')).body.access_token as string;
    const snapshot = await fetch(`${issuer}/revocations`, { headers: { Authorization: `Bearer ${reader}` } });
    expect(snapshot.status).toBe(200);
    const etag = snapshot.headers.get('etag')!;
    expect((await fetch(`${issuer}/revocations`, { headers: { Authorization: `Bearer ${reader}`, 'If-None-Match': etag } })).status).toBe(
      304,
    );
    for (const cursor of ['abc', '-1', '1e9', '9'.repeat(15), '1.5']) {
      const stream = await fetch(`${issuer}/revocations/stream`, {
        headers: { Authorization: `Bearer ${reader}`, 'Last-Event-ID': cursor },
      });
      expect(stream.status, cursor).toBe(400);
      const viaQuery = await fetch(`${issuer}/revocations/stream?cursor=${encodeURIComponent(cursor)}`, {
        headers: { Authorization: `Bearer ${reader}` },
      });
      expect(viaQuery.status, cursor).toBe(400);
    }
  });

  it('a verifier cut off from the feed goes stale and follows its policy', async () => {
    const strict = verifierOf(issuer, clients.follower, { maxStalenessSeconds: 1 });
    const lenient = verifierOf(issuer, clients.follower, { maxStalenessSeconds: 1, whenStale: 'accept' });
    try {
      const token = await userToken('erin');
      expect(await outcome(strict, token)).toBe('accepted');
      expect(await outcome(lenient, token)).toBe('accepted');
      await proxy.cut();
      await expect.poll(() => outcome(strict, token), { timeout: 5_000, interval: 100 }).toBe('denylist_stale');
      expect(await outcome(lenient, token)).toBe('accepted');
      await proxy.restore();
      await expect.poll(() => outcome(strict, token), { timeout: 5_000, interval: 100 }).toBe('accepted');
    } finally {
      await proxy.restore();
      await Promise.all([strict.close(), lenient.close()]);
    }
  });
});

describe.runIf(adminDatabaseUrl && testRedisUrl)('the revocation feed of two instances behind a load balancer', () => {
  let database: TestDatabase;
  let a: RunningServer;
  let b: RunningServer;
  let proxy: TcpProxy;
  let issuer: string;
  let clients: Awaited<ReturnType<typeof seed>>;
  let verifier: Verifier;

  beforeAll(async () => {
    database = await createTestDatabase();
    const [portA, portB] = [await freePort(), await freePort()];
    proxy = await startTcpProxy({ host: '127.0.0.1', port: portB });
    issuer = `http://127.0.0.1:${proxy.port}`;
    clients = await seed(database, issuer);
    await seedUser(database.env, ['--username', 'gus', '--email', 'gus@example.com'], PASSWORD);
    [a, b] = await Promise.all([
      startServer({ ...database.env, PORT: String(portA), ISSUER: issuer }),
      startServer({ ...database.env, PORT: String(portB), ISSUER: issuer }),
    ]);
    verifier = verifierOf(issuer, clients.follower);
  });
  afterAll(async () => {
    await verifier?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await proxy?.close();
    await database?.drop();
  });

  const userToken = async () => (await signIn(a.url, clients.app, 'gus', PASSWORD)).body.access_token as string;
  const revokeAtA = (token: string) => post(`${a.url}/revoke`, { token }, { headers: { Authorization: basicAuth(clients.app) } });

  it('a revocation at A reaches a verifier following B within 2 s', async () => {
    const token = await userToken();
    expect(await outcome(verifier, token)).toBe('accepted');
    expect((await revokeAtA(token)).status).toBe(200);
    await expect.poll(() => outcome(verifier, token), { timeout: 2_000, interval: 50 }).toBe('revoked');
  });

  it('a stream stays live past the request deadline: a revocation 6 s in arrives on it', async () => {
    const reader = (await clientToken(b.url, clients.follower, 'revocations:read')).body.access_token as string;
    const controller = new AbortController();
    const response = await fetch(`${b.url}/revocations/stream`, {
      headers: { Authorization: `Bearer ${reader}` },
      signal: controller.signal,
    });
    const token = await userToken();
    const { jti } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string };
    let received = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of response.body!) received += decoder.decode(chunk as Uint8Array, { stream: true });
    })().catch(() => {});
    try {
      // REQUEST_DEADLINE_SECONDS is 5 by default: the stream's own request is long past it.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect((await revokeAtA(token)).status).toBe(200);
      await expect.poll(() => received.includes(jti), { timeout: 2_000, interval: 50 }).toBe(true);
    } finally {
      controller.abort();
      await reading;
    }
  });

  it('B stopped mid-stream: the verifier resumes at A from its cursor and misses nothing revoked meanwhile', async () => {
    const token = await userToken();
    expect(await outcome(verifier, token)).toBe('accepted');
    proxy.retarget({ host: '127.0.0.1', port: a.port });
    const stopped = b.stop('SIGTERM');
    // Revoked while the verifier's stream at B ends and before it reconnects.
    expect((await revokeAtA(token)).status).toBe(200);
    expect(await stopped).toBe(0);
    await expect.poll(() => outcome(verifier, token), { timeout: 2_000, interval: 50 }).toBe('revoked');
    // It never went stale on the way.
    expect(await outcome(verifier, await userToken())).toBe('accepted');
  });
});
