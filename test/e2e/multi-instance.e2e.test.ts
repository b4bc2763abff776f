import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startDemoApi, startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const AUDIENCE = 'https://items.test';
const PASSWORD = 'a long shared passphrase';

/**
 * The whole system as it runs: two issuer instances and a downstream API built only on
 * token-issuer/verifier, sharing PostgreSQL and Redis, each its own process on its own port.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('two issuer instances and a downstream API', () => {
  let database: TestDatabase;
  let issuerA: RunningServer;
  let issuerB: RunningServer;
  let demo: RunningServer;
  let web: ClientCredentials;

  const signIn = async (issuer: RunningServer, username = 'kim') => {
    const response = await fetch(`${issuer.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username, password: PASSWORD, ...web }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { access_token: string; refresh_token: string };
  };
  const callDemo = (path: string, token: string) => fetch(`${demo.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    database = await createTestDatabase();
    web = await seedClient(database.env, [
      '--name',
      'web',
      '--grants',
      'password,refresh_token',
      '--scopes',
      'items:read',
      '--audiences',
      AUDIENCE,
    ]);
    await seedUser(database.env, ['--username', 'kim', '--email', 'kim@example.com'], PASSWORD);
    await seedUser(database.env, ['--username', 'root', '--email', 'root@example.com', '--roles', 'admin,user'], PASSWORD);
    const issuerEnv = { ...database.env, ISSUER, KEYS_REFRESH_INTERVAL: '1', KEY_ACTIVATION_DELAY: '4' };
    [issuerA, issuerB] = await Promise.all([startServer(issuerEnv), startServer(issuerEnv)]);
    demo = await startDemoApi({
      ISSUER,
      AUDIENCE,
      JWKS_URI: `${issuerA.url}/.well-known/jwks.json`,
      JWKS_CACHE_MAX_AGE: '1',
      REDIS_URL: database.env.REDIS_URL!,
      REDIS_KEY_PREFIX: database.env.REDIS_KEY_PREFIX!,
    });
  });

  afterAll(async () => {
    await Promise.all([issuerA?.stop(), issuerB?.stop(), demo?.stop()]);
    await database?.drop();
  });

  it('accepts a token from instance A, and one refreshed at instance B', async () => {
    const tokens = await signIn(issuerA);
    const items = await callDemo('/items', tokens.access_token);
    expect(items.status).toBe(200);
    expect(((await items.json()) as { caller: string }).caller).toBe(decodeJwtSub(tokens.access_token));
    expect((await fetch(`${demo.url}/public`)).status).toBe(200);
    expect((await callDemo('/admin', tokens.access_token)).status).toBe(403);
    expect((await callDemo('/admin', (await signIn(issuerA, 'root')).access_token)).status).toBe(200);

    const refreshed = await fetch(`${issuerB.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, ...web }),
    });
    expect(refreshed.status).toBe(200);
    const { access_token: fresh } = (await refreshed.json()) as { access_token: string };
    expect((await callDemo('/items', fresh)).status).toBe(200);
  });

  it('rejects a token revoked at instance B within 2 seconds, without asking the issuer', async () => {
    const tokens = await signIn(issuerA);
    expect((await callDemo('/items', tokens.access_token)).status).toBe(200);
    const revoked = await fetch(`${issuerB.url}/revoke`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token, ...web }),
    });
    expect(revoked.status).toBe(200);
    await expect.poll(async () => (await callDemo('/items', tokens.access_token)).status, { timeout: 2_000, interval: 50 }).toBe(401);
    // The demo API holds no client credentials and never introspects: both issuers' logs say so.
    for (const issuer of [issuerA, issuerB]) expect(issuer.output()).not.toContain('"path":"/introspect"');
  });

  it('keeps accepting tokens signed before and after a key rotation, with no failed request during it', async () => {
    const before = await signIn(issuerA);
    const oldKid = decodeProtectedHeader(before.access_token).kid;
    const statuses: number[] = [];
    const kidsAccepted = new Set<string>();
    let rotating = true;

    const traffic = (async () => {
      while (rotating) {
        const tokens = await signIn(statuses.length % 2 === 0 ? issuerA : issuerB);
        const status = (await callDemo('/items', tokens.access_token)).status;
        statuses.push(status);
        if (status === 200) kidsAccepted.add(String(decodeProtectedHeader(tokens.access_token).kid));
      }
    })();

    let newKid: string;
    try {
      // The activation delay is the rotating command's setting: 4 s here, shorter than the default 90.
      const rotated = await runCli(['keys', 'rotate'], { ...database.env, KEY_ACTIVATION_DELAY: '4' });
      expect(rotated.code, rotated.stderr).toBe(0);
      newKid = (JSON.parse(rotated.stdout) as { kid: string }).kid;
      await expect.poll(() => kidsAccepted.has(newKid), { timeout: 20_000, interval: 200 }).toBe(true);
    } finally {
      rotating = false;
      await traffic;
    }

    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(kidsAccepted).toEqual(new Set([oldKid, newKid]));
    expect((await callDemo('/items', before.access_token)).status).toBe(200);
  });

  it('keeps serving valid tokens while every issuer instance is stopped', async () => {
    const tokens = await signIn(issuerB);
    await Promise.all([issuerA.stop(), issuerB.stop()]);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // past the demo's JWKS max-age
    expect((await callDemo('/items', tokens.access_token)).status).toBe(200);
    expect((await callDemo('/items', 'garbage')).status).toBe(401);
  });
});

function decodeJwtSub(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
}
