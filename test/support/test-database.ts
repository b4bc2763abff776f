import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';

/** The PostgreSQL server tests create their databases on, when there is one. */
export const adminDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;
export const testRedisUrl = process.env.TEST_REDIS_URL || undefined;

if (process.env.CI && (!adminDatabaseUrl || !testRedisUrl)) {
  // CI always has PostgreSQL and Redis: running without them would skip what matters silently.
  throw new Error('CI must set TEST_DATABASE_URL and TEST_REDIS_URL');
}

export interface TestDatabase {
  /** Environment for the server and the CLI: DATABASE_URL or DATA_DIR, and a KEY_ENCRYPTION_KEY. */
  env: Record<string, string>;
  kind: 'postgres' | 'embedded';
  /** Set for PostgreSQL: the URL of this test's own database. */
  url?: string;
  dataDir?: string;
  drop(): Promise<void>;
}

/**
 * A database of this test's own: a new PostgreSQL database when TEST_DATABASE_URL is set (unless
 * the embedded one is asked for), with Redis when TEST_REDIS_URL is set (unless `redis: false`), or
 * a new PGlite data directory.
 */
export async function createTestDatabase(options: { embedded?: boolean; redis?: boolean } = {}): Promise<TestDatabase> {
  const keyEncryptionKey = randomBytes(32).toString('base64');
  if (adminDatabaseUrl && !options.embedded) {
    const name = `token_issuer_test_${randomBytes(6).toString('hex')}`;
    const admin = postgres(adminDatabaseUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const url = new URL(adminDatabaseUrl);
    url.pathname = `/${name}`;
    // With PostgreSQL comes Redis, when there is one, under a key prefix of this test's own.
    const redis: Record<string, string> =
      testRedisUrl && options.redis !== false ? { REDIS_URL: testRedisUrl, REDIS_KEY_PREFIX: `${name}:` } : {};
    return {
      kind: 'postgres',
      url: url.toString(),
      env: { DATABASE_URL: url.toString(), KEY_ENCRYPTION_KEY: keyEncryptionKey, ...redis },
      async drop() {
        const cleanup = postgres(adminDatabaseUrl, { max: 1, onnotice: () => {} });
        await cleanup.unsafe(`drop database if exists ${name} with (force)`);
        await cleanup.end();
        if ('REDIS_URL' in redis) {
          // Every key under this test's prefix: the denylist and the failed-login counters.
          const client = new Redis(testRedisUrl!);
          const keys = await client.keys(`${name}:*`);
          if (keys.length > 0) await client.del(...keys);
          await client.quit();
        }
      },
    };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'token-issuer-test-'));
  return {
    kind: 'embedded',
    dataDir,
    env: { DATA_DIR: dataDir, KEY_ENCRYPTION_KEY: keyEncryptionKey },
    drop: () => rm(dataDir, { recursive: true, force: true }),
  };
}

/**
 * For a describe block on PostgreSQL: a migrated database of its own, opened in the test's process
 * before its tests and dropped after them. Read `database` and `handle` inside the tests.
 */
export function migratedPostgresForBlock(): { readonly database: TestDatabase; readonly handle: DatabaseHandle } {
  const state = {} as { database: TestDatabase; handle: DatabaseHandle };
  beforeAll(async () => {
    state.database = await createTestDatabase({ redis: false });
    state.handle = await openDatabase({ databaseUrl: state.database.url, dataDir: '' });
    await state.handle.migrate();
  });
  afterAll(async () => {
    await state.handle?.close();
    await state.database?.drop();
  });
  return state;
}
