import { eq } from 'drizzle-orm';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '@token-issuer/verifier';
import { auditEvents } from '../../src/db/schema.js';
import { listAllKeys } from '../../src/keys/key-store.js';
import { clientToken } from '../support/api-client.js';
import { runCli, startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, withTestData } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const AUDIENCE = 'https://billing.test';
const INTERVAL_SECONDS = 5;
/** How long the load runs: long enough for two scheduled rotations after the first key. */
const LOAD_MS = 2 * INTERVAL_SECONDS * 1000 + 3_000;

/**
 * KEY_ROTATION_INTERVAL on a short schedule, two instances sharing PostgreSQL and Redis, tokens
 * asked from both the whole time and each checked at once by a verifier that caches the JWKS: no
 * verification fails, and the instances between them make exactly one new key per interval.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('scheduled key rotation across two instances', () => {
  let database: TestDatabase;
  let instances: RunningServer[];
  let billing: ClientCredentials;

  beforeAll(async () => {
    database = await createTestDatabase();
    billing = await seedClient(database.env, ['--name', 'billing', '--grants', 'client_credentials', '--audiences', AUDIENCE]);
    const env = {
      ...database.env,
      ISSUER,
      KEY_ROTATION_INTERVAL: String(INTERVAL_SECONDS),
      KEY_ACTIVATION_DELAY: '2',
      KEYS_REFRESH_INTERVAL: '30',
    };
    instances = await Promise.all([startServer(env), startServer(env)]);
  });

  afterAll(async () => {
    await Promise.all((instances ?? []).map((instance) => instance.stop()));
    await database?.drop();
  });

  it('rotates once per interval under load, with no failed verification', async () => {
    // A downstream service: its JWKS copy lasts 1 s, shorter than the activation delay (as 60 s is
    // shorter than 90 s by default), so it holds every new key before the first token signed with it.
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${instances[1]!.url}/.well-known/jwks.json`,
      jwksCacheMaxAge: 1,
    });
    const kidsSeen = new Set<string>();
    const failures: string[] = [];
    let verified = 0;
    const deadline = Date.now() + LOAD_MS;
    // Four callers per instance, each asking and verifying in a loop.
    await Promise.all(
      instances.flatMap((instance) =>
        Array.from({ length: 4 }, async () => {
          while (Date.now() < deadline) {
            const { status, body } = await clientToken(instance.url, billing);
            if (status !== 200) {
              failures.push(`token ${status}`);
              continue;
            }
            const token = String(body.access_token);
            kidsSeen.add(String(decodeProtectedHeader(token).kid));
            await verifier.verify(token).then(
              () => verified++,
              (error: Error) => failures.push(error.message),
            );
          }
        }),
      ),
    );
    await verifier.close();
    // The next rotation time as a metric, then the instances stop so that the keys stand still.
    const metrics = await (await fetch(`${instances[0]!.url}/metrics`)).text();
    const exported = Number(/^token_issuer_signing_key_next_rotation_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
    await Promise.all(instances.map((instance) => instance.stop()));

    expect(failures).toEqual([]);
    expect(verified).toBeGreaterThan(100);
    const keys = await withTestData(database.env, ({ db }) => listAllKeys(db, 'access'));
    const oldestFirst = keys.reverse();
    // The first key, and one per interval since: at least two scheduled rotations during the load.
    expect(oldestFirst.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < oldestFirst.length; i++) {
      const [previous, key] = [oldestFirst[i - 1]!, oldestFirst[i]!];
      // Never two keys within one interval, whichever instance made them; due at most a check period late.
      const gap = key.createdAt.getTime() - previous.createdAt.getTime();
      expect(gap).toBeGreaterThanOrEqual(INTERVAL_SECONDS * 1000);
      expect(gap).toBeLessThan(INTERVAL_SECONDS * 1000 + 3_000);
      // One retirement per rotation: the previous key retired exactly when this one began signing.
      expect(previous.retiredAt).toEqual(key.activatesAt);
    }
    expect(oldestFirst.at(-1)!.retiredAt).toBeNull();
    // The tokens of the load were signed by more than one key: the switch happened under it.
    expect(kidsSeen.size).toBeGreaterThanOrEqual(2);
    const refreshKeys = await withTestData(database.env, ({ db }) => listAllKeys(db, 'refresh'));
    expect(refreshKeys).toHaveLength(oldestFirst.length);

    const audit = await withTestData(database.env, ({ db }) =>
      db.select({ actor: auditEvents.actor }).from(auditEvents).where(eq(auditEvents.type, 'signing_key_rotated')),
    );
    expect(audit.map((event) => event.actor)).toEqual(oldestFirst.slice(1).map(() => 'schedule'));

    // keys list shows when the next rotation is due.
    const listed = JSON.parse(
      (await runCli(['keys', 'list'], { ...database.env, KEY_ROTATION_INTERVAL: String(INTERVAL_SECONDS), KEY_ACTIVATION_DELAY: '2' }))
        .stdout,
    ) as {
      kid: string;
      next_rotation_at?: string;
    }[];
    const newest = oldestFirst.at(-1)!;
    expect(listed.find((key) => key.kid === newest.kid)?.next_rotation_at).toBe(
      new Date(newest.createdAt.getTime() + INTERVAL_SECONDS * 1000).toISOString(),
    );
    expect(listed.filter((key) => key.next_rotation_at)).toHaveLength(1);
    // The metric said the same of the key that was newest then.
    expect(oldestFirst.map((key) => (key.createdAt.getTime() + INTERVAL_SECONDS * 1000) / 1000)).toContain(exported);
  });
});
