import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '@token-issuer/verifier';
import { clientToken } from '../support/api-client.js';
import { runCli, startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const AUDIENCE = 'https://billing.test';

/**
 * Key changes reach every instance at once (drizzle/0012: the database announces them), not at the
 * next KEYS_REFRESH_INTERVAL: two server processes with the default 30 s interval, and the CLI as a
 * third process, all sharing PostgreSQL and Redis.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('key changes across instances', () => {
  let database: TestDatabase;
  let instances: RunningServer[];
  let billing: ClientCredentials;

  const kidOf = (token: string) => String(decodeProtectedHeader(token).kid);
  const tokenFrom = async (instance: RunningServer) => {
    const { status, body } = await clientToken(instance.url, billing);
    expect(status).toBe(200);
    return String(body.access_token);
  };
  const publishedKids = async (instance: RunningServer) =>
    ((await (await fetch(`${instance.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);

  beforeAll(async () => {
    database = await createTestDatabase();
    billing = await seedClient(database.env, ['--name', 'billing', '--grants', 'client_credentials', '--audiences', AUDIENCE]);
    const env = { ...database.env, ISSUER, KEYS_REFRESH_INTERVAL: '30', KEY_ACTIVATION_DELAY: '0' };
    instances = await Promise.all([startServer(env), startServer(env)]);
  });

  afterAll(async () => {
    await Promise.all((instances ?? []).map((instance) => instance.stop()));
    await database?.drop();
  });

  it('a key revoked by the CLI stops signing on every instance within 2 seconds', async () => {
    const [a, b] = instances as [RunningServer, RunningServer];
    const leaked = kidOf(await tokenFrom(a));
    expect(kidOf(await tokenFrom(b))).toBe(leaked);

    const revoked = await runCli(['keys', 'revoke', leaked], database.env);
    expect(revoked.code, revoked.stderr).toBe(0);
    for (const instance of instances) {
      await expect.poll(async () => kidOf(await tokenFrom(instance)), { timeout: 2_000, interval: 50 }).not.toBe(leaked);
    }

    // What each instance signs now is good everywhere: the revoked key's cut-off does not catch it.
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${b.url}/.well-known/jwks.json`,
      denylist: { redis: database.env.REDIS_URL!, prefix: database.env.REDIS_KEY_PREFIX },
    });
    try {
      for (const instance of instances)
        await expect(verifier.verify(await tokenFrom(instance))).resolves.toMatchObject({ clientId: billing.client_id });
    } finally {
      await verifier.close();
    }
    for (const instance of instances) expect(await publishedKids(instance)).not.toContain(leaked);
  });

  it('a key rotated by the CLI is published by every instance within 2 seconds', async () => {
    const rotated = await runCli(['keys', 'rotate'], { ...database.env, KEY_ACTIVATION_DELAY: '60' });
    expect(rotated.code, rotated.stderr).toBe(0);
    const { kid } = JSON.parse(rotated.stdout) as { kid: string };
    for (const instance of instances) {
      await expect.poll(() => publishedKids(instance), { timeout: 2_000, interval: 50 }).toContain(kid);
    }
  });
});
