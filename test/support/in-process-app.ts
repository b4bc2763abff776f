import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { accountDependenciesFrom } from '../../src/users/accounts.js';
import { openInMemoryDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { createKeyRing, type KeyRing } from '../../src/keys/key-ring.js';
import { createLogger } from '../../src/logger.js';

export interface InProcessApp {
  app: ReturnType<typeof createApp>;
  database: DatabaseHandle;
  keyRing: KeyRing;
  close(): Promise<void>;
}

/** The real app on an in-memory PGlite, for tests that need no socket (Hono's app.request). */
export async function createInProcessApp(issuer = 'http://issuer.test'): Promise<InProcessApp> {
  const database = await openInMemoryDatabase();
  const logger = createLogger('silent');
  const keyRing = await createKeyRing({
    db: database.db,
    policy: { keyEncryptionKey: randomBytes(32), modulusLength: 2048, retentionSeconds: 3600 },
    logger,
    refreshIntervalSeconds: 3600,
  });
  const config = loadConfig({ ISSUER: issuer });
  const app = createApp({
    config,
    db: database.db,
    keyRing,
    hasher: accountDependenciesFrom(config, database.db).hasher,
    logger,
    readinessChecks: [{ name: 'database', check: database.ping }],
    lifecycle: { draining: false },
  });
  return {
    app,
    database,
    keyRing,
    async close() {
      keyRing.stop();
      await database.close();
    },
  };
}
